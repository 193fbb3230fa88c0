//! Expand phase: checked pipeline -> builder calls on `moose::App`. Quote only.
//!
//! Over 400 lines: each builder call with the spans that put rustc's errors on the user's
//! tokens, and the `const` assertions on the models' columns that only rustc can evaluate.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, LitStr};

use super::ast::DeclKind;
use super::check::{Checked, CheckedDecl, Engine, OrderBy, Queue};
use super::names::name_of;

/// A local name of the expansion, resolved like the macro's own tokens (hygienic) but located
/// at the user's token `span`, so an error involving it points there.
fn local(name: &syn::Ident, span: Span) -> syn::Ident {
    syn::Ident::new(&name.to_string(), Span::call_site().located_at(span))
}

/// The expansion's name for a declaration's model, at the model's tokens. Every use goes
/// through it, so a model that does not resolve is reported once, where the user wrote it.
/// A type alias is an item, which macro hygiene leaves alone: it can carry the user's span
/// as is, and rustc reports a bound on it there (a macro-resolved span would widen to the
/// whole `pipeline!`).
fn model(d: &CheckedDecl<'_>) -> syn::Ident {
    syn::Ident::new(&format!("__moose_model_{}", d.name), d.decl.model.span())
}

/// `type __moose_model_x = Model;`
fn model_alias(d: &CheckedDecl<'_>) -> TokenStream {
    if d.kind.is_none() {
        return TokenStream::new();
    }
    let alias = model(d);
    let ty = &d.decl.model;
    quote! {
        #[allow(non_camel_case_types)]
        type #alias = #ty;
    }
}

/// `tokens` with every span `span`, so an error in generated code points at what the user
/// wrote, not at the whole macro.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let proc_macro2::TokenTree::Group(group) = &tree {
                let mut inner =
                    proc_macro2::Group::new(group.delimiter(), respan(group.stream(), span));
                inner.set_span(span);
                tree = proc_macro2::TokenTree::Group(inner);
            } else {
                tree.set_span(span);
            }
            tree
        })
        .collect()
}

/// A model type as text, for messages.
fn model_name(d: &CheckedDecl<'_>) -> String {
    let model = &d.decl.model;
    quote!(#model).to_string().replace(' ', "")
}

/// `::moose::__private::model_names::<Model>()`, all at `model_span`: the first place the
/// pipeline names this model. Every use of the model's names is this very expression, and the
/// pipeline evaluates it once per model before anything else, so a model that is not a data
/// model gets one error there: rustc drops the same error repeated at the same place.
fn model_names(d: &CheckedDecl<'_>, model_span: Span) -> TokenStream {
    let mut model = model(d);
    model.set_span(model_span);
    quote_spanned!(model_span=> ::moose::__private::model_names::<#model>())
}

/// `const _: () = assert!(...)` on the user's token `span`, with the message `prefix`
/// followed by the model's columns, joined while compiling. Only global paths, so it can
/// carry the user's span: an error there reads as the user's, without macro notes.
fn column_assertion(
    span: Span,
    names: &TokenStream,
    condition: TokenStream,
    prefix: String,
) -> TokenStream {
    let columns = quote_spanned!(span=> #names.columns);
    quote_spanned! {span=>
        const _: () = ::core::assert!(
            #condition,
            "{}",
            ::moose::__private::as_str(&::moose::__private::message::<{ ::moose::__private::message_len(#prefix, #columns) }>(#prefix, #columns))
        );
    }
}

fn option_string(value: Option<&LitStr>) -> TokenStream {
    match value {
        Some(v) => quote!(::core::option::Option::Some(::std::string::String::from(#v))),
        None => quote!(::core::option::Option::None),
    }
}

fn var(decl: &CheckedDecl<'_>) -> syn::Ident {
    format_ident!("__moose_{}", decl.decl.name)
}

fn stream_var(decl: &CheckedDecl<'_>) -> syn::Ident {
    format_ident!("__moose_stream_{}", decl.decl.name)
}

/// Compile-time checks of table options against the model, on the user's tokens. Left out for
/// a declaration that already has an error, which they would only repeat.
fn table_assertions(d: &CheckedDecl<'_>, model_span: Span) -> TokenStream {
    if !d.table || d.has_errors {
        return TokenStream::new();
    }
    let names = model_names(d, model_span);
    let name = &d.name;
    let model_name = model_name(d);
    let mut out = TokenStream::new();
    if d.order_by.is_none() {
        let span = d.decl.name.span();
        out.extend(column_assertion(
            span,
            &names,
            quote_spanned!(span=> !#names.keys.is_empty()),
            format!(
                "table `{name}` has nothing to sort by: model `{model_name}` has no #[key] field and `{name}` no `order_by`; mark a field #[key], or add `order_by: [column]` with columns of: "
            ),
        ));
    }
    let mut field_checks: Vec<(&syn::Ident, &str)> = Vec::new();
    if let Some(OrderBy::Fields(fields)) = &d.order_by {
        field_checks.extend(fields.iter().map(|f| (f, "`order_by`")));
    }
    if let Some(Expr::Path(p)) = &d.partition_by
        && let Some(field) = p.path.get_ident()
    {
        field_checks.push((field, "`partition_by`"));
    }
    match &d.engine {
        Some(Engine::Replacing(Some(v))) => {
            field_checks.push((v, "the ReplacingMergeTree version"))
        }
        Some(Engine::Summing(columns)) => {
            field_checks.extend(columns.iter().map(|c| (c, "SummingMergeTree")))
        }
        _ => {}
    }
    for (field, option) in field_checks {
        let column = name_of(field);
        let span = field.span();
        out.extend(column_assertion(
            span,
            &names,
            quote_spanned!(span=> ::moose::__private::has_column(#names.columns, #column)),
            format!(
                "table `{name}`: {option} names `{column}`, which is not a column of `{model_name}`; the columns are: "
            ),
        ));
    }
    out
}

fn stream_config(d: &CheckedDecl<'_>) -> TokenStream {
    let g = quote!(::moose::__private::graph);
    let mut fields = Vec::new();
    if let Some(p) = &d.parallelism {
        fields.push(quote!(parallelism: #p));
    }
    if let Some(r) = &d.retention {
        fields.push(quote!(retention_period: ::core::time::Duration::from_secs(#r)));
    }
    if let Some(l) = &d.life_cycle {
        fields.push(quote!(life_cycle: #g::LifeCycle::#l));
    }
    if d.kind == Some(DeclKind::Stream) {
        let version = option_string(d.version.as_ref());
        fields.push(quote!(version: #version));
        if let Some(dest) = &d.destination {
            let dest = name_of(dest);
            fields.push(quote!(destination: ::core::option::Option::Some(::std::string::String::from(#dest))));
        }
        if let Some(queue) = &d.default_dead_letter_queue {
            let queue = name_of(queue);
            fields.push(quote!(dead_letter_queue: ::core::option::Option::Some(::std::string::String::from(#queue))));
        }
    }
    quote!(#g::StreamConfig { #(#fields,)* ..::core::default::Default::default() })
}

fn table_config(d: &CheckedDecl<'_>) -> TokenStream {
    let g = quote!(::moose::__private::graph);
    let s = quote!(::moose::__private::schema);
    let mut fields = Vec::new();
    match &d.order_by {
        Some(OrderBy::Fields(list)) => {
            let names = list.iter().map(name_of);
            fields.push(quote!(order_by: #s::OrderBy::Fields(::std::vec![#(::std::string::String::from(#names)),*])));
        }
        Some(OrderBy::Expr(expr)) => {
            fields.push(quote!(order_by: #s::OrderBy::Expr(::std::string::String::from(#expr))))
        }
        None => {}
    }
    if let Some(p) = &d.partition_by {
        let text = match p {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => s.value(),
            other => quote!(#other).to_string(),
        };
        fields.push(
            quote!(partition_by: ::core::option::Option::Some(::std::string::String::from(#text))),
        );
    }
    if let Some(pk) = &d.primary_key {
        fields.push(
            quote!(primary_key: ::core::option::Option::Some(::std::string::String::from(#pk))),
        );
    }
    if let Some(ttl) = &d.ttl {
        fields.push(quote!(ttl: ::core::option::Option::Some(::std::string::String::from(#ttl))));
    }
    if let Some(engine) = &d.engine {
        let engine = match engine {
            Engine::MergeTree => quote!(#s::Engine::MergeTree),
            Engine::Aggregating => quote!(#s::Engine::AggregatingMergeTree),
            Engine::Replacing(v) => {
                let v = option_string(
                    v.as_ref()
                        .map(|i| LitStr::new(&name_of(i), i.span()))
                        .as_ref(),
                );
                quote!(#s::Engine::ReplacingMergeTree { version: #v })
            }
            Engine::Summing(columns) => {
                let names = columns.iter().map(name_of);
                quote!(#s::Engine::SummingMergeTree { columns: ::std::vec![#(::std::string::String::from(#names)),*] })
            }
        };
        fields.push(quote!(engine: #engine));
    }
    if let Some(l) = &d.life_cycle {
        fields.push(quote!(life_cycle: #g::LifeCycle::#l));
    }
    if d.kind == Some(DeclKind::OlapTable) {
        let version = option_string(d.version.as_ref());
        fields.push(quote!(version: #version));
    }
    quote!(#g::OlapConfig { #(#fields,)* ..::core::default::Default::default() })
}

/// The label of the block holding the builder calls: a call the builder refuses (which the
/// checks make impossible) breaks out of it with the error, and nothing panics.
fn label() -> syn::Lifetime {
    syn::Lifetime::new("'__moose_graph", Span::call_site())
}

/// `call` (a builder call returning `Result`), its `Ok` value, or out of the block with the
/// error. All at `span`, resolved in the macro.
fn attempt(call: TokenStream, span: Span) -> TokenStream {
    let span = Span::call_site().located_at(span);
    let label = label();
    quote_spanned! {span=>
        match #call {
            ::core::result::Result::Ok(__moose_value) => __moose_value,
            ::core::result::Result::Err(__moose_error) => break #label ::core::result::Result::Err(__moose_error),
        }
    }
}

/// `d`'s builder call. `model_span` is where the first declaration of the same model wrote
/// it: a model that is not a data model is then reported once, not once per declaration
/// (rustc drops a repeated error at the same place).
fn declaration(d: &CheckedDecl<'_>, model_span: Span) -> TokenStream {
    let Some(kind) = d.kind else {
        return TokenStream::new();
    };
    let g = quote!(::moose::__private::graph);
    let var = var(d);
    let mut model = model(d);
    model.set_span(model_span);
    let name = d.name.as_str();
    let assertions = table_assertions(d, model_span);
    // On the declaration's name: if `model` is not a data model, that is where it shows.
    let span = d.decl.name.span();
    let app = local(&format_ident!("__moose_app"), span);
    let build = match kind {
        DeclKind::Stream => {
            let config = stream_config(d);
            quote_spanned!(span=> ::moose::__private::graph::App::stream::<#model>(&#app, #name, #config))
        }
        DeclKind::OlapTable => {
            let config = table_config(d);
            quote_spanned!(span=> ::moose::__private::graph::App::table::<#model>(&#app, #name, #config))
        }
        DeclKind::IngestPipeline => {
            let (ingest, stream, table, dlq) = (d.ingest, d.stream, d.table, d.dead_letter_queue);
            let stream_config = stream_config(d);
            let table_config = table_config(d);
            let version = option_string(d.version.as_ref());
            let path = option_string(d.path.as_ref());
            let config = quote!(#g::IngestPipelineConfig {
                ingest: #ingest,
                stream: #stream,
                table: #table,
                stream_config: #stream_config,
                table_config: #table_config,
                version: #version,
                path: #path,
                dead_letter_queue: #dlq,
                ..::core::default::Default::default()
            });
            quote_spanned!(span=> ::moose::__private::graph::App::ingest_pipeline::<#model>(&#app, #name, #config))
        }
    };
    let declared = attempt(build, span);
    let stream_handle = match (kind, d.stream) {
        (DeclKind::Stream, _) => {
            let sv = stream_var(d);
            quote!(let #sv = #var.clone();)
        }
        (DeclKind::IngestPipeline, true) => {
            let sv = stream_var(d);
            let stream = attempt(quote!(#var.stream()), span);
            quote!(let #sv = ::core::clone::Clone::clone(#stream);)
        }
        _ => TokenStream::new(),
    };
    quote! {
        #assertions
        let #var = #declared;
        #stream_handle
    }
}

/// `TransformConfig { version, dead_letter_queue, no_dead_letter_queue }` of a flow step, at
/// `span`.
fn step_config(
    version: Option<&LitStr>,
    dead_letter_queue: Queue,
    checked: &Checked<'_>,
    span: Span,
) -> TokenStream {
    let g = quote!(::moose::__private::graph);
    let version = option_string(version);
    let named = match dead_letter_queue {
        Queue::Named(i) => Some(LitStr::new(&checked.decls[i].name, span)),
        Queue::Default | Queue::Off => None,
    };
    let dlq = option_string(named.as_ref());
    let off = dead_letter_queue == Queue::Off;
    respan(
        quote!(#g::TransformConfig {
            version: #version,
            dead_letter_queue: #dlq,
            no_dead_letter_queue: #off,
        }),
        span,
    )
}

/// `::moose::__private::graph::Stream::method(arguments, function, config)`, the builder call
/// of a flow step, all at the user's `function` (its span as is, so an error reads as the
/// user's, without macro notes; the macro's locals resolve there alike): rustc reports a bound
/// of the method that the function does not meet (its signature, what it returns) there,
/// not on the step's keyword.
fn at_function(
    function: &Expr,
    method: &str,
    arguments: TokenStream,
    config: &TokenStream,
) -> TokenStream {
    let span = function.span();
    let method = syn::Ident::new(method, span);
    let (arguments, config) = (respan(arguments, span), respan(config.clone(), span));
    quote_spanned!(span=> ::moose::__private::graph::Stream::#method(#arguments #function, #config))
}

/// The expansion: one block evaluating to the `App`. It is also emitted next to the errors
/// of a pipeline that has some, for what was checked fine: rustc then reports type mistakes
/// (a transform's signature, a table's columns) in the same compile.
///
/// The builder calls are the ones a user would write, in a labeled block: the checks refuse
/// while compiling everything the builder would refuse, and should the two ever disagree,
/// the builder's error is recorded on the `App` (see `__private::built`) instead of a panic.
pub fn expand(checked: &Checked<'_>) -> TokenStream {
    let g = quote!(::moose::__private::graph);
    let aliases = checked.decls.iter().map(model_alias);
    // Where each declaration's model is first named, and the names of each model once.
    let mut first_mention: Vec<(String, Span)> = Vec::new();
    let mut gates = TokenStream::new();
    let mut model_spans = Vec::new();
    for d in checked.decls.iter().filter(|d| d.kind.is_some()) {
        let ty = &d.decl.model;
        let text = quote!(#ty).to_string();
        let span = match first_mention.iter().find(|(t, _)| *t == text) {
            Some((_, span)) => *span,
            None => {
                first_mention.push((text, ty.span()));
                let names = model_names(d, ty.span());
                gates.extend(quote!(let _ = #names;));
                ty.span()
            }
        };
        model_spans.push(span);
    }
    let declarations = checked
        .decls
        .iter()
        .filter(|d| d.kind.is_some())
        .zip(model_spans)
        .map(|(d, span)| declaration(d, span));
    let destinations = checked.destinations.iter().map(|dest| {
        let span = dest.name.span();
        let stream = local(&stream_var(&checked.decls[dest.stream]), span);
        let table = local(&var(&checked.decls[dest.table]), span);
        quote_spanned! {span=>
            ::moose::__private::same_model(::moose::__private::models(&#stream, &#table));
        }
    });
    // A flow step is the builder call itself, at the step's keyword (resolved in the macro:
    // a mix of the user's spans and the macro's would widen an error to the whole
    // `pipeline!`), with the user's function as written: rustc checks its signature against
    // the streams' models and reports a mismatch on the function.
    // A multi-transform gets its destinations as a tuple of handles, which the user's
    // function takes back as its second argument: rustc checks the tuple's models against
    // the function's signature, and each `routed` value against its stream.
    let transforms = checked.transforms.iter().map(|t| {
        let from = &checked.decls[t.from];
        let span = Span::call_site().located_at(t.keyword.span());
        let from_var = local(&stream_var(from), span);
        let to_vars =
            t.to.iter()
                .map(|to| local(&stream_var(&checked.decls[*to]), span));
        let config = step_config(t.version.as_ref(), t.dead_letter_queue, checked, span);
        let call = match t.routes {
            None => {
                let arguments = quote!(&#from_var, #(&#to_vars,)*);
                at_function(t.function, "add_transform_with", arguments, &config)
            }
            Some(_) => {
                let arguments = quote!(&#from_var, (#(::core::clone::Clone::clone(&#to_vars),)*),);
                at_function(t.function, "add_multi_transform_with", arguments, &config)
            }
        };
        let added = attempt(call, span);
        quote_spanned!(span=> #added;)
    });
    let consumers = checked.consumers.iter().map(|c| {
        let stream = &checked.decls[c.stream];
        let span = Span::call_site().located_at(c.keyword.span());
        let stream_var = local(&stream_var(stream), span);
        let config = step_config(c.version.as_ref(), c.dead_letter_queue, checked, span);
        let call = at_function(
            c.function,
            "add_consumer_with",
            quote!(&#stream_var,),
            &config,
        );
        let added = attempt(call, span);
        quote_spanned!(span=> #added;)
    });
    let label = label();
    quote! {
        {
            #(#aliases)*
            #gates
            let __moose_app = #g::App::new();
            let __moose_built: ::core::result::Result<(), #g::GraphError> = #label: {
                #(#declarations)*
                #(#destinations)*
                #(#transforms)*
                #(#consumers)*
                ::core::result::Result::Ok(())
            };
            ::moose::__private::built(__moose_app, __moose_built)
        }
    }
}
