//! After an error: the item still, without serde, with impls that type-check (thiserror's
//! `fallback.rs`), so one mistake does not cascade into errors wherever the type is used.

use proc_macro2::TokenStream;
use quote::quote;

use super::ast::{Kind, Model};
use super::expand::Private;

/// The item without serde: attributes, derives or helper attributes. After an error the
/// fallback implements serde by hand, so serde's derive does not report our errors again.
fn item_without_serde(model: &Model) -> TokenStream {
    let mut item = model.item.clone();
    let is_serde = |a: &syn::Attribute| a.path().is_ident("serde");
    match &mut item {
        syn::Item::Struct(s) => {
            strip_serde_derives(&mut s.attrs);
            s.attrs.retain(|a| !is_serde(a));
            for field in s.fields.iter_mut() {
                field.attrs.retain(|a| !is_serde(a));
            }
        }
        syn::Item::Enum(e) => {
            strip_serde_derives(&mut e.attrs);
            e.attrs.retain(|a| !is_serde(a));
            for variant in e.variants.iter_mut() {
                variant.attrs.retain(|a| !is_serde(a));
            }
        }
        _ => {}
    }
    quote!(#item)
}

/// Removes `Serialize` and `Deserialize` from `#[derive(...)]` lists (already reported).
fn strip_serde_derives(attrs: &mut Vec<syn::Attribute>) {
    type Paths = syn::punctuated::Punctuated<syn::Path, syn::Token![,]>;
    attrs.retain_mut(|attr| {
        if !attr.path().is_ident("derive") {
            return true;
        }
        let Ok(paths) = attr.parse_args_with(Paths::parse_terminated) else {
            return true;
        };
        let kept: Paths = paths
            .into_iter()
            .filter(|p| {
                !p.segments
                    .last()
                    .is_some_and(|s| s.ident == "Serialize" || s.ident == "Deserialize")
            })
            .collect();
        if kept.is_empty() {
            return false;
        }
        *attr = syn::parse_quote!(#[derive(#kept)]);
        true
    });
}

/// After an error: the item (without our attributes and without serde) and impls that
/// type-check, so uses of the type do not cascade into errors of their own.
pub fn fallback(model: &Model) -> TokenStream {
    let private = Private::of(model);
    let s = private.schema();
    let serde = private.serde();
    let item = item_without_serde(model);
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
    let unreachable = quote!(::core::unreachable!(
        "#[data_model] reported a compile error for this type"
    ));
    let model_impls = match &model.kind {
        Kind::Struct(fields) => {
            // The real names, so `pipeline!`'s column and key checks do not add errors of
            // their own about a model whose only problem was already reported.
            let columns = fields.iter().filter(|f| !f.skipped);
            let names = columns.clone().map(|f| f.column.as_str());
            let key_names = columns
                .filter(|f| f.key.is_some())
                .map(|f| f.column.as_str());
            quote! {
                #[automatically_derived]
                impl #s::DataModel for #ident {
                    const NAME: &'static str = #name;
                    const COLUMN_NAMES: &'static [&'static str] = &[#(#names),*];
                    const KEY_NAMES: &'static [&'static str] = &[#(#key_names),*];
                    fn columns() -> ::std::vec::Vec<#s::Column> { ::std::vec::Vec::new() }
                    fn write_row(&self, _: &[#s::ColumnType], _: &mut ::std::vec::Vec<u8>) -> ::core::result::Result<(), #s::EncodeError> {
                        #unreachable
                    }
                    fn message_key(&self) -> ::std::vec::Vec<u8> { ::std::vec::Vec::new() }
                }
            }
        }
        Kind::Enum(_) => quote! {
            #[automatically_derived]
            impl #s::NullableColumn for #ident {}
            #[automatically_derived]
            impl #s::KeyColumn for #ident {}
        },
    };
    quote! {
        #item
        #[doc(hidden)]
        const _: () = {
            #[automatically_derived]
            impl #serde::Serialize for #ident {
                fn serialize<__S: #serde::Serializer>(&self, _: __S) -> ::core::result::Result<__S::Ok, __S::Error> {
                    #unreachable
                }
            }
            #[automatically_derived]
            impl<'de> #serde::Deserialize<'de> for #ident {
                fn deserialize<__D: #serde::Deserializer<'de>>(_: __D) -> ::core::result::Result<Self, __D::Error> {
                    #unreachable
                }
            }
            #[automatically_derived]
            impl #s::ColumnValue for #ident {
                fn column_type(_: &#s::FieldOptions) -> #s::ColumnType { #s::ColumnType::String }
                fn write_row_binary(&self, _: &#s::ColumnType, _: &mut ::std::vec::Vec<u8>) -> ::core::result::Result<(), #s::EncodeError> {
                    #unreachable
                }
            }
            #model_impls
        };
    }
}

/// When the item is no model at all (a union, a function): the item as written, minus our
/// field attributes, so the rest of the crate still sees it.
pub fn passthrough(mut item: syn::Item) -> TokenStream {
    let ours = |a: &syn::Attribute| {
        a.path().is_ident("key") || a.path().is_ident("moose") || a.path().is_ident("extra_fields")
    };
    if let syn::Item::Union(u) = &mut item {
        for field in u.fields.named.iter_mut() {
            field.attrs.retain(|a| !ours(a));
        }
    }
    quote!(#item)
}
