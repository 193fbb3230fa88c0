//! Check phase: rules across fields and variants. Expansion never validates.

use std::collections::HashMap;

use super::ast::{ExtraFieldsMode, Field, Kind, Model, Variant};
use crate::diagnostics::Errors;

pub fn check(model: &Model, errors: &mut Errors) {
    match &model.kind {
        Kind::Struct(fields) => check_struct(model, fields, errors),
        Kind::Enum(variants) => check_enum(model, variants, errors),
    }
}

fn check_struct(model: &Model, fields: &[Field], errors: &mut Errors) {
    check_extra_fields(model, fields, errors);
    let is_named =
        matches!(&model.item, syn::Item::Struct(s) if matches!(s.fields, syn::Fields::Named(_)));
    if is_named && fields.iter().all(|f| f.skipped) {
        errors.spanned(
            &model.ident,
            format!(
                "`#[data_model]` struct `{}` has no columns: {}; add a field that is stored",
                model.ident,
                if fields.is_empty() {
                    "it has no fields"
                } else {
                    "every field is `#[serde(skip)]`"
                }
            ),
        );
    }
    let mut seen: HashMap<&str, &Field> = HashMap::new();
    for field in fields {
        if field.skipped {
            let ours = [
                field.key.map(|_| "#[key]"),
                field.extra_fields.map(|_| "#[extra_fields]"),
                field.low_cardinality.map(|_| "low_cardinality"),
                field.default.as_ref().map(|_| "default"),
                field.codec.as_ref().map(|_| "codec"),
                field.column_type.as_ref().map(|_| "column_type"),
                field.decimal.as_ref().map(|_| "decimal"),
                field.precision.map(|_| "precision"),
            ];
            if let Some(attr) = ours.into_iter().flatten().next() {
                errors.spanned(
                    &field.member,
                    format!("field `{}` is `#[serde(skip)]`, so it is no column and `{attr}` has no effect; remove one of them", field.member),
                );
            }
            continue;
        }
        if let Some(first) = seen.get(field.column.as_str()) {
            errors.spanned(
                &field.member,
                format!(
                    "fields `{}` and `{}` both become column `{}` after serde renaming; give one another name with #[serde(rename = \"...\")]",
                    first.member, field.member, field.column
                ),
            );
        } else {
            seen.insert(&field.column, field);
        }
        if field.key.is_some()
            && let Some(option) = option_type(&field.ty)
        {
            errors.spanned(
                option,
                format!(
                    "`#[key]` field `{}` cannot be `Option<_>`: ClickHouse sorting keys are not nullable; make the field non-optional or remove `#[key]`",
                    field.member
                ),
            );
        }
        if let Some(column_type) = &field.column_type {
            let conflicts = [
                field.decimal.as_ref().map(|d| ("decimal", d.span)),
                field.precision.map(|(_, span)| ("precision", span)),
                field.low_cardinality.map(|span| ("low_cardinality", span)),
            ];
            for (name, span) in conflicts.into_iter().flatten() {
                errors.at(
                    span,
                    format!(
                        "conflicting attributes: `column_type = {:?}` sets the whole column type, so `{name}` would be ignored; remove one of them",
                        column_type.value()
                    ),
                );
            }
        }
    }
}

/// `extra_fields = "capture"` needs exactly one `#[extra_fields]` field, and the other modes
/// none (it would always be empty). That field holds every unknown JSON field as one JSON
/// column, written back as top-level fields: no key, no column options, no serde form of the
/// user's own.
fn check_extra_fields(model: &Model, fields: &[Field], errors: &mut Errors) {
    let ident = &model.ident;
    let mode = model.extra_fields.as_ref().map(|e| e.mode);
    let marked: Vec<(&Field, proc_macro2::Span)> = fields
        .iter()
        .filter_map(|f| Some((f, f.extra_fields?)))
        .collect();
    match (mode, marked.as_slice()) {
        (Some(ExtraFieldsMode::Capture), []) => {
            let literal = &model
                .extra_fields
                .as_ref()
                .expect("capture was given")
                .literal;
            errors.spanned(
                literal,
                format!(
                    "`extra_fields = \"capture\"` keeps unknown JSON fields in a field marked `#[extra_fields]`, and `{ident}` has none; add one: `#[extra_fields] pub extra: serde_json::Map<String, serde_json::Value>`"
                ),
            );
        }
        (Some(ExtraFieldsMode::Capture), _) => {}
        (Some(ExtraFieldsMode::Deny), marked) => {
            for (field, span) in marked {
                errors.at(
                    *span,
                    format!(
                        "field `{}` is marked `#[extra_fields]`, but `{ident}` refuses records with unknown fields (`extra_fields = \"deny\"`), so it would always be empty; remove `#[extra_fields]`, or write `extra_fields = \"capture\"` to keep unknown fields in it",
                        field.member
                    ),
                );
            }
        }
        (Some(ExtraFieldsMode::Ignore) | None, marked) => {
            for (field, span) in marked {
                errors.at(
                    *span,
                    format!(
                        "field `{}` is marked `#[extra_fields]`, but `{ident}` drops unknown JSON fields{}; add `#[data_model(extra_fields = \"capture\")]` to keep them in this field, or remove `#[extra_fields]`",
                        field.member,
                        if mode.is_some() { " (`extra_fields = \"ignore\"`)" } else { " (the default)" }
                    ),
                );
            }
        }
    }
    if let [(first, _), rest @ ..] = marked.as_slice() {
        for (field, span) in rest {
            errors.at(
                *span,
                format!(
                    "`{ident}` has two `#[extra_fields]` fields, `{}` and `{}`: every unknown field goes into one map; remove `#[extra_fields]` from one of them",
                    first.member, field.member
                ),
            );
        }
    }
    for (field, _) in &marked {
        let options = [
            field.key.map(|span| ("#[key]", span)),
            field.low_cardinality.map(|span| ("low_cardinality", span)),
            field.default.as_ref().map(|d| ("default", d.span())),
            field.codec.as_ref().map(|c| ("codec", c.span())),
            field
                .column_type
                .as_ref()
                .map(|c| ("column_type", c.span())),
            field.decimal.as_ref().map(|d| ("decimal", d.span)),
            field.precision.map(|(_, span)| ("precision", span)),
            field.serde_with.map(|span| ("#[serde(with)]", span)),
        ];
        for (name, span) in options.into_iter().flatten() {
            errors.at(
                span,
                format!(
                    "`{name}` cannot go on `#[extra_fields]` field `{}`: it holds the record's unknown fields, stored as one JSON column and written back as top-level JSON fields; remove `{name}`",
                    field.member
                ),
            );
        }
    }
}

/// The type if it is spelled `Option<_>` (any path ending in `Option`). Aliases of `Option`
/// are still caught, by the `KeyColumn` assertion the expansion puts on the field.
fn option_type(ty: &syn::Type) -> Option<&syn::Type> {
    match ty {
        syn::Type::Path(p) if p.qself.is_none() => {
            let last = p.path.segments.last()?;
            let generic = matches!(last.arguments, syn::PathArguments::AngleBracketed(_));
            (last.ident == "Option" && generic).then_some(ty)
        }
        syn::Type::Group(g) => option_type(&g.elem),
        syn::Type::Paren(p) => option_type(&p.elem),
        _ => None,
    }
}

fn check_enum(model: &Model, variants: &[Variant], errors: &mut Errors) {
    if variants.is_empty() {
        errors.spanned(
            &model.ident,
            format!("`#[data_model]` enum `{}` has no variants: a ClickHouse Enum needs at least one value", model.ident),
        );
    }
    let mut names: HashMap<&str, &Variant> = HashMap::new();
    let mut values: HashMap<i64, &Variant> = HashMap::new();
    for variant in variants {
        if !(i64::from(i16::MIN)..=i64::from(i16::MAX)).contains(&variant.discriminant) {
            errors.at(
                variant.span,
                format!(
                    "variant `{}` = {} is outside ClickHouse Enum16's range -32768..=32767",
                    variant.ident, variant.discriminant
                ),
            );
        }
        if let Some(first) = names.insert(&variant.wire, variant) {
            errors.at(
                variant.span,
                format!(
                    "variants `{}` and `{}` both have the name `{}`; rename one",
                    first.ident, variant.ident, variant.wire
                ),
            );
        }
        if let Some(first) = values.insert(variant.discriminant, variant) {
            errors.at(
                variant.span,
                format!(
                    "variants `{}` and `{}` both have the value {}",
                    first.ident, variant.ident, variant.discriminant
                ),
            );
        }
    }
}
