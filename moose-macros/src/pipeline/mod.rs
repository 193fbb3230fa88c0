//! `pipeline! { ... }`: parse -> check -> expand into `moose::App` builder calls.

mod ast;
mod check;
mod expand;
mod names;
mod parse;
#[cfg(test)]
mod same_names_as_the_builder;
#[cfg(test)]
mod tests;

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
    // With errors, the parts that checked fine are still expanded (and never run): the code
    // around the macro sees an `App`, and rustc reports type mistakes in the same compile.
    let errors = errors.to_compile_errors();
    let expansion = expand::expand(&checked);
    quote::quote! {{ #errors #expansion }}
}
