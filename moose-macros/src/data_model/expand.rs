//! Expand phase: [`Model`] -> tokens. Quote only; every rule was checked before.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::LitStr;
use syn::spanned::Spanned;

use super::ast::{ExtraFieldsMode, Field, Kind, Model, TimeFormat, Variant};

/// Where generated code reaches the runtime: `<crate>::__private`, `<crate>` being `::moose`
/// or the model's `crate = "..."`. The user's path keeps the span of their string, so a path
/// that does not resolve is reported there.
pub(super) struct Private {
    path: TokenStream,
    span: Span,
}

impl Private {
    pub(super) fn of(model: &Model) -> Self {
        let krate = &model.krate;
        Self {
            path: quote!(#krate::__private),
            span: krate.span(),
        }
    }

    /// `<crate>::__private::schema`.
    pub(super) fn schema(&self) -> TokenStream {
        let path = &self.path;
        quote!(#path::schema)
    }

    /// `<crate>::__private::serde`.
    pub(super) fn serde(&self) -> TokenStream {
        let path = &self.path;
        quote!(#path::serde)
    }

    /// `<crate>::__private::<rest>` as the string serde's attributes take (`crate = "..."`,
    /// `with = "..."`).
    fn serde_string(&self, rest: TokenStream) -> LitStr {
        let path = &self.path;
        LitStr::new(&quote!(#path::#rest).to_string(), self.span)
    }
}

/// The item with serde derived through our re-export, and the timestamp helpers serde needs.
fn item_with_serde(model: &Model, private: &Private) -> TokenStream {
    let mut item = model.item.clone();
    let attrs = match &mut item {
        syn::Item::Struct(s) => {
            if let (syn::Fields::Named(named), Kind::Struct(fields)) = (&mut s.fields, &model.kind)
            {
                for (field, parsed) in named.named.iter_mut().zip(fields) {
                    add_time_format(field, parsed, private);
                    if parsed.extra_fields.is_some() {
                        // Unknown fields are collected into this map and written back as the
                        // record's own fields.
                        let ident = &model.ident;
                        let with = private
                            .serde_string(quote!(extra_fields::Captured::<#ident>::serialize));
                        field
                            .attrs
                            .push(syn::parse_quote!(#[serde(flatten, serialize_with = #with)]));
                    }
                }
            }
            &mut s.attrs
        }
        syn::Item::Enum(e) => &mut e.attrs,
        _ => return quote!(#item),
    };
    let serde = private.serde();
    attrs.insert(
        0,
        syn::parse_quote!(#[derive(#serde::Serialize, #serde::Deserialize)]),
    );
    let serde_crate = private.serde_string(quote!(serde));
    attrs.insert(1, syn::parse_quote!(#[serde(crate = #serde_crate)]));
    if extra_fields_mode(model) == ExtraFieldsMode::Deny {
        attrs.insert(2, syn::parse_quote!(#[serde(deny_unknown_fields)]));
    }
    if let Kind::Struct(fields) = &model.kind {
        // serde's impls are bounded on the field types like ours (see `column_bounds`), so a
        // field type without serde is reported once, at the field, and not again inside
        // serde's generated code.
        // The `#[extra_fields]` field is bounded on what its serde form needs, so a field of
        // another type is reported once, at the field, and not again inside serde's code.
        let s = private.schema();
        let bounds = |bound: TokenStream| {
            let bounds = fields.iter().filter(|f| !f.skipped).map(|f| {
                let ty = &f.ty;
                if f.extra_fields.is_some() {
                    quote!(for<'__moose> #ty: #s::ExtraFieldsColumn)
                } else {
                    quote!(for<'__moose> #ty: #bound)
                }
            });
            quote!(#(#bounds),*).to_string()
        };
        let serialize = bounds(quote!(#serde::Serialize));
        let deserialize = bounds(quote!(#serde::de::DeserializeOwned));
        attrs.push(
            syn::parse_quote!(#[serde(bound(serialize = #serialize, deserialize = #deserialize))]),
        );
    }
    quote!(#item)
}

/// `for<'__moose> T: ColumnValue` for every column's type: the where clause of every impl
/// generated for a struct. Each field's type is asserted where the user wrote it; with this
/// clause, the impls simply do not apply when an assertion fails, instead of repeating the
/// error from inside their bodies. The binder keeps rustc from rejecting a bound that does not
/// hold as a "trivial bound".
fn column_bounds(fields: &[Field], private: &Private) -> Vec<TokenStream> {
    let s = private.schema();
    fields
        .iter()
        .filter(|f| !f.skipped)
        .map(|f| {
            let ty = &f.ty;
            if f.extra_fields.is_some() {
                quote!(for<'__moose> #ty: #s::ExtraFieldsColumn)
            } else {
                quote!(for<'__moose> #ty: #s::ColumnValue)
            }
        })
        .collect()
}

/// The model's `extra_fields` mode; `ignore` when not given.
fn extra_fields_mode(model: &Model) -> ExtraFieldsMode {
    model
        .extra_fields
        .as_ref()
        .map_or(ExtraFieldsMode::Ignore, |e| e.mode)
}

/// The serde form parse chose for a timestamp field ([`TimeFormat`]), as `#[serde(with)]`.
fn add_time_format(field: &mut syn::Field, parsed: &Field, private: &Private) {
    let Some(format) = parsed.time_format else {
        return;
    };
    // A timestamp is written with as many sub-second digits as its column stores.
    let digits = match parsed.precision {
        Some((digits, _)) => quote!(#digits),
        None => {
            let s = private.schema();
            quote!({ #s::DEFAULT_TIMESTAMP_PRECISION })
        }
    };
    let module = private.serde_string(match format {
        TimeFormat::Timestamp => quote!(timestamp::Rfc3339::<#digits>),
        TimeFormat::OptionTimestamp { .. } => quote!(timestamp::OptionRfc3339::<#digits>),
    });
    field
        .attrs
        .push(syn::parse_quote!(#[serde(with = #module)]));
    if let TimeFormat::OptionTimestamp {
        missing_is_none: true,
    } = format
    {
        field.attrs.push(syn::parse_quote!(#[serde(default)]));
    }
}

pub fn expand(model: &Model) -> TokenStream {
    let private = Private::of(model);
    let item = item_with_serde(model, &private);
    let impls = match &model.kind {
        Kind::Struct(fields) => expand_struct(model, fields, &private),
        Kind::Enum(variants) => expand_enum(model, variants, &private),
    };
    quote! {
        #item
        #[doc(hidden)]
        const _: () = {
            #impls
        };
    }
}

fn column_type_expr(field: &Field, private: &Private) -> TokenStream {
    let s = private.schema();
    let ty = &field.ty;
    if field.extra_fields.is_some() {
        return quote_spanned! {ty.span()=>
            <#ty as #s::ExtraFieldsColumn>::column_type()
        };
    }
    let decimal = option(field.decimal.as_ref().map(|d| {
        let (p, sc) = (d.precision, d.scale);
        quote!((#p, #sc))
    }));
    let precision = option(field.precision.map(|(p, _)| p));
    let mut expr = quote_spanned! {ty.span()=>
        <#ty as #s::ColumnValue>::column_type(&#s::FieldOptions { decimal: #decimal, precision: #precision })
    };
    if field.low_cardinality.is_some() {
        expr = quote!(#expr.with_low_cardinality());
    }
    if let Some(sql) = &field.column_type {
        expr = quote!(#s::ColumnType::Custom {
            sql: ::std::string::String::from(#sql),
            encode_as: ::std::boxed::Box::new(#expr),
        });
    }
    expr
}

/// `Some(value)` or `None`, as an expression.
fn option(value: Option<impl quote::ToTokens>) -> TokenStream {
    match value {
        Some(v) => quote!(::core::option::Option::Some(#v)),
        None => quote!(::core::option::Option::None),
    }
}

fn option_string(value: Option<String>) -> TokenStream {
    option(value.map(|v| quote!(::std::string::String::from(#v))))
}

fn expand_struct(model: &Model, fields: &[Field], private: &Private) -> TokenStream {
    let s = private.schema();
    let ident = &model.ident;
    let name = ident.to_string();
    let columns: Vec<&Field> = fields.iter().filter(|f| !f.skipped).collect();
    let count = columns.len();
    let names: Vec<&str> = columns.iter().map(|f| f.column.as_str()).collect();
    let type_exprs: Vec<TokenStream> = columns
        .iter()
        .map(|f| column_type_expr(f, private))
        .collect();

    // One assertion per field, spanned on its type, so each error points at the field, and
    // one `ColumnValue` obligation per field (the decimal check is it), so a type error is
    // reported once. They live in a function named after the model, so a failed decimal check
    // reads "evaluation of `_::Order::total` failed".
    let assertions = columns.iter().map(|f| {
        let ty = &f.ty;
        let member = &f.member;
        let column = if f.extra_fields.is_some() {
            quote_spanned! {ty.span()=>
                let _ = <#ty as #s::ExtraFieldsColumn>::ASSERT;
            }
        } else if f.column_type.is_some() {
            quote_spanned! {ty.span()=>
                let _ = <#ty as #s::ColumnValue>::column_type;
            }
        } else {
            let (needs, message) = if f.decimal.is_some() {
                (
                    quote!(),
                    format!("field `{member}` has #[moose(decimal(P, S))] but is not a Decimal; remove the attribute"),
                )
            } else {
                (
                    quote!(!),
                    format!("field `{member}` is a Decimal: say how many digits ClickHouse stores with #[moose(decimal(P, S))], e.g. #[moose(decimal(18, 4))] for 18 digits, 4 after the point"),
                )
            };
            quote_spanned! {ty.span()=>
                const #member: () = ::core::assert!(#needs <#ty as #s::ColumnValue>::NEEDS_DECIMAL, #message);
            }
        };
        let key = f.key.map(|_| {
            quote_spanned! {ty.span()=>
                let _ = <#ty as #s::KeyColumn>::ASSERT;
            }
        });
        quote! { #column #key }
    });
    let bounds = column_bounds(fields, private);

    let column_values = columns.iter().zip(&type_exprs).map(|(f, ty)| {
        let name = &f.column;
        let key = f.key.is_some();
        let default = option_string(f.default.as_ref().map(|d| d.value()));
        let comment = option_string(f.doc.clone());
        let codec = option_string(f.codec.as_ref().map(|c| c.value()));
        quote! {
            #s::Column {
                name: ::std::string::String::from(#name),
                ty: #ty,
                key: #key,
                default: #default,
                comment: #comment,
                codec: #codec,
            }
        }
    });

    // Both `write_row` (`__types: &[ColumnType]`) and a nested model's `write_row_binary`
    // (`__types: Vec<&ColumnType>`) index `__types`; `&&ColumnType` coerces to the argument.
    let writes: Vec<TokenStream> = columns
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let member = &f.member;
            let name = &f.column;
            let value = if f.extra_fields.is_some() {
                quote!(#s::ExtraFieldsColumn)
            } else {
                quote!(#s::ColumnValue)
            };
            quote! {
                #value::write_row_binary(&self.#member, &__types[#i], __out)
                    .map_err(|e| e.in_column(#name))?;
            }
        })
        .collect();

    // The binary payload: the stored fields in declaration order; a skipped field is serde's
    // default again when read.
    let payload_writes = columns.iter().map(|f| {
        let member = &f.member;
        if f.extra_fields.is_some() {
            quote!(#s::payload::write_json(&self.#member, __out);)
        } else {
            quote!(#s::ColumnValue::write_payload(&self.#member, __out);)
        }
    });
    let payload_reads = fields.iter().map(|f| {
        let member = &f.member;
        let ty = &f.ty;
        let name = &f.column;
        if f.skipped {
            quote!(#member: ::core::default::Default::default(),)
        } else if f.extra_fields.is_some() {
            quote!(#member: #s::payload::read_json::<#ty>(__input)?,)
        } else {
            quote!(#member: #s::payload::read_field::<#ty>(__input, #name)?,)
        }
    });

    // In field order, as serde writes them: the first non-finite float is the first in JSON.
    let finiteness_checks = columns
        .iter()
        .filter(|f| f.extra_fields.is_none())
        .map(|f| {
            let member = &f.member;
            let name = &f.column;
            quote! {
                if let ::core::option::Option::Some(__found) =
                    #s::ColumnValue::first_non_finite(&self.#member)
                {
                    return ::core::option::Option::Some(__found.in_field(#name));
                }
            }
        });

    let (keys, key_names): (Vec<&syn::Ident>, Vec<&str>) = columns
        .iter()
        .filter(|f| f.key.is_some())
        .map(|f| (&f.member, f.column.as_str()))
        .unzip();
    let mode = extra_fields_mode(model);
    let extra_fields = match (mode, columns.iter().find(|f| f.extra_fields.is_some())) {
        (ExtraFieldsMode::Capture, Some(field)) => {
            let column = &field.column;
            quote!(#s::ExtraFields::Capture { column: #column })
        }
        (ExtraFieldsMode::Deny, _) => quote!(#s::ExtraFields::Deny),
        _ => quote!(#s::ExtraFields::Ignore),
    };
    // Only run for a record that failed to decode: every unknown field of a denying model,
    // here and in the models of its fields.
    let deny_keys = (mode == ExtraFieldsMode::Deny).then(|| {
        let known = columns.iter().flat_map(|f| {
            std::iter::once(f.column.as_str()).chain(f.aliases.iter().map(String::as_str))
        });
        quote! {
            #s::deny_unknown_keys(__json, __path, #name, &[#(#known),*], __out);
        }
    });
    let nested_unknown = columns
        .iter()
        .filter(|f| f.extra_fields.is_none())
        .flat_map(|f| {
            let ty = &f.ty;
            let s = &s;
            std::iter::once(&f.column)
                .chain(&f.aliases)
                .map(move |wire| {
                    quote! {
                        #s::unknown_fields_in::<#ty>(__json, __path, #wire, __out);
                    }
                })
        });
    let private_path = &private.path;
    let message_key = match keys.as_slice() {
        [] => quote!(::std::vec::Vec::new()),
        [one] => quote!(#s::key_part(&self.#one)),
        many => quote! {
            #private_path::serde_json::to_vec(&(#(&self.#many,)*)).unwrap_or_default()
        },
    };

    quote! {
        #[allow(
            non_snake_case,
            non_upper_case_globals,
            dead_code,
            clippy::let_underscore_untyped,
            clippy::let_unit_value
        )]
        fn #ident() {
            #(#assertions)*
        }

        #[automatically_derived]
        impl #s::ColumnValue for #ident where #(#bounds),* {
            fn column_type(_: &#s::FieldOptions) -> #s::ColumnType {
                #s::ColumnType::Tuple(::std::vec![
                    #( (::std::string::String::from(#names), #type_exprs) ),*
                ])
            }

            fn write_row_binary(
                &self,
                __ty: &#s::ColumnType,
                __out: &mut ::std::vec::Vec<u8>,
            ) -> ::core::result::Result<(), #s::EncodeError> {
                let __types = #s::tuple_types(__ty, #count, #name)?;
                #(#writes)*
                ::core::result::Result::Ok(())
            }

            fn write_payload(&self, __out: &mut ::std::vec::Vec<u8>) {
                #(#payload_writes)*
            }

            fn read_payload(
                __input: &mut &[u8],
            ) -> ::core::result::Result<Self, #s::PayloadError> {
                ::core::result::Result::Ok(Self { #(#payload_reads)* })
            }

            fn first_non_finite(&self) -> ::core::option::Option<#s::NonFiniteFloat> {
                #(#finiteness_checks)*
                ::core::option::Option::None
            }

            fn unknown_fields(
                __json: &#private_path::serde_json::Value,
                __path: &str,
                __out: &mut ::std::vec::Vec<#s::UnknownField>,
            ) {
                #deny_keys
                #(#nested_unknown)*
            }
        }

        #[automatically_derived]
        impl #s::DataModel for #ident where #(#bounds),* {
            const NAME: &'static str = #name;
            const COLUMN_NAMES: &'static [&'static str] = &[#(#names),*];
            const KEY_NAMES: &'static [&'static str] = &[#(#key_names),*];
            const EXTRA_FIELDS: #s::ExtraFields = #extra_fields;

            fn columns() -> ::std::vec::Vec<#s::Column> {
                ::std::vec![#(#column_values),*]
            }

            fn write_row(
                &self,
                __types: &[#s::ColumnType],
                __out: &mut ::std::vec::Vec<u8>,
            ) -> ::core::result::Result<(), #s::EncodeError> {
                #s::check_row_types(__types, #count, #name)?;
                #(#writes)*
                ::core::result::Result::Ok(())
            }

            fn message_key(&self) -> ::std::vec::Vec<u8> {
                #message_key
            }

            fn payload_fingerprint() -> u32 {
                static FINGERPRINT: ::std::sync::OnceLock<u32> = ::std::sync::OnceLock::new();
                #s::payload::cached_fingerprint::<Self>(&FINGERPRINT)
            }
        }
    }
}

fn expand_enum(model: &Model, variants: &[Variant], private: &Private) -> TokenStream {
    let s = private.schema();
    let ident = &model.ident;
    let fits_i8 = variants
        .iter()
        .all(|v| (i64::from(i8::MIN)..=i64::from(i8::MAX)).contains(&v.discriminant));
    let width = if fits_i8 {
        quote!(#s::EnumWidth::Enum8)
    } else {
        quote!(#s::EnumWidth::Enum16)
    };
    let wires = variants.iter().map(|v| &v.wire);
    let values: Vec<i16> = variants.iter().map(|v| v.discriminant as i16).collect();
    let idents: Vec<&syn::Ident> = variants.iter().map(|v| &v.ident).collect();
    let idents2 = &idents;
    let name = ident.to_string();
    quote! {
        #[automatically_derived]
        impl #s::ColumnValue for #ident {
            fn column_type(_: &#s::FieldOptions) -> #s::ColumnType {
                #s::ColumnType::Enum {
                    width: #width,
                    variants: ::std::vec![#( (::std::string::String::from(#wires), #values) ),*],
                }
            }

            fn write_row_binary(
                &self,
                __ty: &#s::ColumnType,
                __out: &mut ::std::vec::Vec<u8>,
            ) -> ::core::result::Result<(), #s::EncodeError> {
                let __value: i16 = match self { #( #ident::#idents => #values, )* };
                #s::write_enum(__value, __ty, __out)
            }

            fn write_payload(&self, __out: &mut ::std::vec::Vec<u8>) {
                let __value: i16 = match self { #( #ident::#idents => #values, )* };
                __out.extend_from_slice(&__value.to_le_bytes());
            }

            fn read_payload(
                __input: &mut &[u8],
            ) -> ::core::result::Result<Self, #s::PayloadError> {
                let __value = i16::from_le_bytes(#s::payload::take_array(__input, #name)?);
                match __value {
                    #( #values => ::core::result::Result::Ok(#ident::#idents2), )*
                    __other => ::core::result::Result::Err(#s::PayloadError(::std::format!(
                        "{} is no variant of `{}`", __other, #name
                    ))),
                }
            }
        }

        #[automatically_derived]
        impl #s::NullableColumn for #ident {}
        #[automatically_derived]
        impl #s::KeyColumn for #ident {}
    }
}
