//! `pipeline! { ... }`: parse -> check -> expand into `moose::App` builder calls.

mod ast;
mod check;
mod expand;
mod parse;

use proc_macro2::TokenStream;

use crate::diagnostics::Errors;

pub fn expand(input: TokenStream) -> TokenStream {
    let pipeline: ast::Pipeline = match syn::parse2(input) {
        Ok(p) => p,
        Err(e) => {
            let e = e.to_compile_error();
            return quote::quote! {{ #e ::moose::__private::graph::App::new() }};
        }
    };
    let mut errors = Errors::default();
    let checked = check::check(&pipeline, &mut errors);
    if errors.is_empty() {
        expand::expand(&checked)
    } else {
        // Still an `App`, so the code around the macro type-checks and only our errors show.
        let errors = errors.to_compile_errors();
        quote::quote! {{ #errors ::moose::__private::graph::App::new() }}
    }
}
