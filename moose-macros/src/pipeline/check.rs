//! Check phase: option values, names, the shape of the graph. Every error is collected.
//!
//! Over 400 lines: every option of every declaration kind and every flow step is read against
//! one table of declared names, in one pass; the naming rules shared with the builder are in
//! `names.rs`.

use std::collections::HashMap;

use syn::{Expr, ExprLit, Ident, Lit, LitInt, LitStr};

use super::ast::{Decl, DeclKind, Opt, Pipeline, Step};
use super::names::{check_names, check_version, name_of};
use super::parse::unknown;
use crate::diagnostics::{Errors, did_you_mean};

pub enum OrderBy {
    Fields(Vec<Ident>),
    Expr(LitStr),
}

pub enum Engine {
    MergeTree,
    Replacing(Option<Ident>),
    Summing(Vec<Ident>),
    Aggregating,
}

/// A declaration with its options read.
pub struct CheckedDecl<'a> {
    pub decl: &'a Decl,
    /// The name as the builder gets it: the identifier without `r#`.
    pub name: String,
    /// The declared kind; `None` for a misspelled one (already reported), which makes every
    /// check involving this name quiet.
    pub kind: Option<DeclKind>,
    /// Whether reading this declaration reported an error: its table checks are then left
    /// out, as they would only repeat it.
    pub has_errors: bool,
    pub ingest: bool,
    pub stream: bool,
    pub table: bool,
    pub dead_letter_queue: bool,
    /// A `Stream`'s default dead-letter queue, `dead_letter_queue: queue`.
    pub default_dead_letter_queue: Option<Ident>,
    pub parallelism: Option<LitInt>,
    pub retention: Option<Expr>,
    pub life_cycle: Option<Ident>,
    pub version: Option<LitStr>,
    /// An ingest pipeline's custom path after `/ingest/`.
    pub path: Option<LitStr>,
    pub destination: Option<Ident>,
    pub order_by: Option<OrderBy>,
    pub partition_by: Option<Expr>,
    pub primary_key: Option<LitStr>,
    pub engine: Option<Engine>,
    pub ttl: Option<LitStr>,
}

/// A flow step's `dead_letter_queue` option.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    /// Not given: the source stream's default, if it has one.
    Default,
    /// `dead_letter_queue: queue`.
    Named(usize),
    /// `dead_letter_queue: false`: none, not even the default.
    Off,
}

pub struct CheckedTransform<'a> {
    pub from: usize,
    /// One destination for `transform`, the list for `multi_transform`.
    pub to: Vec<usize>,
    /// `Some` for a `multi_transform`: its destinations as written.
    pub routes: Option<&'a [Ident]>,
    pub function: &'a Expr,
    pub keyword: &'a Ident,
    pub version: Option<LitStr>,
    pub dead_letter_queue: Queue,
}

pub struct CheckedConsumer<'a> {
    pub stream: usize,
    pub function: &'a Expr,
    pub keyword: &'a Ident,
    pub version: Option<LitStr>,
    pub dead_letter_queue: Queue,
}

/// `stream { destination: table }`, both declared with the right kinds.
pub struct CheckedDestination {
    pub stream: usize,
    pub table: usize,
    pub name: Ident,
}

pub struct Checked<'a> {
    pub decls: Vec<CheckedDecl<'a>>,
    pub destinations: Vec<CheckedDestination>,
    pub transforms: Vec<CheckedTransform<'a>>,
    pub consumers: Vec<CheckedConsumer<'a>>,
}

const LIFE_CYCLES: [&str; 3] = ["FullyManaged", "DeletionProtected", "ExternallyManaged"];
const ENGINES: [&str; 4] = [
    "MergeTree",
    "ReplacingMergeTree",
    "SummingMergeTree",
    "AggregatingMergeTree",
];

fn lit_bool(value: &Expr, name: &Ident, errors: &mut Errors) -> bool {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Bool(b), ..
        }) => b.value,
        other => {
            errors.spanned(other, format!("`{name}` is `true` or `false`"));
            false
        }
    }
}

fn lit_str(value: &Expr, name: &Ident, what: &str, errors: &mut Errors) -> Option<LitStr> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Some(s.clone()),
        other => {
            errors.spanned(other, format!("`{name}` is a string: {what}"));
            None
        }
    }
}

fn ident(value: &Expr) -> Option<Ident> {
    match value {
        Expr::Path(p) if p.qself.is_none() => p.path.get_ident().cloned(),
        _ => None,
    }
}

fn idents(value: &Expr) -> Option<Vec<Ident>> {
    match value {
        Expr::Array(array) => array.elems.iter().map(ident).collect(),
        other => ident(other).map(|i| vec![i]),
    }
}

fn read_decl<'a>(decl: &'a Decl, outer: &mut Errors) -> CheckedDecl<'a> {
    let mut out = CheckedDecl {
        decl,
        name: name_of(&decl.name),
        kind: decl.kind,
        has_errors: false,
        ingest: false,
        stream: decl.kind == Some(DeclKind::Stream),
        table: decl.kind == Some(DeclKind::OlapTable),
        dead_letter_queue: false,
        default_dead_letter_queue: None,
        parallelism: None,
        retention: None,
        life_cycle: None,
        version: None,
        path: None,
        destination: None,
        order_by: None,
        partition_by: None,
        primary_key: None,
        engine: None,
        ttl: None,
    };
    let Some(kind) = decl.kind else {
        return out;
    };
    // Errors found while reading this declaration go to `own` first, to set `has_errors`.
    let mut own = Errors::default();
    let errors = &mut own;
    let allowed = kind.options();
    let mut seen: HashMap<String, &Ident> = HashMap::new();
    for Opt { name, value } in &decl.options {
        let key = name.to_string();
        if !allowed.contains(&key.as_str()) {
            let elsewhere = DeclKind::ALL
                .into_iter()
                .filter(|k| k.options().contains(&key.as_str()))
                .map(|k| format!("`{}`", k.name()))
                .collect::<Vec<_>>();
            let message = if elsewhere.is_empty() {
                unknown(
                    &format!("`{}` option", kind.name()),
                    &key,
                    allowed.iter().copied(),
                    &format!("the options are: {}", allowed.join(", ")),
                )
            } else {
                format!(
                    "`{key}` is not a `{}` option (it is one of {}); the `{}` options are: {}",
                    kind.name(),
                    elsewhere.join(" and "),
                    kind.name(),
                    allowed.join(", ")
                )
            };
            errors.spanned(name, message);
            continue;
        }
        if seen.insert(key.clone(), name).is_some() {
            errors.spanned(
                name,
                format!("`{key}` is given twice for `{}`; keep one", decl.name),
            );
            continue;
        }
        match key.as_str() {
            "ingest" => out.ingest = lit_bool(value, name, errors),
            "stream" => out.stream = lit_bool(value, name, errors),
            "table" => out.table = lit_bool(value, name, errors),
            "dead_letter_queue" if kind == DeclKind::Stream => match ident(value) {
                Some(i) => out.default_dead_letter_queue = Some(i),
                None => errors.spanned(value, "a `Stream`'s `dead_letter_queue` is the name of a `Stream<DeadLetter>` declared in this `pipeline!`: its transforms and consumers send failed records there"),
            },
            "dead_letter_queue" => out.dead_letter_queue = lit_bool(value, name, errors),
            "parallelism" => match value {
                Expr::Lit(ExprLit { lit: Lit::Int(i), .. }) => match i.base10_parse::<u32>() {
                    Ok(0) => errors.spanned(i, "`parallelism` must be at least 1: it is the number of partitions and workers"),
                    Ok(_) => out.parallelism = Some(i.clone()),
                    Err(_) => errors.spanned(i, "`parallelism` is a whole number of partitions, 1 to 4294967295"),
                },
                other => errors.spanned(other, "`parallelism` is a whole number of partitions, like `4`"),
            },
            "retention" => match value {
                Expr::Lit(ExprLit { lit: Lit::Int(i), .. }) if i.base10_parse::<u64>().is_ok_and(|v| v > 0) => {
                    out.retention = Some(value.clone())
                }
                other => errors.spanned(other, "`retention` is a number of seconds greater than 0, like `86400` for one day"),
            },
            "life_cycle" => match ident(value) {
                Some(i) if LIFE_CYCLES.contains(&i.to_string().as_str()) => out.life_cycle = Some(i),
                Some(i) => errors.spanned(
                    &i,
                    unknown(
                        "`life_cycle`",
                        &i.to_string(),
                        LIFE_CYCLES,
                        "use FullyManaged, DeletionProtected or ExternallyManaged",
                    ),
                ),
                None => errors.spanned(value, "`life_cycle` is FullyManaged, DeletionProtected or ExternallyManaged"),
            },
            "version" => {
                if let Some(v) = lit_str(value, name, "the version, like \"1.2\"", errors) {
                    check_version(&v, errors);
                    out.version = Some(v);
                }
            }
            "path" => {
                if let Some(p) = lit_str(value, name, "the path after `/ingest/`, like \"v2/events\"", errors) {
                    match moose_names::ingest_path_problem(&p.value()) {
                        Some(reason) => errors.spanned(
                            &p,
                            format!("`{}` cannot be an ingest path: {reason}", p.value()),
                        ),
                        None => out.path = Some(p),
                    }
                }
            }
            "destination" => match ident(value) {
                Some(i) => out.destination = Some(i),
                None => errors.spanned(value, "`destination` is the name of an `OlapTable` declared in this `pipeline!`"),
            },
            "order_by" => match value {
                Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) => out.order_by = Some(OrderBy::Expr(s.clone())),
                other => match idents(other) {
                    Some(fields) if !fields.is_empty() => out.order_by = Some(OrderBy::Fields(fields)),
                    _ => errors.spanned(other, "`order_by` is a list of fields, `[a, b]`, or a SQL expression string"),
                },
            },
            "partition_by" => match value {
                Expr::Lit(ExprLit { lit: Lit::Str(_), .. }) => out.partition_by = Some(value.clone()),
                other if ident(other).is_some() => out.partition_by = Some(value.clone()),
                other => errors.spanned(other, "`partition_by` is a field name or a SQL expression string"),
            },
            "primary_key" => out.primary_key = lit_str(value, name, "a SQL expression, a prefix of order_by", errors),
            "ttl" => out.ttl = lit_str(value, name, "a SQL expression like \"ts + INTERVAL 30 DAY\"", errors),
            "engine" => out.engine = read_engine(value, errors),
            _ => unreachable!("every allowed option is handled"),
        }
    }
    if kind == DeclKind::IngestPipeline {
        if out.ingest && !out.stream {
            let span = seen
                .get("ingest")
                .map(|i| i.span())
                .unwrap_or(decl.name.span());
            errors.at(
                span,
                format!("`{}` has `ingest: true` but no stream: ingested records are written to a stream first; add `stream: true`", decl.name),
            );
        }
        if !out.table {
            for option in ["order_by", "partition_by", "primary_key", "engine", "ttl"] {
                if let Some(i) = seen.get(option) {
                    errors.spanned(*i, format!("`{option}` configures the table, but `{}` has no table; add `table: true` or remove it", decl.name));
                }
            }
        }
        if !out.stream {
            for option in ["parallelism", "retention"] {
                if let Some(i) = seen.get(option) {
                    errors.spanned(*i, format!("`{option}` configures the stream, but `{}` has no stream; add `stream: true` or remove it", decl.name));
                }
            }
        }
    }
    out.has_errors = !own.is_empty();
    outer.append(own);
    out
}

fn read_engine(value: &Expr, errors: &mut Errors) -> Option<Engine> {
    let (name, args): (Ident, Vec<Ident>) = match value {
        Expr::Call(call) => {
            let Some(name) = ident(&call.func) else {
                errors.spanned(value, "`engine` is MergeTree, ReplacingMergeTree(version_field), SummingMergeTree([fields]) or AggregatingMergeTree");
                return None;
            };
            let mut args = Vec::new();
            for arg in &call.args {
                match idents(arg) {
                    Some(mut i) => args.append(&mut i),
                    None => errors.spanned(arg, "engine arguments are field names"),
                }
            }
            (name, args)
        }
        other => match ident(other) {
            Some(name) => (name, Vec::new()),
            None => {
                errors.spanned(other, "`engine` is MergeTree, ReplacingMergeTree(version_field), SummingMergeTree([fields]) or AggregatingMergeTree");
                return None;
            }
        },
    };
    match name.to_string().as_str() {
        "MergeTree" if args.is_empty() => Some(Engine::MergeTree),
        "AggregatingMergeTree" if args.is_empty() => Some(Engine::Aggregating),
        "ReplacingMergeTree" if args.len() <= 1 => Some(Engine::Replacing(args.into_iter().next())),
        "SummingMergeTree" => Some(Engine::Summing(args)),
        "MergeTree" | "AggregatingMergeTree" | "ReplacingMergeTree" => {
            errors.spanned(
                value,
                format!(
                    "`{name}` takes {}",
                    if name == "ReplacingMergeTree" {
                        "at most one version field"
                    } else {
                        "no arguments"
                    }
                ),
            );
            None
        }
        other => {
            errors.spanned(
                &name,
                unknown(
                    "engine",
                    other,
                    ENGINES,
                    &format!("use one of: {}", ENGINES.join(", ")),
                ),
            );
            None
        }
    }
}

fn find(names: &HashMap<String, usize>, name: &Ident, errors: &mut Errors) -> Option<usize> {
    let key = name_of(name);
    match names.get(&key) {
        Some(i) => Some(*i),
        None => {
            let message = match did_you_mean(&key, names.keys().map(String::as_str)) {
                Some(near) => {
                    format!("`{key}` is not declared in this `pipeline!`; did you mean `{near}`?")
                }
                None => format!(
                    "`{key}` is not declared in this `pipeline!`; declare it first, like `{key}: Stream<Model>`"
                ),
            };
            errors.spanned(name, message);
            None
        }
    }
}

fn step_options(
    keyword: &Ident,
    options: &[Opt],
    names: &HashMap<String, usize>,
    decls: &[CheckedDecl<'_>],
    errors: &mut Errors,
) -> (Option<LitStr>, Queue) {
    let mut version = None;
    let mut dlq = Queue::Default;
    let mut seen: Vec<String> = Vec::new();
    for Opt { name, value } in options {
        let key = name.to_string();
        if seen.contains(&key) {
            errors.spanned(name, format!("`{key}` is given twice; keep one"));
            continue;
        }
        seen.push(key.clone());
        match key.as_str() {
            "version" => {
                if let Some(v) = lit_str(value, name, "the version, like \"2\"", errors) {
                    check_version(&v, errors);
                    version = Some(v);
                }
            }
            "dead_letter_queue" => match value {
                Expr::Lit(ExprLit {
                    lit: Lit::Bool(b), ..
                }) if !b.value => dlq = Queue::Off,
                _ => match ident(value) {
                    Some(i) => {
                        if let Some(index) = queue_stream(names, decls, &i, errors) {
                            dlq = Queue::Named(index);
                        }
                    }
                    None => errors.spanned(
                        value,
                        "`dead_letter_queue` is the name of a `Stream` declared in this `pipeline!`, or `false` for none (not even the source stream's default)",
                    ),
                },
            },
            other => errors.spanned(
                name,
                unknown(
                    &format!("`{keyword}` option"),
                    other,
                    ["version", "dead_letter_queue"],
                    "the options are: version, dead_letter_queue",
                ),
            ),
        }
    }
    (version, dlq)
}

/// The stream `queue` names as a dead-letter queue, if it is a declared stream.
fn queue_stream(
    names: &HashMap<String, usize>,
    decls: &[CheckedDecl<'_>],
    queue: &Ident,
    errors: &mut Errors,
) -> Option<usize> {
    let index = find(names, queue, errors)?;
    let d = &decls[index];
    if d.stream || d.kind.is_none() {
        return Some(index);
    }
    let what = match d.kind {
        Some(DeclKind::OlapTable) => "an `OlapTable`".to_owned(),
        _ => format!("an `IngestPipeline` without a stream (add `stream: true` to `{queue}`)"),
    };
    errors.spanned(
        queue,
        format!("the dead-letter queue `{queue}` is {what}; failed records are written to a stream, so name a `Stream` here"),
    );
    None
}

pub fn check<'a>(pipeline: &'a Pipeline, errors: &mut Errors) -> Checked<'a> {
    for error in &pipeline.errors {
        errors.push(error.clone());
    }
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut decls = Vec::new();
    for decl in &pipeline.decls {
        let key = name_of(&decl.name);
        if names.contains_key(&key) {
            errors.spanned(
                &decl.name,
                format!("`{key}` is declared twice; give each stream and table its own name"),
            );
            continue;
        }
        names.insert(key, decls.len());
        decls.push(read_decl(decl, errors));
    }
    check_names(&decls, &names, errors);
    check_ingest_paths(&decls, errors);
    for d in &decls {
        if let Some(queue) = &d.default_dead_letter_queue {
            queue_stream(&names, &decls, queue, errors);
        }
    }
    let mut destinations = Vec::new();
    for (index, d) in decls.iter().enumerate() {
        let Some(dest) = &d.destination else {
            continue;
        };
        let Some(table) = find(&names, dest, errors) else {
            continue;
        };
        match decls[table].kind {
            Some(DeclKind::OlapTable) => destinations.push(CheckedDestination {
                stream: index,
                table,
                name: dest.clone(),
            }),
            Some(other) => errors.spanned(
                dest,
                format!(
                    "`destination` is the table this stream fills, but `{dest}` is {} `{}`; declare the table as `{dest}: OlapTable<Model>`",
                    if other == DeclKind::IngestPipeline { "an" } else { "a" },
                    other.name(),
                ),
            ),
            None => {}
        }
    }

    let mut transforms: Vec<CheckedTransform<'a>> = Vec::new();
    let mut consumers = Vec::new();
    for flow in &pipeline.flows {
        let mut current = find(&names, &flow.source, errors);
        let mut current_ident = &flow.source;
        for step in &flow.steps {
            match step {
                Step::Transform {
                    keyword,
                    function,
                    options,
                    destination,
                } => {
                    let (version, dead_letter_queue) =
                        step_options(keyword, options, &names, &decls, errors);
                    let to = find(&names, destination, errors);
                    if let (Some(from), Some(to)) = (current, to) {
                        let ok_from =
                            require_stream(&decls[from], current_ident, Role::Source, errors);
                        let ok_to =
                            require_stream(&decls[to], destination, Role::Destination, errors);
                        if ok_from && ok_to {
                            let duplicate = transforms.iter().any(|t| {
                                t.from == from
                                    && t.to == [to]
                                    && t.version.as_ref().map(LitStr::value)
                                        == version.as_ref().map(LitStr::value)
                            });
                            if duplicate {
                                let message = match &version {
                                    None => format!(
                                        "there is already a transform from `{current_ident}` to `{destination}`; give this one a version to tell them apart: `transform(function, version: \"2\")`"
                                    ),
                                    Some(v) => format!(
                                        "there is already a transform from `{current_ident}` to `{destination}` with version {:?}; give this one another version",
                                        v.value()
                                    ),
                                };
                                errors.spanned(keyword, message);
                            } else {
                                transforms.push(CheckedTransform {
                                    from,
                                    to: vec![to],
                                    routes: None,
                                    function,
                                    keyword,
                                    version,
                                    dead_letter_queue,
                                });
                            }
                        }
                    }
                    current = to;
                    current_ident = destination;
                }
                Step::MultiTransform {
                    keyword,
                    function,
                    options,
                    destinations,
                } => {
                    let (version, dead_letter_queue) =
                        step_options(keyword, options, &names, &decls, errors);
                    let mut to = Vec::new();
                    let mut complete = true;
                    for (position, destination) in destinations.iter().enumerate() {
                        let key = name_of(destination);
                        if destinations[..position].iter().any(|d| name_of(d) == key) {
                            errors.spanned(
                                destination,
                                format!("`{key}` is listed twice; list each destination once"),
                            );
                            complete = false;
                            continue;
                        }
                        match find(&names, destination, errors) {
                            Some(index)
                                if require_stream(
                                    &decls[index],
                                    destination,
                                    Role::Destination,
                                    errors,
                                ) =>
                            {
                                to.push(index)
                            }
                            _ => complete = false,
                        }
                    }
                    if let Some(from) = current
                        && require_stream(&decls[from], current_ident, Role::Source, errors)
                        && complete
                    {
                        let duplicate = transforms.iter().any(|t| {
                            t.from == from
                                && t.to == to
                                && t.version.as_ref().map(LitStr::value)
                                    == version.as_ref().map(LitStr::value)
                        });
                        if duplicate {
                            errors.spanned(keyword, format!(
                                "there is already a multi-transform from `{current_ident}` to these streams{}; give this one another version: `multi_transform(function, version: \"2\")`",
                                match &version { Some(v) => format!(" with version {:?}", v.value()), None => String::new() }
                            ));
                        } else {
                            transforms.push(CheckedTransform {
                                from,
                                to,
                                routes: Some(destinations),
                                function,
                                keyword,
                                version,
                                dead_letter_queue,
                            });
                        }
                    }
                    // A multi-transform ends its flow (the parser refuses more steps).
                    current = None;
                }
                Step::Consume {
                    keyword,
                    function,
                    options,
                } => {
                    let (version, dead_letter_queue) =
                        step_options(keyword, options, &names, &decls, errors);
                    if let Some(stream) = current
                        && require_stream(&decls[stream], current_ident, Role::Consumed, errors)
                    {
                        consumers.push(CheckedConsumer {
                            stream,
                            function,
                            keyword,
                            version,
                            dead_letter_queue,
                        });
                    }
                }
                Step::Unknown { destination } => match destination {
                    // Already reported; its destination is still a name to check.
                    Some(d) => {
                        current = find(&names, d, errors);
                        current_ident = d;
                    }
                    None => current = None,
                },
            }
        }
    }
    check_cycles(&decls, &transforms, errors);
    Checked {
        decls,
        destinations,
        transforms,
        consumers,
    }
}

#[derive(Clone, Copy)]
enum Role {
    Source,
    Destination,
    Consumed,
}

/// Whether `decl` has a stream for a flow to use; reports it if not. Quiet for a misspelled
/// kind, and such a step is left out.
fn require_stream(
    decl: &CheckedDecl<'_>,
    used_as: &Ident,
    role: Role,
    errors: &mut Errors,
) -> bool {
    if decl.stream {
        return true;
    }
    let what = match role {
        Role::Source => "a transform cannot read from it",
        Role::Destination => "a transform cannot write to it",
        Role::Consumed => "it cannot be consumed",
    };
    let message = match decl.kind {
        None => return false,
        Some(DeclKind::OlapTable) => match role {
            Role::Destination => format!(
                "`{used_as}` is an `OlapTable`, and {what}: transforms write to streams, and a stream fills a table; write to a `Stream` declared with `destination: {used_as}`"
            ),
            _ => format!(
                "`{used_as}` is an `OlapTable`, and {what}: flows read streams, not tables; read the stream that fills `{used_as}`"
            ),
        },
        Some(_) => {
            format!("`{used_as}` has no stream, so {what}; add `stream: true` to `{used_as}`")
        }
    };
    errors.spanned(used_as, message);
    false
}

/// A cycle of transforms would feed records back forever: refused, with the path.
fn check_cycles(
    decls: &[CheckedDecl<'_>],
    transforms: &[CheckedTransform<'_>],
    errors: &mut Errors,
) {
    for (index, t) in transforms.iter().enumerate() {
        // Does a destination of `t` reach `t.from` through transforms declared up to this one?
        let mut stack: Vec<Vec<usize>> = t.to.iter().map(|to| vec![*to]).collect();
        let mut seen = vec![false; decls.len()];
        while let Some(path) = stack.pop() {
            let last = *path.last().expect("non-empty");
            if last == t.from {
                let names: Vec<String> = std::iter::once(t.from)
                    .chain(path.iter().copied())
                    .map(|i| decls[i].name.clone())
                    .collect();
                errors.at(
                    t.keyword.span(),
                    format!(
                        "this transform closes a cycle ({}); records would loop forever, so pipelines must be acyclic",
                        names.join(" => ")
                    ),
                );
                return;
            }
            if std::mem::replace(&mut seen[last], true) {
                continue;
            }
            for next in transforms[..=index].iter().filter(|n| n.from == last) {
                for to in &next.to {
                    let mut p = path.clone();
                    p.push(*to);
                    stack.push(p);
                }
            }
        }
    }
}

/// Every ingest API has a path of its own (`path`, else `<name>[/<version>]`), and `path`
/// only on a pipeline that serves one: the builder refuses the first at run time, and the
/// second would be silently unused.
fn check_ingest_paths(decls: &[CheckedDecl<'_>], errors: &mut Errors) {
    let mut taken: HashMap<String, &str> = HashMap::new();
    for d in decls {
        if d.kind != Some(DeclKind::IngestPipeline) {
            continue;
        }
        if !d.ingest {
            if let Some(path) = &d.path {
                errors.spanned(
                    path,
                    format!("`path` sets where the ingest API of `{}` is served, but it has `ingest: false`; set `ingest: true` or drop `path`", d.name),
                );
            }
            continue;
        }
        let path = match (&d.path, &d.version) {
            (Some(path), _) => path.value(),
            (None, Some(version)) => format!("{}/{}", d.name, version.value()),
            (None, None) => d.name.clone(),
        };
        if let Some(first) = taken.get(&path) {
            let span: &dyn quote::ToTokens = match &d.path {
                Some(p) => p,
                None => &d.decl.name,
            };
            errors.spanned(
                span,
                format!("`{first}` and `{}` would both be served at `/ingest/{path}`; give one of them another `path` or version", d.name),
            );
        } else {
            taken.insert(path, &d.name);
        }
    }
}
