//! Check phase: option values, names, the shape of the graph. Every error is collected.

use std::collections::HashMap;

use proc_macro2::Span;
use syn::{Expr, ExprLit, Ident, Lit, LitInt, LitStr};

use super::ast::{Decl, DeclKind, Opt, Pipeline, Step};
use crate::diagnostics::{Errors, suggestion};

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
    pub ingest: bool,
    pub stream: bool,
    pub table: bool,
    pub dead_letter_queue: bool,
    pub parallelism: Option<LitInt>,
    pub retention: Option<Expr>,
    pub life_cycle: Option<Ident>,
    pub version: Option<LitStr>,
    pub destination: Option<Ident>,
    pub order_by: Option<OrderBy>,
    pub partition_by: Option<Expr>,
    pub primary_key: Option<LitStr>,
    pub engine: Option<Engine>,
    pub ttl: Option<LitStr>,
}

pub struct CheckedTransform<'a> {
    pub from: usize,
    pub to: usize,
    pub function: &'a Expr,
    pub keyword: &'a Ident,
    pub version: Option<LitStr>,
    pub dead_letter_queue: Option<usize>,
}

pub struct CheckedConsumer<'a> {
    pub stream: usize,
    pub function: &'a Expr,
    pub keyword: &'a Ident,
    pub version: Option<LitStr>,
    pub dead_letter_queue: Option<usize>,
}

pub struct Checked<'a> {
    pub decls: Vec<CheckedDecl<'a>>,
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

fn check_version(version: &LitStr, errors: &mut Errors) {
    let v = version.value();
    if v.is_empty()
        || !v
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
    {
        errors.spanned(
            version,
            "a version is made of ASCII letters, digits, `.` and `_`, like \"1.2\"",
        );
    }
}

fn read_decl<'a>(decl: &'a Decl, errors: &mut Errors) -> CheckedDecl<'a> {
    let mut out = CheckedDecl {
        decl,
        ingest: false,
        stream: decl.kind == DeclKind::Stream,
        table: decl.kind == DeclKind::OlapTable,
        dead_letter_queue: false,
        parallelism: None,
        retention: None,
        life_cycle: None,
        version: None,
        destination: None,
        order_by: None,
        partition_by: None,
        primary_key: None,
        engine: None,
        ttl: None,
    };
    let allowed = decl.kind.options();
    let mut seen: HashMap<String, &Ident> = HashMap::new();
    for Opt { name, value } in &decl.options {
        let key = name.to_string();
        if !allowed.contains(&key.as_str()) {
            let elsewhere = DeclKind::NAMES
                .iter()
                .zip([
                    DeclKind::IngestPipeline,
                    DeclKind::Stream,
                    DeclKind::OlapTable,
                ])
                .filter(|(_, k)| k.options().contains(&key.as_str()))
                .map(|(n, _)| format!("`{n}`"))
                .collect::<Vec<_>>();
            let hint = if elsewhere.is_empty() {
                String::new()
            } else {
                format!(" (it is an option of {})", elsewhere.join(" and "))
            };
            errors.spanned(
                name,
                format!(
                    "unknown {:?} option `{key}`{}{hint}; the options are: {}",
                    decl.kind,
                    suggestion(&key, allowed.iter().copied()),
                    allowed.join(", ")
                ),
            );
            continue;
        }
        if let Some(first) = seen.insert(key.clone(), name) {
            let _ = first;
            errors.spanned(
                name,
                format!(
                    "option `{key}` is given twice for `{}`; keep one",
                    decl.name
                ),
            );
            continue;
        }
        match key.as_str() {
            "ingest" => out.ingest = lit_bool(value, name, errors),
            "stream" => out.stream = lit_bool(value, name, errors),
            "table" => out.table = lit_bool(value, name, errors),
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
                    format!(
                        "unknown life_cycle `{i}`{}; use FullyManaged, DeletionProtected or ExternallyManaged",
                        suggestion(&i.to_string(), LIFE_CYCLES)
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
            "destination" => match ident(value) {
                Some(i) => out.destination = Some(i),
                None => errors.spanned(value, "`destination` names a table declared in this pipeline!"),
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
    if decl.kind == DeclKind::IngestPipeline {
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
                format!(
                    "unknown engine `{other}`{}; use one of: {}",
                    suggestion(other, ENGINES),
                    ENGINES.join(", ")
                ),
            );
            None
        }
    }
}

fn find(names: &HashMap<String, usize>, name: &Ident, errors: &mut Errors) -> Option<usize> {
    let key = name.to_string();
    match names.get(&key) {
        Some(i) => Some(*i),
        None => {
            errors.spanned(
                name,
                format!(
                    "`{key}` is not declared in this pipeline!{}",
                    suggestion(&key, names.keys().map(String::as_str))
                ),
            );
            None
        }
    }
}

fn step_options(
    options: &[Opt],
    names: &HashMap<String, usize>,
    decls: &[CheckedDecl<'_>],
    errors: &mut Errors,
) -> (Option<LitStr>, Option<usize>) {
    let mut version = None;
    let mut dlq = None;
    let mut seen: Vec<String> = Vec::new();
    for Opt { name, value } in options {
        let key = name.to_string();
        if seen.contains(&key) {
            errors.spanned(name, format!("option `{key}` is given twice; keep one"));
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
            "dead_letter_queue" => match ident(value) {
                Some(i) => {
                    if let Some(index) = find(names, &i, errors) {
                        if decls[index].stream {
                            dlq = Some(index);
                        } else {
                            errors.spanned(&i, format!("dead-letter queue `{i}` has no stream; declare it as `Stream<DeadLetter>`"));
                        }
                    }
                }
                None => errors.spanned(value, "`dead_letter_queue` names a stream declared in this pipeline!"),
            },
            other => errors.spanned(
                name,
                format!(
                    "unknown transform option `{other}`{}; the options are: version, dead_letter_queue",
                    suggestion(other, ["version", "dead_letter_queue"])
                ),
            ),
        }
    }
    (version, dlq)
}

pub fn check<'a>(pipeline: &'a Pipeline, errors: &mut Errors) -> Checked<'a> {
    let mut names: HashMap<String, usize> = HashMap::new();
    let mut decls = Vec::new();
    for decl in &pipeline.decls {
        let key = decl.name.to_string();
        if names.contains_key(&key) {
            errors.spanned(
                &decl.name,
                format!("`{key}` is declared twice; streams and tables need distinct names (or distinct versions in separate pipelines)"),
            );
            continue;
        }
        names.insert(key, decls.len());
        decls.push(read_decl(decl, errors));
    }
    for d in &decls {
        if let Some(dest) = &d.destination
            && let Some(i) = find(&names, dest, errors)
            && decls[i].decl.kind != DeclKind::OlapTable
        {
            errors.spanned(
                dest,
                format!(
                    "`destination` must name an `OlapTable`; `{dest}` is {:?}",
                    decls[i].decl.kind
                ),
            );
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
                        step_options(options, &names, &decls, errors);
                    let to = find(&names, destination, errors);
                    if let (Some(from), Some(to)) = (current, to) {
                        let ok_from =
                            require_stream(&decls[from], current_ident, "read from", errors);
                        let ok_to = require_stream(&decls[to], destination, "written to", errors);
                        if ok_from && ok_to {
                            let duplicate = transforms.iter().any(|t| {
                                t.from == from
                                    && t.to == to
                                    && t.version.as_ref().map(LitStr::value)
                                        == version.as_ref().map(LitStr::value)
                            });
                            if duplicate {
                                errors.spanned(
                                    keyword,
                                    format!(
                                        "there is already a transform from `{current_ident}` to `{destination}`{}; give this one a distinct version: `transform(f, version: \"2\")`",
                                        version.as_ref().map(|v| format!(" with version {:?}", v.value())).unwrap_or_default()
                                    ),
                                );
                            } else {
                                transforms.push(CheckedTransform {
                                    from,
                                    to,
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
                Step::Consume {
                    keyword,
                    function,
                    options,
                } => {
                    let (version, dead_letter_queue) =
                        step_options(options, &names, &decls, errors);
                    if let Some(stream) = current
                        && require_stream(&decls[stream], current_ident, "consumed", errors)
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
            }
        }
        if flow.steps.is_empty() {
            errors.spanned(
                &flow.source,
                "a flow needs at least one step: `source => transform(function) => destination`",
            );
        }
    }
    check_cycles(&decls, &transforms, errors);
    Checked {
        decls,
        transforms,
        consumers,
    }
}

fn require_stream(
    decl: &CheckedDecl<'_>,
    used_as: &Ident,
    what: &str,
    errors: &mut Errors,
) -> bool {
    if decl.stream {
        return true;
    }
    let fix = match decl.decl.kind {
        DeclKind::OlapTable => "tables are filled from streams; connect the transform to a stream whose destination is this table".to_owned(),
        _ => format!("add `stream: true` to `{}`", decl.decl.name),
    };
    errors.spanned(
        used_as,
        format!("`{used_as}` has no stream to be {what}; {fix}"),
    );
    false
}

/// A cycle of transforms would feed records back forever: refused, with the path.
fn check_cycles(
    decls: &[CheckedDecl<'_>],
    transforms: &[CheckedTransform<'_>],
    errors: &mut Errors,
) {
    for (index, t) in transforms.iter().enumerate() {
        // Does `t.to` reach `t.from` through transforms declared up to this one?
        let mut stack = vec![vec![t.to]];
        let mut seen = vec![false; decls.len()];
        while let Some(path) = stack.pop() {
            let last = *path.last().expect("non-empty");
            if last == t.from {
                let names: Vec<String> = std::iter::once(t.from)
                    .chain(path.iter().copied())
                    .map(|i| decls[i].decl.name.to_string())
                    .collect();
                errors.at(
                    span_of(t.keyword),
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
                let mut p = path.clone();
                p.push(next.to);
                stack.push(p);
            }
        }
    }
}

fn span_of(ident: &Ident) -> Span {
    ident.span()
}
