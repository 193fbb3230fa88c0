//! Parse phase: syn item -> [`Model`], collecting every attribute error.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, Fields, Item, LitInt, LitStr, Meta, Token};

use super::ast::{Decimal, Field, Kind, Model, TimeFormat, Variant};
use super::serde_names::RenameRule;
use crate::diagnostics::{Errors, suggestion};

/// Options accepted inside `#[moose(...)]` on a field.
pub const FIELD_OPTIONS: [&str; 7] = [
    "key",
    "low_cardinality",
    "default",
    "codec",
    "column_type",
    "decimal",
    "precision",
];

/// Arguments accepted inside `#[data_model(...)]`.
pub const ARGUMENTS: [&str; 1] = ["crate"];

/// Parses the item; `None` when it is not something `#[data_model]` can apply to at all.
pub fn parse(args: TokenStream, input: TokenStream, errors: &mut Errors) -> Option<Model> {
    let krate = parse_arguments(args, errors);
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
            Some(Model {
                ident: e.ident.clone(),
                krate,
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

/// `#[data_model(crate = "...")]`: the path of the crate that re-exports moose's runtime (as
/// serde's `crate = "..."`); `::moose` without it.
fn parse_arguments(args: TokenStream, errors: &mut Errors) -> syn::Path {
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

fn check_no_serde_derive(attrs: &[Attribute], errors: &mut Errors) {
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

fn check_not_generic(generics: &syn::Generics, errors: &mut Errors) {
    if !generics.params.is_empty() {
        errors.spanned(
            generics,
            "`#[data_model]` types cannot be generic: a table has one fixed set of column types; write a concrete struct per shape",
        );
    }
}

/// Reads `#[serde(rename_all = "...")]` (or its `serialize = ` form), and rejects
/// `#[serde(bound)]`, which the expansion sets.
fn container_rename_all(attrs: &[Attribute], errors: &mut Errors) -> Option<RenameRule> {
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
fn name_value_or_serialize(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<LitStr> {
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

/// Consumes a serde option we do not interpret.
fn skip_meta(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<()> {
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
fn serde_rename(attrs: &[Attribute], errors: &mut Errors) -> Option<String> {
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
struct SerdeField {
    rename: Option<String>,
    skipped: bool,
    /// `with`, `serialize_with` or `deserialize_with`: the user chose the serde form.
    with: bool,
    /// `default`.
    default: bool,
}

fn serde_field(attrs: &[Attribute], errors: &mut Errors) -> SerdeField {
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
                out.with = true;
                skip_meta(&meta)?;
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
        low_cardinality: None,
        default: None,
        codec: None,
        column_type: None,
        decimal: None,
        precision: None,
        doc: doc_comment(&field.attrs),
        time_format: if serde.with {
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
        } else if attr.path().is_ident("moose") {
            let result = attr.parse_nested_meta(|meta| parse_field_option(&meta, &mut out, errors));
            if let Err(e) = result {
                errors.push(e);
            }
        }
    }
    field
        .attrs
        .retain(|a| !a.path().is_ident("key") && !a.path().is_ident("moose"));
    out
}

/// The [`TimeFormat`] of a field spelled `OffsetDateTime`, `DateTime<Utc>`, `SystemTime`, or
/// `Option` of `OffsetDateTime` or `SystemTime` (any path ending so).
fn time_format(ty: &syn::Type, has_default: bool) -> Option<TimeFormat> {
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
    let segment = last(ty)?;
    if segment.ident == "OffsetDateTime" {
        Some(TimeFormat::OffsetDateTime)
    } else if segment.ident == "SystemTime" {
        Some(TimeFormat::SystemTime)
    } else if segment.ident == "DateTime" {
        first_type_argument(&segment)
            .is_some_and(|tz| tz.ident == "Utc")
            .then_some(TimeFormat::ChronoUtc)
    } else if segment.ident == "Option" {
        let inner = first_type_argument(&segment)?;
        if inner.ident == "OffsetDateTime" {
            Some(TimeFormat::OptionOffsetDateTime)
        } else if inner.ident == "SystemTime" {
            Some(TimeFormat::OptionSystemTime {
                missing_is_none: !has_default,
            })
        } else {
            None
        }
    } else {
        None
    }
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
