//! Parse phase: tokens -> [`Pipeline`]. Only syntax here; meaning is checked later.
//!
//! A misspelled item kind or flow step is a well-formed token in the wrong place: it is
//! recorded in [`Pipeline::errors`] and parsing goes on, so the checks still report every
//! other mistake in the same compile. Anything else malformed stops at the first error.

use syn::parse::{Parse, ParseStream};
use syn::{Expr, Ident, Token, Type};

use super::ast::{Decl, DeclKind, Flow, Opt, Pipeline, Step};
use crate::diagnostics::did_you_mean;

/// "unknown {what} `{word}`; did you mean `x`?", or "...; {otherwise}" without a near miss.
pub fn unknown<'a>(
    what: &str,
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    otherwise: &str,
) -> String {
    match did_you_mean(word, candidates) {
        Some(near) => format!("unknown {what} `{word}`; did you mean `{near}`?"),
        None => format!("unknown {what} `{word}`; {otherwise}"),
    }
}

impl Parse for Pipeline {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut pipeline = Pipeline {
            decls: Vec::new(),
            flows: Vec::new(),
            errors: Vec::new(),
        };
        while !input.is_empty() {
            if input.peek(Ident) && input.peek2(Token![:]) && !input.peek2(Token![::]) {
                let decl = parse_decl(input, &mut pipeline.errors)?;
                pipeline.decls.push(decl);
            } else if input.peek(Ident) && input.peek2(Token![=>]) {
                let flow = parse_flow(input, &mut pipeline.errors)?;
                pipeline.flows.push(flow);
            } else {
                return Err(input.error(
                    "expected a declaration `name: Stream<Model>` or a flow `source => transform(function) => destination`",
                ));
            }
            if input.is_empty() {
                break;
            }
            if input.peek(Token![;]) {
                input.parse::<Token![;]>()?;
            } else if input.peek(Token![,]) {
                input.parse::<Token![,]>()?;
            } else {
                return Err(input.error("expected `,` between pipeline items"));
            }
        }
        Ok(pipeline)
    }
}

fn parse_decl(input: ParseStream<'_>, errors: &mut Vec<syn::Error>) -> syn::Result<Decl> {
    let name: Ident = input.parse()?;
    input.parse::<Token![:]>()?;
    let kind_ident: Ident = input.parse()?;
    let kind = DeclKind::ALL.into_iter().find(|k| kind_ident == k.name());
    if kind.is_none() {
        errors.push(syn::Error::new(
            kind_ident.span(),
            unknown(
                "pipeline item",
                &kind_ident.to_string(),
                DeclKind::NAMES,
                "declare `IngestPipeline<Model>`, `Stream<Model>` or `OlapTable<Model>`",
            ),
        ));
    }
    if !input.peek(Token![<]) {
        return Err(syn::Error::new(
            kind_ident.span(),
            format!("`{kind_ident}` needs its model: `{name}: {kind_ident}<MyModel>`"),
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

/// `(function, options)` after `transform` or `consume`.
fn parse_call(input: ParseStream<'_>) -> syn::Result<(Expr, Vec<Opt>)> {
    let content;
    syn::parenthesized!(content in input);
    let function: Expr = content.parse()?;
    let options = if content.is_empty() {
        Vec::new()
    } else {
        content.parse::<Token![,]>()?;
        parse_options(&content)?
    };
    Ok((function, options))
}

/// Whether the input continues `=> name` with `name` not itself a step `name(...)`.
fn peek_destination(input: ParseStream<'_>) -> bool {
    let fork = input.fork();
    fork.parse::<Token![=>]>().is_ok()
        && fork.parse::<Ident>().is_ok()
        && !fork.peek(syn::token::Paren)
}

fn parse_flow(input: ParseStream<'_>, errors: &mut Vec<syn::Error>) -> syn::Result<Flow> {
    let source: Ident = input.parse()?;
    let mut steps = Vec::new();
    let mut previous = source.clone();
    while input.peek(Token![=>]) {
        input.parse::<Token![=>]>()?;
        let keyword: Ident = input.parse()?;
        let word = keyword.to_string();
        if word != "transform" && word != "consume" && word != "multi_transform" {
            if !input.peek(syn::token::Paren) {
                // `a => b`: two names with no step between them.
                errors.push(syn::Error::new(
                    keyword.span(),
                    format!(
                        "`{previous} => {keyword}` needs a step between the two: `{previous} => transform(function) => {keyword}`"
                    ),
                ));
                previous = keyword.clone();
                steps.push(Step::Unknown {
                    destination: Some(keyword),
                });
                continue;
            }
            errors.push(syn::Error::new(
                keyword.span(),
                unknown(
                    "flow step",
                    &word,
                    ["transform", "consume", "multi_transform"],
                    "after `=>` comes `transform(function) => destination`, `multi_transform(function) => [a, b]` or `consume(function)`",
                ),
            ));
            parse_call(input)?;
            let destination = if peek_destination(input) {
                input.parse::<Token![=>]>()?;
                let destination: Ident = input.parse()?;
                previous = destination.clone();
                Some(destination)
            } else {
                None
            };
            steps.push(Step::Unknown { destination });
            continue;
        }
        let (function, options) = parse_call(input)?;
        if word == "consume" {
            steps.push(Step::Consume {
                keyword,
                function,
                options,
            });
            continue;
        }
        if word == "multi_transform" {
            let destinations = parse_destinations(input, &keyword, &previous)?;
            if input.peek(Token![=>]) {
                let arrow = input.parse::<Token![=>]>()?;
                return Err(syn::Error::new(
                    arrow.spans[0],
                    format!(
                        "a multi-transform ends its flow; continue in a new flow from one of its destinations, like `{} => transform(function) => next`",
                        destinations[0]
                    ),
                ));
            }
            steps.push(Step::MultiTransform {
                keyword,
                function,
                options,
                destinations,
            });
            continue;
        }
        if !peek_destination(input) {
            return Err(syn::Error::new(
                keyword.span(),
                format!(
                    "this transform writes nowhere: name the stream it writes to, `{previous} => transform(function) => destination`; to only read `{previous}`, use `consume(function)`"
                ),
            ));
        }
        input.parse::<Token![=>]>()?;
        let destination: Ident = input.parse()?;
        previous = destination.clone();
        steps.push(Step::Transform {
            keyword,
            function,
            options,
            destination,
        });
    }
    Ok(Flow { source, steps })
}

/// `=> [a, b]` after `multi_transform(...)`: at least one stream.
fn parse_destinations(
    input: ParseStream<'_>,
    keyword: &Ident,
    previous: &Ident,
) -> syn::Result<Vec<Ident>> {
    let expected = || {
        syn::Error::new(
            keyword.span(),
            format!(
                "this multi-transform writes nowhere: list the streams it writes to, `{previous} => multi_transform(function) => [a, b]`"
            ),
        )
    };
    if !input.peek(Token![=>]) {
        return Err(expected());
    }
    let fork = input.fork();
    fork.parse::<Token![=>]>()?;
    if !fork.peek(syn::token::Bracket) {
        if fork.peek(Ident) {
            let name: Ident = fork.parse()?;
            return Err(syn::Error::new(
                name.span(),
                format!(
                    "a multi-transform writes to a list of streams: `[{name}]`; for one destination, use `transform(function) => {name}`"
                ),
            ));
        }
        return Err(expected());
    }
    input.parse::<Token![=>]>()?;
    let content;
    let brackets = syn::bracketed!(content in input);
    let names = content.parse_terminated(Ident::parse, Token![,])?;
    if names.is_empty() {
        return Err(syn::Error::new(
            brackets.span.join(),
            expected().to_string(),
        ));
    }
    Ok(names.into_iter().collect())
}
