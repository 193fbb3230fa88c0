//! Parse phase: syn item -> [`Model`], collecting every attribute error.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, Fields, Item, LitInt, LitStr, Meta, Token};

use super::ast::{Decimal, Field, Kind, Model, Variant};
use super::serde_attrs::{
    check_no_serde_derive, container_rename_all, serde_field, serde_rename, skip_meta, time_format,
};
use super::serde_names::RenameRule;
use crate::diagnostics::{Errors, suggestion};

/// Options accepted inside `#[moose(...)]` on a field.
pub const FIELD_OPTIONS: [&str; 8] = [
    "key",
    "extra_fields",
    "low_cardinality",
    "default",
    "codec",
    "column_type",
    "decimal",
    "precision",
];

/// Parses the item; `None` when it is not something `#[data_model]` can apply to at all.
pub fn parse(args: TokenStream, input: TokenStream, errors: &mut Errors) -> Option<Model> {
    let super::arguments::Arguments {
        krate,
        extra_fields,
    } = super::arguments::parse(args, errors);
    let mut item: Item = match syn::parse2(input) {
        Ok(item) => item,
        Err(e) => {
            errors.push(e);
            return None;
        }
    };
    match &mut item {
        Item::Struct(s) => {
            take_misplaced_attributes(
                &mut s.attrs,
                "the struct itself; put it on the field it is about",
                errors,
            );
            check_no_serde_derive(&s.attrs, errors);
            check_not_generic(&s.generics, errors);
            let rename_all = container_rename_all(&s.attrs, errors);
            let ident = s.ident.clone();
            let fields = match &mut s.fields {
                Fields::Named(named) => named
                    .named
                    .iter_mut()
                    .map(|f| parse_field(f, rename_all, errors))
                    .collect(),
                Fields::Unnamed(unnamed) => {
                    errors.spanned(
                        &*unnamed,
                        format!(
                            "`#[data_model]` needs named fields: the fields of tuple struct `{ident}` have no names to become columns; write `struct {ident} {{ name: Type, .. }}`"
                        ),
                    );
                    Vec::new()
                }
                Fields::Unit => {
                    errors.spanned(
                        &s.ident,
                        format!(
                            "`#[data_model]` unit struct `{ident}` has no fields, so its table would have no columns; add named fields"
                        ),
                    );
                    Vec::new()
                }
            };
            Some(Model {
                ident,
                krate,
                extra_fields,
                kind: Kind::Struct(fields),
                item,
            })
        }
        Item::Enum(e) => {
            take_misplaced_attributes(&mut e.attrs, "the enum itself", errors);
            check_no_serde_derive(&e.attrs, errors);
            check_not_generic(&e.generics, errors);
            let rename_all = container_rename_all(&e.attrs, errors);
            let mut variants = Vec::new();
            let mut next: i64 = 0;
            for v in &mut e.variants {
                take_misplaced_attributes(&mut v.attrs, "an enum variant", errors);
                if !matches!(v.fields, Fields::Unit) {
                    errors.spanned(
                        &v.fields,
                        format!(
                            "`#[data_model]` enums become ClickHouse Enum columns, which hold names only: variant `{}` carries data; remove its fields, or use a #[data_model] struct for the data",
                            v.ident
                        ),
                    );
                }
                let mut discriminant = next;
                if let Some((_, expr)) = &v.discriminant {
                    match enum_value(expr) {
                        Some(value) => discriminant = value,
                        None => errors.spanned(
                            expr,
                            "enum discriminants of a `#[data_model]` enum must be integer literals",
                        ),
                    }
                }
                next = discriminant.saturating_add(1);
                let wire = serde_rename(&v.attrs, errors)
                    .or_else(|| rename_all.map(|r| r.apply_to_variant(&v.ident.to_string())))
                    .unwrap_or_else(|| v.ident.to_string());
                variants.push(Variant {
                    ident: v.ident.clone(),
                    wire,
                    discriminant,
                    span: v.ident.span(),
                });
            }
            if let Some(extra) = &extra_fields {
                errors.spanned(
                    &extra.literal,
                    format!(
                        "`extra_fields` is about the JSON fields of a struct; enum `{}` is one JSON string, so remove `extra_fields`",
                        e.ident
                    ),
                );
            }
            Some(Model {
                ident: e.ident.clone(),
                krate,
                extra_fields: None,
                kind: Kind::Enum(variants),
                item,
            })
        }
        Item::Union(u) => {
            errors.spanned(
                u.union_token,
                "`#[data_model]` cannot be applied to a union: a union has no fixed columns; use a struct with named fields",
            );
            None
        }
        other => {
            errors.spanned(
                &*other,
                "`#[data_model]` applies to a struct with named fields or a fieldless enum",
            );
            None
        }
    }
}

fn enum_value(expr: &Expr) -> Option<i64> {
    match expr {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(i),
            ..
        }) => i.base10_parse().ok(),
        Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr,
            ..
        }) => enum_value(expr).map(|v| -v),
        Expr::Group(g) => enum_value(&g.expr),
        Expr::Paren(p) => enum_value(&p.expr),
        _ => None,
    }
}

/// `#[key]` and `#[moose(...)]` belong on struct fields: reports and removes them elsewhere,
/// so rustc does not add "cannot find attribute" errors. `place` ends the sentence.
fn take_misplaced_attributes(attrs: &mut Vec<Attribute>, place: &str, errors: &mut Errors) {
    attrs.retain(|attr| {
        let name = if attr.path().is_ident("key") {
            "#[key]"
        } else if attr.path().is_ident("extra_fields") {
            "#[extra_fields]"
        } else if attr.path().is_ident("moose") {
            "#[moose(...)]"
        } else {
            return true;
        };
        errors.spanned(
            attr,
            format!("`{name}` goes on the fields of a `#[data_model]` struct, not on {place}"),
        );
        false
    });
}

fn check_not_generic(generics: &syn::Generics, errors: &mut Errors) {
    if !generics.params.is_empty() {
        errors.spanned(
            generics,
            "`#[data_model]` types cannot be generic: a table has one fixed set of column types; write a concrete struct per shape",
        );
    }
}

fn parse_field(
    field: &mut syn::Field,
    rename_all: Option<RenameRule>,
    errors: &mut Errors,
) -> Field {
    let member = field.ident.clone().expect("named field");
    let serde = serde_field(&field.attrs, errors);
    let unraw = member.to_string().trim_start_matches("r#").to_owned();
    let column = serde
        .rename
        .clone()
        .or_else(|| rename_all.map(|r| r.apply_to_field(&unraw)))
        .unwrap_or(unraw);
    let mut out = Field {
        member,
        ty: field.ty.clone(),
        column,
        skipped: serde.skipped,
        key: None,
        extra_fields: None,
        aliases: serde.aliases.clone(),
        serde_with: serde.with,
        low_cardinality: None,
        default: None,
        codec: None,
        column_type: None,
        decimal: None,
        precision: None,
        doc: doc_comment(&field.attrs),
        time_format: if serde.with.is_some() {
            None
        } else {
            time_format(&field.ty, serde.default)
        },
    };
    for attr in &field.attrs {
        if attr.path().is_ident("key") {
            if !matches!(attr.meta, Meta::Path(_)) {
                errors.spanned(attr, "`#[key]` takes no arguments");
            }
            set_flag(&mut out.key, attr.path().span(), "key", errors);
        } else if attr.path().is_ident("extra_fields") {
            if !matches!(attr.meta, Meta::Path(_)) {
                errors.spanned(attr, "`#[extra_fields]` takes no arguments; the model's `#[data_model(extra_fields = \"capture\")]` says what it does");
            }
            set_flag(
                &mut out.extra_fields,
                attr.path().span(),
                "extra_fields",
                errors,
            );
        } else if attr.path().is_ident("moose") {
            let result = attr.parse_nested_meta(|meta| parse_field_option(&meta, &mut out, errors));
            if let Err(e) = result {
                errors.push(e);
            }
        }
    }
    field.attrs.retain(|a| {
        !a.path().is_ident("key")
            && !a.path().is_ident("moose")
            && !a.path().is_ident("extra_fields")
    });
    out
}

fn set_flag(slot: &mut Option<Span>, span: Span, name: &str, errors: &mut Errors) {
    if slot.is_some() {
        errors.at(
            span,
            format!("duplicate `{name}` attribute on this field; remove one"),
        );
    } else {
        *slot = Some(span);
    }
}

fn set_once<T>(slot: &mut Option<T>, value: T, span: Span, name: &str, errors: &mut Errors) {
    if slot.is_some() {
        errors.at(
            span,
            format!("duplicate `{name}` option on this field; remove one"),
        );
    } else {
        *slot = Some(value);
    }
}

fn parse_field_option(
    meta: &syn::meta::ParseNestedMeta<'_>,
    field: &mut Field,
    errors: &mut Errors,
) -> syn::Result<()> {
    let path = &meta.path;
    let span = path.span();
    let name = path.to_token_stream().to_string().replace(' ', "");
    match name.as_str() {
        "key" => set_flag(&mut field.key, span, "key", errors),
        "extra_fields" => set_flag(&mut field.extra_fields, span, "extra_fields", errors),
        "low_cardinality" => set_flag(&mut field.low_cardinality, span, "low_cardinality", errors),
        "default" | "codec" | "column_type" => {
            if !meta.input.peek(Token![=]) {
                errors.at(
                    span,
                    format!("`{name}` needs a value: `#[moose({name} = \"...\")]`"),
                );
                return skip_meta(meta);
            }
            let value: LitStr = meta.value()?.parse()?;
            if value.value().trim().is_empty() {
                errors.spanned(&value, format!("`{name}` cannot be empty"));
            }
            let slot = match name.as_str() {
                "default" => &mut field.default,
                "codec" => &mut field.codec,
                _ => &mut field.column_type,
            };
            set_once(slot, value, span, &name, errors);
        }
        "decimal" => {
            if !meta.input.peek(syn::token::Paren) {
                errors.at(
                    span,
                    "`decimal` needs a precision and a scale: `#[moose(decimal(18, 4))]` is Decimal(18, 4): 18 digits, 4 after the point",
                );
                return skip_meta(meta);
            }
            let content;
            syn::parenthesized!(content in meta.input);
            let args =
                syn::punctuated::Punctuated::<LitInt, Token![,]>::parse_terminated(&content)?;
            let values: Vec<&LitInt> = args.iter().collect();
            if values.len() != 2 {
                errors.at(
                    span,
                    format!(
                        "`decimal` takes a precision and a scale, `decimal(P, S)`, but {} value(s) were given",
                        values.len()
                    ),
                );
                return Ok(());
            }
            let precision: u8 = values[0].base10_parse().unwrap_or(0);
            let scale: u8 = values[1].base10_parse().unwrap_or(u8::MAX);
            if !(1..=76).contains(&precision) {
                errors.spanned(
                    values[0],
                    "decimal precision must be between 1 and 76 digits",
                );
            } else if scale > precision {
                errors.spanned(
                    values[1],
                    format!("decimal scale {scale} is larger than precision {precision}: the digits after the point are part of the precision"),
                );
            }
            set_once(
                &mut field.decimal,
                Decimal {
                    precision,
                    scale,
                    span,
                },
                span,
                "decimal",
                errors,
            );
        }
        "precision" => {
            let value: LitInt = meta.value()?.parse()?;
            match value.base10_parse::<u8>() {
                Ok(p) if p <= 9 => set_once(&mut field.precision, (p, span), span, "precision", errors),
                _ => errors.spanned(&value, "timestamp precision is the number of sub-second digits, 0 to 9 (3 = milliseconds)"),
            }
        }
        other => {
            errors.at(
                span,
                format!(
                    "unknown data_model field attribute `{other}`{}",
                    suggestion(other, FIELD_OPTIONS)
                ),
            );
            skip_meta(meta)?;
        }
    }
    Ok(())
}

fn doc_comment(attrs: &[Attribute]) -> Option<String> {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            Meta::NameValue(nv) => match &nv.value {
                Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Some(s.value().trim().to_owned()),
                _ => None,
            },
            _ => None,
        })
        .filter(|l| !l.is_empty())
        .collect();
    (!lines.is_empty()).then(|| lines.join(" "))
}
