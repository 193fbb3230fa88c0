//! The arguments of `#[data_model(...)]`.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{Expr, LitStr, Token};

use super::ast::{ExtraFields, ExtraFieldsMode};
use super::serde_attrs::skip_meta;
use crate::diagnostics::{Errors, suggestion};

/// Arguments accepted inside `#[data_model(...)]`.
pub(super) const ARGUMENTS: [&str; 2] = ["crate", "extra_fields"];

/// The values of `extra_fields = "..."`.
pub(super) const EXTRA_FIELDS_MODES: [&str; 3] = ["ignore", "deny", "capture"];

/// What `#[data_model(...)]` says.
pub(super) struct Arguments {
    /// `crate = "..."`: the path of the crate that re-exports moose's runtime (as serde's
    /// `crate = "..."`); `::moose` without it.
    pub krate: syn::Path,
    /// `extra_fields = "..."`, if given.
    pub extra_fields: Option<ExtraFields>,
}

pub(super) fn parse(args: TokenStream, errors: &mut Errors) -> Arguments {
    let mut krate: Option<syn::Path> = None;
    let mut extra_fields: Option<ExtraFields> = None;
    let parser = syn::meta::parser(|meta| {
        if meta.path.is_ident("extra_fields") {
            parse_extra_fields(&meta, &mut extra_fields, errors)?;
            return Ok(());
        }
        if !meta.path.is_ident("crate") {
            let name = meta.path.to_token_stream().to_string().replace(' ', "");
            errors.spanned(
                &meta.path,
                format!(
                    "unknown `#[data_model]` argument `{name}`{}; the arguments are `crate = \"...\"` and `extra_fields = \"ignore\" | \"deny\" | \"capture\"`, and table and stream settings go in `pipeline!` or on `OlapTable`/`Stream`",
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
    Arguments {
        krate: krate.unwrap_or_else(|| syn::parse_quote!(::moose)),
        extra_fields,
    }
}

/// `extra_fields = "ignore" | "deny" | "capture"`.
fn parse_extra_fields(
    meta: &syn::meta::ParseNestedMeta<'_>,
    slot: &mut Option<ExtraFields>,
    errors: &mut Errors,
) -> syn::Result<()> {
    const HOW: &str = "`extra_fields = \"ignore\"` (the default: unknown JSON fields are dropped), `\"deny\"` (a record with an unknown field is refused) or `\"capture\"` (unknown fields are kept in the field marked `#[extra_fields]`)";
    if !meta.input.peek(Token![=]) {
        errors.spanned(&meta.path, format!("`extra_fields` needs a value: {HOW}"));
        return skip_meta(meta);
    }
    let value: Expr = meta.value()?.parse()?;
    let Expr::Lit(syn::ExprLit {
        lit: syn::Lit::Str(text),
        ..
    }) = &value
    else {
        let written = value.to_token_stream().to_string().replace(' ', "");
        errors.spanned(
            &value,
            format!("`extra_fields` takes a string: `extra_fields = \"{written}\"`"),
        );
        return Ok(());
    };
    let mode = match text.value().as_str() {
        "ignore" => ExtraFieldsMode::Ignore,
        "deny" => ExtraFieldsMode::Deny,
        "capture" => ExtraFieldsMode::Capture,
        other => {
            errors.spanned(
                text,
                format!(
                    "unknown `extra_fields` mode `{other}`{}; write {HOW}",
                    suggestion(other, EXTRA_FIELDS_MODES)
                ),
            );
            return Ok(());
        }
    };
    if slot.is_some() {
        errors.spanned(&meta.path, "duplicate `extra_fields` argument; remove one");
    } else {
        *slot = Some(ExtraFields {
            mode,
            literal: LitStr::new(&text.value(), text.span()),
        });
    }
    Ok(())
}
