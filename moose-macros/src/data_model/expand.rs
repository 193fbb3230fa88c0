//! Expand phase: [`Model`] -> tokens. Quote only; every rule was checked before.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::ast::{Field, Kind, Model, Variant};

fn schema() -> TokenStream {
    quote!(::moose::__private::schema)
}

/// The item with serde derived through our re-export, and the timestamp helpers serde needs.
fn item_with_serde(model: &Model) -> TokenStream {
    let mut item = model.item.clone();
    let attrs = match &mut item {
        syn::Item::Struct(s) => {
            if let syn::Fields::Named(named) = &mut s.fields {
                for field in named.named.iter_mut() {
                    add_timestamp_format(field);
                }
            }
            &mut s.attrs
        }
        syn::Item::Enum(e) => &mut e.attrs,
        _ => return quote!(#item),
    };
    attrs.insert(
        0,
        syn::parse_quote!(#[derive(::moose::__private::serde::Serialize, ::moose::__private::serde::Deserialize)]),
    );
    attrs.insert(
        1,
        syn::parse_quote!(#[serde(crate = "::moose::__private::serde")]),
    );
    quote!(#item)
}

/// `time::OffsetDateTime` has no RFC 3339 serde form by default; JSON producers send RFC 3339,
/// so a field spelled `OffsetDateTime` (or `Option<OffsetDateTime>`) gets it unless the user
/// chose a format with `#[serde(with = ...)]`.
fn add_timestamp_format(field: &mut syn::Field) {
    let has_with = field.attrs.iter().any(|a| {
        a.path().is_ident("serde") && {
            let text = quote!(#a).to_string();
            text.contains("with")
        }
    });
    if has_with {
        return;
    }
    let last = |ty: &syn::Type| match ty {
        syn::Type::Path(p) => p.path.segments.last().cloned(),
        _ => None,
    };
    let Some(segment) = last(&field.ty) else {
        return;
    };
    let module = if segment.ident == "OffsetDateTime" {
        "::moose::__private::time_rfc3339"
    } else if segment.ident == "Option" {
        let inner = match &segment.arguments {
            syn::PathArguments::AngleBracketed(args) => match args.args.first() {
                Some(syn::GenericArgument::Type(t)) => last(t),
                _ => None,
            },
            _ => None,
        };
        match inner {
            Some(inner) if inner.ident == "OffsetDateTime" => {
                "::moose::__private::time_rfc3339::option"
            }
            _ => return,
        }
    } else {
        return;
    };
    field
        .attrs
        .push(syn::parse_quote!(#[serde(with = #module)]));
}

pub fn expand(model: &Model) -> TokenStream {
    let item = item_with_serde(model);
    let impls = match &model.kind {
        Kind::Struct(fields) => expand_struct(model, fields),
        Kind::Enum(variants) => expand_enum(model, variants),
    };
    quote! {
        #item
        #[doc(hidden)]
        const _: () = {
            #impls
        };
    }
}

fn column_type_expr(field: &Field) -> TokenStream {
    let s = schema();
    let ty = &field.ty;
    let decimal = match &field.decimal {
        Some(d) => {
            let (p, sc) = (d.precision, d.scale);
            quote!(::core::option::Option::Some((#p, #sc)))
        }
        None => quote!(::core::option::Option::None),
    };
    let precision = match field.precision {
        Some((p, _)) => quote!(::core::option::Option::Some(#p)),
        None => quote!(::core::option::Option::None),
    };
    let base = quote_spanned! {ty.span()=>
        <#ty as #s::ColumnValue>::column_type(&#s::FieldOptions { decimal: #decimal, precision: #precision })
    };
    let mut expr = base;
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

fn option_string(value: Option<String>) -> TokenStream {
    match value {
        Some(v) => quote!(::core::option::Option::Some(::std::string::String::from(#v))),
        None => quote!(::core::option::Option::None),
    }
}

fn expand_struct(model: &Model, fields: &[Field]) -> TokenStream {
    let s = schema();
    let ident = &model.ident;
    let name = ident.to_string();
    let columns: Vec<&Field> = fields.iter().filter(|f| !f.skipped).collect();
    let count = columns.len();
    let names: Vec<&str> = columns.iter().map(|f| f.column.as_str()).collect();
    let type_exprs: Vec<TokenStream> = columns.iter().map(|f| column_type_expr(f)).collect();

    // Assertions spanned on the user's tokens, so errors point at the field.
    let assertions = columns.iter().map(|f| {
        let ty = &f.ty;
        let column = quote_spanned! {ty.span()=>
            let _ = <#ty as #s::ColumnValue>::column_type;
        };
        let key = f.key.map(|_| {
            quote_spanned! {ty.span()=>
                fn __key_column<T: #s::KeyColumn + ?::core::marker::Sized>() {}
                __key_column::<#ty>();
            }
        });
        let decimal = (f.decimal.is_none() && f.column_type.is_none()).then(|| {
            let message = format!(
                "field `{}` is a Decimal: say how many digits ClickHouse stores with #[moose(decimal(P, S))], e.g. #[moose(decimal(18, 4))]",
                f.member
            );
            quote_spanned! {ty.span()=>
                const _: () = ::core::assert!(!<#ty as #s::ColumnValue>::NEEDS_DECIMAL, #message);
            }
        });
        quote! { #column #key #decimal }
    });

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

    let writes: Vec<TokenStream> = columns
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let member = &f.member;
            let name = &f.column;
            quote! {
                #s::ColumnValue::write_row_binary(&self.#member, &__types[#i], __out)
                    .map_err(|e| e.in_column(#name))?;
            }
        })
        .collect();

    let tuple_writes: Vec<TokenStream> = columns
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let member = &f.member;
            let name = &f.column;
            quote! {
                #s::ColumnValue::write_row_binary(&self.#member, __types[#i], __out)
                    .map_err(|e| e.in_column(#name))?;
            }
        })
        .collect();

    let keys: Vec<&syn::Ident> = columns
        .iter()
        .filter(|f| f.key.is_some())
        .map(|f| &f.member)
        .collect();
    let key_names: Vec<&str> = columns
        .iter()
        .filter(|f| f.key.is_some())
        .map(|f| f.column.as_str())
        .collect();
    let message_key = match keys.as_slice() {
        [] => quote!(::std::vec::Vec::new()),
        [one] => quote!(#s::key_part(&self.#one)),
        many => quote! {
            ::moose::__private::serde_json::to_vec(&(#(&self.#many,)*)).unwrap_or_default()
        },
    };

    quote! {
        #[allow(clippy::let_underscore_untyped, dead_code)]
        fn __assertions() {
            #(#assertions)*
        }

        #[automatically_derived]
        impl #s::ColumnValue for #ident {
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
                #(#tuple_writes)*
                ::core::result::Result::Ok(())
            }
        }

        #[automatically_derived]
        impl #s::DataModel for #ident {
            const NAME: &'static str = #name;
            const COLUMN_NAMES: &'static [&'static str] = &[#(#names),*];
            const KEY_NAMES: &'static [&'static str] = &[#(#key_names),*];

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
        }
    }
}

fn expand_enum(model: &Model, variants: &[Variant]) -> TokenStream {
    let s = schema();
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
    let idents = variants.iter().map(|v| &v.ident);
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
        }

        #[automatically_derived]
        impl #s::NullableColumn for #ident {}
        #[automatically_derived]
        impl #s::KeyColumn for #ident {}
    }
}

/// After an error: the item and impls that type-check, so uses of the type do not cascade.
pub fn fallback(model: &Model) -> TokenStream {
    let s = schema();
    let item = item_with_serde(model);
    let generic = match &model.item {
        syn::Item::Struct(st) => !st.generics.params.is_empty(),
        syn::Item::Enum(e) => !e.generics.params.is_empty(),
        _ => true,
    };
    if generic {
        return item;
    }
    let ident = &model.ident;
    let name = ident.to_string();
    let data_model = matches!(model.kind, Kind::Struct(_)).then(|| {
        quote! {
            #[automatically_derived]
            impl #s::DataModel for #ident {
                const NAME: &'static str = #name;
                const COLUMN_NAMES: &'static [&'static str] = &[];
                const KEY_NAMES: &'static [&'static str] = &[];
                fn columns() -> ::std::vec::Vec<#s::Column> { ::std::vec::Vec::new() }
                fn write_row(&self, _: &[#s::ColumnType], _: &mut ::std::vec::Vec<u8>) -> ::core::result::Result<(), #s::EncodeError> {
                    ::core::unreachable!("#[data_model] reported a compile error for this type")
                }
                fn message_key(&self) -> ::std::vec::Vec<u8> { ::std::vec::Vec::new() }
            }
        }
    });
    quote! {
        #item
        const _: () = {
            #[automatically_derived]
            impl #s::ColumnValue for #ident {
                fn column_type(_: &#s::FieldOptions) -> #s::ColumnType { #s::ColumnType::String }
                fn write_row_binary(&self, _: &#s::ColumnType, _: &mut ::std::vec::Vec<u8>) -> ::core::result::Result<(), #s::EncodeError> {
                    ::core::unreachable!("#[data_model] reported a compile error for this type")
                }
            }
            #data_model
        };
    }
}
