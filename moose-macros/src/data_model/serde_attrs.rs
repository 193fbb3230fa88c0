//! What serde's attributes say: wire names (`rename`, `rename_all`), `skip`, a field's own
//! serde form (`with`), and the form the expansion gives timestamp fields.

use proc_macro2::TokenStream;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, LitStr, Token};

use super::ast::TimeFormat;
use super::serde_names::RenameRule;
use crate::diagnostics::Errors;

/// The expansion derives serde itself: a `Serialize` or `Deserialize` of the user's own is an
/// error, on its path.
pub(super) fn check_no_serde_derive(attrs: &[Attribute], errors: &mut Errors) {
    for attr in attrs.iter().filter(|a| a.path().is_ident("derive")) {
        let Ok(paths) = attr
            .parse_args_with(syn::punctuated::Punctuated::<syn::Path, Token![,]>::parse_terminated)
        else {
            continue;
        };
        for path in paths {
            let last = path
                .segments
                .last()
                .map(|s| s.ident.to_string())
                .unwrap_or_default();
            if last == "Serialize" || last == "Deserialize" {
                errors.spanned(
                    &path,
                    format!(
                        "`#[data_model]` already derives `{last}` (so column names and JSON names cannot drift apart); remove `{last}` from this derive"
                    ),
                );
            }
        }
    }
}

/// Reads `#[serde(rename_all = "...")]` (or its `serialize = ` form), and rejects
/// `#[serde(bound)]`, which the expansion sets.
pub(super) fn container_rename_all(attrs: &[Attribute], errors: &mut Errors) -> Option<RenameRule> {
    let mut rule = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename_all") {
                let name = name_value_or_serialize(&meta)?;
                match RenameRule::parse(&name.value()) {
                    Ok(r) => rule = Some(r),
                    Err(message) => errors.spanned(&name, message),
                }
                Ok(())
            } else if meta.path.is_ident("bound") {
                errors.spanned(
                    &meta.path,
                    "`#[data_model]` sets serde's `bound` itself (a data model has no type parameters to bound); remove it",
                );
                skip_meta(&meta)
            } else {
                skip_meta(&meta)
            }
        });
        if let Err(e) = result {
            errors.push(e);
        }
    }
    rule
}

/// `rename = "x"` or `rename(serialize = "x", ...)`: the serialized name.
pub(super) fn name_value_or_serialize(
    meta: &syn::meta::ParseNestedMeta<'_>,
) -> syn::Result<LitStr> {
    if meta.input.peek(Token![=]) {
        return meta.value()?.parse();
    }
    let mut found = None;
    meta.parse_nested_meta(|inner| {
        let value: LitStr = inner.value()?.parse()?;
        if inner.path.is_ident("serialize") {
            found = Some(value);
        }
        Ok(())
    })?;
    found.ok_or_else(|| meta.error("expected `serialize = \"...\"`"))
}

/// Consumes an option we do not interpret: `name`, `name = value` or `name(...)`.
pub(super) fn skip_meta(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in meta.input);
        content.parse::<TokenStream>()?;
    }
    Ok(())
}

/// `#[serde(rename = "...")]` on a field or variant.
pub(super) fn serde_rename(attrs: &[Attribute], errors: &mut Errors) -> Option<String> {
    let mut rename = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let result = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                rename = Some(name_value_or_serialize(&meta)?.value());
                Ok(())
            } else {
                skip_meta(&meta)
            }
        });
        if let Err(e) = result {
            errors.push(e);
        }
    }
    rename
}

/// What serde attributes say about a field.
#[derive(Default)]
pub(super) struct SerdeField {
    pub rename: Option<String>,
    pub skipped: bool,
    /// `with`, `serialize_with` or `deserialize_with`: the user chose the serde form.
    pub with: Option<proc_macro2::Span>,
    /// `alias = "..."` names.
    pub aliases: Vec<String>,
    /// `default`.
    pub default: bool,
}

pub(super) fn serde_field(attrs: &[Attribute], errors: &mut Errors) -> SerdeField {
    let mut out = SerdeField::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let result = attr.parse_nested_meta(|meta| {
            let path = &meta.path;
            if path.is_ident("rename") {
                out.rename = Some(name_value_or_serialize(&meta)?.value());
            } else if path.is_ident("skip") {
                out.skipped = true;
            } else if path.is_ident("with")
                || path.is_ident("serialize_with")
                || path.is_ident("deserialize_with")
            {
                out.with = Some(path.span());
                skip_meta(&meta)?;
            } else if path.is_ident("alias") {
                out.aliases.push(meta.value()?.parse::<LitStr>()?.value());
            } else if path.is_ident("default") {
                out.default = true;
                skip_meta(&meta)?;
            } else if path.is_ident("skip_serializing") || path.is_ident("skip_deserializing") {
                errors.spanned(
                    path,
                    "a `#[data_model]` field is either a column or not: use `#[serde(skip)]` to leave it out of the table, or remove this attribute",
                );
            } else if path.is_ident("flatten") {
                errors.spanned(
                    path,
                    "`#[serde(flatten)]` is not supported in `#[data_model]`: a nested #[data_model] struct becomes one Tuple column; write its fields here to get separate columns",
                );
            } else {
                skip_meta(&meta)?;
            }
            Ok(())
        });
        if let Err(e) = result {
            errors.push(e);
        }
    }
    out
}

/// The [`TimeFormat`] of a field spelled `OffsetDateTime`, `DateTime<Utc>`, `SystemTime`, or
/// `Option` of one of them (any path ending so).
pub(super) fn time_format(ty: &syn::Type, has_default: bool) -> Option<TimeFormat> {
    let last = |ty: &syn::Type| match ty {
        syn::Type::Path(p) => p.path.segments.last().cloned(),
        _ => None,
    };
    let first_type_argument = |segment: &syn::PathSegment| match &segment.arguments {
        syn::PathArguments::AngleBracketed(args) => match args.args.first() {
            Some(syn::GenericArgument::Type(t)) => last(t),
            _ => None,
        },
        _ => None,
    };
    let is_timestamp = |segment: &syn::PathSegment| {
        segment.ident == "OffsetDateTime"
            || segment.ident == "SystemTime"
            || (segment.ident == "DateTime"
                && first_type_argument(segment).is_some_and(|tz| tz.ident == "Utc"))
    };
    let segment = last(ty)?;
    if is_timestamp(&segment) {
        Some(TimeFormat::Timestamp)
    } else if segment.ident == "Option"
        && first_type_argument(&segment).is_some_and(|inner| is_timestamp(&inner))
    {
        Some(TimeFormat::OptionTimestamp {
            missing_is_none: !has_default,
        })
    } else {
        None
    }
}
