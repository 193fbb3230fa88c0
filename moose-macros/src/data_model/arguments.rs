//! The arguments of `#[data_model(...)]`.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{Expr, Token};

use super::serde_attrs::skip_meta;
use crate::diagnostics::{Errors, suggestion};

/// Arguments accepted inside `#[data_model(...)]`.
pub(super) const ARGUMENTS: [&str; 1] = ["crate"];

/// `#[data_model(crate = "...")]`: the path of the crate that re-exports moose's runtime (as
/// serde's `crate = "..."`); `::moose` without it.
pub(super) fn parse(args: TokenStream, errors: &mut Errors) -> syn::Path {
    let mut krate: Option<syn::Path> = None;
    let parser = syn::meta::parser(|meta| {
        if !meta.path.is_ident("crate") {
            let name = meta.path.to_token_stream().to_string().replace(' ', "");
            errors.spanned(
                &meta.path,
                format!(
                    "unknown `#[data_model]` argument `{name}`{}; the only argument is `crate = \"...\"`, and table and stream settings go in `pipeline!` or on `OlapTable`/`Stream`",
                    suggestion(&name, ARGUMENTS)
                ),
            );
            return skip_meta(&meta);
        }
        if !meta.input.peek(Token![=]) {
            errors.spanned(
                &meta.path,
                "`crate` needs a value: `#[data_model(crate = \"::moose\")]`",
            );
            return skip_meta(&meta);
        }
        let value: Expr = meta.value()?.parse()?;
        let Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(text),
            ..
        }) = &value
        else {
            errors.spanned(
                &value,
                format!(
                    "`crate` takes the path as a string, as serde's does: `crate = \"{}\"`",
                    value.to_token_stream().to_string().replace(' ', "")
                ),
            );
            return Ok(());
        };
        match text.parse_with(syn::Path::parse_mod_style) {
            Ok(_) if krate.is_some() => {
                errors.spanned(text, "duplicate `crate` argument; remove one");
            }
            Ok(path) => krate = Some(path),
            Err(_) => {
                // `moose-runtime` is a package name; its crate, in paths, is `moose_runtime`.
                let underscored = text.value().replace('-', "_");
                let hint = match syn::parse_str::<syn::Path>(&underscored) {
                    Ok(_) if underscored != text.value() => {
                        format!("; in paths, a package's `-` is `_`: `crate = {underscored:?}`")
                    }
                    _ => String::new(),
                };
                errors.spanned(
                    text,
                    format!(
                        "`crate = {:?}` is not a path: write the path of the crate that re-exports moose, such as `crate = \"::moose\"` or, inside that crate, `crate = \"crate\"`{hint}",
                        text.value()
                    ),
                );
            }
        }
        Ok(())
    });
    if let Err(e) = syn::parse::Parser::parse2(parser, args) {
        errors.push(e);
    }
    krate.unwrap_or_else(|| syn::parse_quote!(::moose))
}
