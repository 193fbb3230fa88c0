//! `#[data_model]`: parse -> check -> expand.

mod arguments;
mod ast;
mod check;
mod expand;
mod fallback;
mod parse;
mod serde_attrs;
mod serde_names;

use proc_macro2::TokenStream;

use crate::diagnostics::Errors;

/// The whole macro: on errors, the item is still emitted (without our attributes) with stub
/// impls, so one mistake does not cascade into errors wherever the type is used.
pub fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let Some(model) = parse::parse(args, input.clone(), &mut errors) else {
        let errors = errors.to_compile_errors();
        let item = syn::parse2(input)
            .map(fallback::passthrough)
            .unwrap_or_default();
        return quote::quote! { #errors #item };
    };
    check::check(&model, &mut errors);
    if errors.is_empty() {
        expand::expand(&model)
    } else {
        let fallback = fallback::fallback(&model);
        let errors = errors.to_compile_errors();
        quote::quote! { #errors #fallback }
    }
}

#[cfg(test)]
mod tests;
