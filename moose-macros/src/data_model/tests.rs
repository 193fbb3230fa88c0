//! What `#[data_model]` reports, and the paths its expansion names.

use proc_macro2::TokenStream;
use quote::quote;

use crate::diagnostics::Errors;

/// The messages of `#[data_model(args)] input`, in order.
fn messages(args: TokenStream, input: TokenStream) -> Vec<String> {
    let mut errors = Errors::default();
    if let Some(model) = super::parse::parse(args, input, &mut errors) {
        super::check::check(&model, &mut errors);
    }
    errors.messages()
}

/// The expansion of `#[data_model(args)] input`, as text.
fn expansion(args: TokenStream, input: TokenStream) -> String {
    super::expand(args, input).to_string()
}

fn reading() -> TokenStream {
    quote! {
        pub struct Reading {
            #[key]
            pub sensor: String,
            pub at: std::time::SystemTime,
            #[moose(precision = 6)]
            pub seen: Option<SystemTime>,
        }
    }
}

#[test]
fn paths_start_at_moose_by_default() {
    let text = expansion(quote!(), reading());
    assert!(text.contains("impl :: moose :: __private :: schema :: DataModel for Reading"));
    assert!(text.contains(r#"serde (crate = ":: moose :: __private :: serde")"#));
}

#[test]
fn crate_moves_every_path() {
    let text = expansion(quote!(crate = "crate"), reading());
    assert!(!text.contains(":: moose"), "{text}");
    assert!(text.contains("impl crate :: __private :: schema :: DataModel for Reading"));
    assert!(text.contains(r#"serde (crate = "crate :: __private :: serde")"#));
    // The timestamp helpers too, with the digits the column stores.
    assert!(text.contains(
        r#"serde (with = "crate :: __private :: timestamp :: Rfc3339 :: < { crate :: __private :: schema :: DEFAULT_TIMESTAMP_PRECISION } >")"#
    ), "{text}");
    assert!(text.contains(
        r#"serde (with = "crate :: __private :: timestamp :: OptionRfc3339 :: < 6u8 >")] # [serde (default)]"#
    ), "{text}");

    let text = expansion(quote!(crate = "::moose_runtime"), reading());
    assert!(text.contains("impl :: moose_runtime :: __private :: schema :: ColumnValue"));
}

#[test]
fn bad_arguments_are_all_reported() {
    assert_eq!(
        messages(
            quote!(
                crate = "not a path!",
                krate = "x",
                table = "users",
                crate = ::moose_runtime
            ),
            reading()
        ),
        [
            r#"`crate = "not a path!"` is not a path: write the path of the crate that re-exports moose, such as `crate = "::moose"` or, inside that crate, `crate = "crate"`"#,
            r#"unknown `#[data_model]` argument `krate`; did you mean `crate`?; the arguments are `crate = "..."` and `extra_fields = "ignore" | "deny" | "capture"`, and table and stream settings go in `pipeline!` or on `OlapTable`/`Stream`"#,
            r#"unknown `#[data_model]` argument `table`; the arguments are `crate = "..."` and `extra_fields = "ignore" | "deny" | "capture"`, and table and stream settings go in `pipeline!` or on `OlapTable`/`Stream`"#,
            r#"`crate` takes the path as a string, as serde's does: `crate = "::moose_runtime"`"#,
        ]
    );
    assert_eq!(
        messages(quote!(crate = "crate", crate = "::moose"), reading()),
        ["duplicate `crate` argument; remove one"]
    );
    assert_eq!(
        messages(quote!(crate), reading()),
        [r#"`crate` needs a value: `#[data_model(crate = "::moose")]`"#]
    );
}

#[test]
fn a_serde_with_of_the_user_s_own_is_kept() {
    let text = expansion(
        quote!(),
        quote! {
            pub struct Reading {
                #[serde(with = "my_format")]
                pub at: SystemTime,
                #[serde(rename = "with_zone")]
                pub zoned: time::OffsetDateTime,
            }
        },
    );
    // Only the second field gets moose's timestamp form: a name that merely contains "with"
    // is no `with`.
    assert_eq!(text.matches("timestamp :: Rfc3339").count(), 1, "{text}");
}
