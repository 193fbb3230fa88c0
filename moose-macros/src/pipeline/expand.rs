//! Expand phase: checked pipeline -> builder calls on `moose::App`. Quote only.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Expr, ExprLit, Lit, LitStr};

use super::ast::DeclKind;
use super::check::{Checked, CheckedDecl, Engine, OrderBy};

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

/// Compile-time checks of table options against the model, spanned on the user's tokens.
fn table_assertions(d: &CheckedDecl<'_>) -> TokenStream {
    if !d.table {
        return TokenStream::new();
    }
    let model = &d.decl.model;
    let name = d.decl.name.to_string();
    let s = quote!(::moose::__private::schema);
    let mut out = TokenStream::new();
    if d.order_by.is_none() {
        let message = format!(
            "table `{name}` has no order_by and model `{}` has no #[key] field, so ClickHouse has nothing to sort by: mark a field #[key] or add `order_by: [field]`",
            quote!(#model).to_string().replace(' ', "")
        );
        let span = d.decl.name.span();
        out.extend(quote_spanned! {span=>
            const _: () = ::core::assert!(!<#model as #s::DataModel>::KEY_NAMES.is_empty(), #message);
        });
    }
    let mut field_checks: Vec<(&syn::Ident, &str)> = Vec::new();
    if let Some(OrderBy::Fields(fields)) = &d.order_by {
        field_checks.extend(fields.iter().map(|f| (f, "order_by")));
    }
    if let Some(Expr::Path(p)) = &d.partition_by
        && let Some(field) = p.path.get_ident()
    {
        field_checks.push((field, "partition_by"));
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
        let column = field.to_string();
        let message = format!(
            "table `{name}`: {option} names `{column}`, which model `{}` does not have as a column",
            quote!(#model).to_string().replace(' ', "")
        );
        out.extend(quote_spanned! {field.span()=>
            const _: () = ::core::assert!(::moose::__private::has_column(<#model as #s::DataModel>::COLUMN_NAMES, #column), #message);
        });
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
    if d.decl.kind == DeclKind::Stream {
        let version = option_string(d.version.as_ref());
        fields.push(quote!(version: #version));
        if let Some(dest) = &d.destination {
            let dest = dest.to_string();
            fields.push(quote!(destination: ::core::option::Option::Some(::std::string::String::from(#dest))));
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
            let names = list.iter().map(|f| f.to_string());
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
                        .map(|i| LitStr::new(&i.to_string(), i.span()))
                        .as_ref(),
                );
                quote!(#s::Engine::ReplacingMergeTree { version: #v })
            }
            Engine::Summing(columns) => {
                let names = columns.iter().map(|c| c.to_string());
                quote!(#s::Engine::SummingMergeTree { columns: ::std::vec![#(::std::string::String::from(#names)),*] })
            }
        };
        fields.push(quote!(engine: #engine));
    }
    if let Some(l) = &d.life_cycle {
        fields.push(quote!(life_cycle: #g::LifeCycle::#l));
    }
    if d.decl.kind == DeclKind::OlapTable {
        let version = option_string(d.version.as_ref());
        fields.push(quote!(version: #version));
    }
    quote!(#g::OlapConfig { #(#fields,)* ..::core::default::Default::default() })
}

fn declaration(d: &CheckedDecl<'_>) -> TokenStream {
    let g = quote!(::moose::__private::graph);
    let var = var(d);
    let model = &d.decl.model;
    let name = d.decl.name.to_string();
    let checked = format!("pipeline! checked `{name}` while compiling");
    let assertions = table_assertions(d);
    let build = match d.decl.kind {
        DeclKind::Stream => {
            let config = stream_config(d);
            quote!(__moose_app.stream::<#model>(#name, #config))
        }
        DeclKind::OlapTable => {
            let config = table_config(d);
            quote!(__moose_app.table::<#model>(#name, #config))
        }
        DeclKind::IngestPipeline => {
            let (ingest, stream, table, dlq) = (d.ingest, d.stream, d.table, d.dead_letter_queue);
            let stream_config = stream_config(d);
            let table_config = table_config(d);
            let version = option_string(d.version.as_ref());
            quote!(__moose_app.ingest_pipeline::<#model>(#name, #g::IngestPipelineConfig {
                ingest: #ingest,
                stream: #stream,
                table: #table,
                stream_config: #stream_config,
                table_config: #table_config,
                version: #version,
                dead_letter_queue: #dlq,
                ..::core::default::Default::default()
            }))
        }
    };
    let stream_handle = match (d.decl.kind, d.stream) {
        (DeclKind::Stream, _) => {
            let sv = stream_var(d);
            quote!(let #sv = #var.clone();)
        }
        (DeclKind::IngestPipeline, true) => {
            let sv = stream_var(d);
            quote!(let #sv = #var.stream.clone().expect(#checked);)
        }
        _ => TokenStream::new(),
    };
    quote! {
        #assertions
        let #var = #build.expect(#checked);
        #stream_handle
    }
}

pub fn expand(checked: &Checked<'_>) -> TokenStream {
    let g = quote!(::moose::__private::graph);
    let declarations = checked.decls.iter().map(declaration);
    let transforms = checked.transforms.iter().map(|t| {
        let from = &checked.decls[t.from];
        let to = &checked.decls[t.to];
        let (from_var, to_var) = (stream_var(from), stream_var(to));
        let (from_model, to_model) = (&from.decl.model, &to.decl.model);
        let function = t.function;
        let checked_fn = quote_spanned! {function.span()=>
            ::moose::__private::check_transform::<#from_model, #to_model, _, _>(#function)
        };
        let version = option_string(t.version.as_ref());
        let dlq = option_string(
            t.dead_letter_queue
                .map(|i| LitStr::new(&checked.decls[i].decl.name.to_string(), t.keyword.span()))
                .as_ref(),
        );
        let message = format!("pipeline! checked the transform from `{}` to `{}` while compiling", from.decl.name, to.decl.name);
        quote! {
            #from_var
                .add_transform_with(&#to_var, #checked_fn, #g::TransformConfig { version: #version, dead_letter_queue: #dlq })
                .expect(#message);
        }
    });
    let consumers = checked.consumers.iter().map(|c| {
        let stream = &checked.decls[c.stream];
        let stream_var = stream_var(stream);
        let model = &stream.decl.model;
        let function = c.function;
        let checked_fn = quote_spanned! {function.span()=>
            ::moose::__private::check_consumer::<#model, _, _>(#function)
        };
        let version = option_string(c.version.as_ref());
        let dlq = option_string(
            c.dead_letter_queue
                .map(|i| LitStr::new(&checked.decls[i].decl.name.to_string(), c.keyword.span()))
                .as_ref(),
        );
        let message = format!("pipeline! checked the consumer of `{}` while compiling", stream.decl.name);
        quote! {
            #stream_var.add_consumer_with(#checked_fn, #g::TransformConfig { version: #version, dead_letter_queue: #dlq }).expect(#message);
        }
    });
    quote! {
        {
            let __moose_app = #g::App::new();
            #(#declarations)*
            #(#transforms)*
            #(#consumers)*
            __moose_app
        }
    }
}
