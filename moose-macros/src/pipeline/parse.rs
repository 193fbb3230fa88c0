//! Parse phase: tokens -> [`Pipeline`]. Only syntax here; meaning is checked later.

use syn::parse::{Parse, ParseStream};
use syn::{Expr, Ident, Token, Type};

use super::ast::{Decl, DeclKind, Flow, Opt, Pipeline, Step};
use crate::diagnostics::suggestion;

impl Parse for Pipeline {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut decls = Vec::new();
        let mut flows = Vec::new();
        while !input.is_empty() {
            if input.peek(Ident) && input.peek2(Token![:]) && !input.peek2(Token![::]) {
                decls.push(parse_decl(input)?);
            } else if input.peek(Ident) && input.peek2(Token![=>]) {
                flows.push(parse_flow(input)?);
            } else {
                return Err(input.error(
                    "expected a declaration `name: Stream<Model>` or a flow `source => transform(function) => destination`",
                ));
            }
            if input.is_empty() {
                break;
            }
            if !(input.peek(Token![,]) || input.peek(Token![;])) {
                return Err(input.error("expected `,` between pipeline items"));
            }
            if input.peek(Token![,]) {
                input.parse::<Token![,]>()?;
            } else {
                input.parse::<Token![;]>()?;
            }
        }
        Ok(Pipeline { decls, flows })
    }
}

fn parse_decl(input: ParseStream<'_>) -> syn::Result<Decl> {
    let name: Ident = input.parse()?;
    input.parse::<Token![:]>()?;
    let kind_ident: Ident = input.parse()?;
    let kind = match kind_ident.to_string().as_str() {
        "IngestPipeline" => DeclKind::IngestPipeline,
        "Stream" => DeclKind::Stream,
        "OlapTable" => DeclKind::OlapTable,
        other => {
            return Err(syn::Error::new(
                kind_ident.span(),
                format!(
                    "unknown pipeline item `{other}`{}; declare `IngestPipeline<Model>`, `Stream<Model>` or `OlapTable<Model>`",
                    suggestion(other, DeclKind::NAMES)
                ),
            ));
        }
    };
    if !input.peek(Token![<]) {
        return Err(syn::Error::new(
            kind_ident.span(),
            format!("`{kind_ident}` needs its model: `{kind_ident}<MyModel>`"),
        ));
    }
    input.parse::<Token![<]>()?;
    let model: Type = input.parse()?;
    input.parse::<Token![>]>()?;
    let options = if input.peek(syn::token::Brace) {
        let content;
        syn::braced!(content in input);
        parse_options(&content)?
    } else {
        Vec::new()
    };
    Ok(Decl {
        name,
        kind,
        model,
        options,
    })
}

fn parse_options(input: ParseStream<'_>) -> syn::Result<Vec<Opt>> {
    let mut options = Vec::new();
    while !input.is_empty() {
        let name: Ident = input.parse()?;
        input.parse::<Token![:]>()?;
        let value: Expr = input.parse()?;
        options.push(Opt { name, value });
        if input.is_empty() {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    Ok(options)
}

fn parse_flow(input: ParseStream<'_>) -> syn::Result<Flow> {
    let source: Ident = input.parse()?;
    let mut steps = Vec::new();
    while input.peek(Token![=>]) {
        input.parse::<Token![=>]>()?;
        let keyword: Ident = input.parse()?;
        let content;
        match keyword.to_string().as_str() {
            "transform" | "consume" => {}
            other => {
                return Err(syn::Error::new(
                    keyword.span(),
                    format!(
                        "expected `transform(function)` or `consume(function)` after `=>`, found `{other}`{}",
                        suggestion(other, ["transform", "consume"])
                    ),
                ));
            }
        }
        syn::parenthesized!(content in input);
        let function: Expr = content.parse()?;
        let options = if content.is_empty() {
            Vec::new()
        } else {
            content.parse::<Token![,]>()?;
            parse_options(&content)?
        };
        if keyword == "consume" {
            steps.push(Step::Consume {
                keyword,
                function,
                options,
            });
            continue;
        }
        if !input.peek(Token![=>]) {
            return Err(syn::Error::new(
                keyword.span(),
                "a transform needs a destination: `source => transform(function) => destination`",
            ));
        }
        input.parse::<Token![=>]>()?;
        let destination: Ident = input.parse()?;
        steps.push(Step::Transform {
            keyword,
            function,
            options,
            destination,
        });
    }
    Ok(Flow { source, steps })
}
