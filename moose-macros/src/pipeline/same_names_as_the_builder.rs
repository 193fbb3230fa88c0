//! `pipeline!` refuses exactly the names the builder refuses (for names Rust can write as an
//! identifier at all), so a pipeline that compiles never meets a refusal at run time.

use moose_runtime::graph::{App, DeadLetter, IngestPipelineConfig, OlapConfig, StreamConfig};
use proptest::prelude::*;
use quote::quote;

/// `name` as an identifier token, raw (`r#type`) where it is a keyword, or `None` where Rust
/// cannot write it as one (`2fast`, `café-bar`, `self`).
fn identifier(name: &str) -> Option<syn::Ident> {
    use syn::ext::IdentExt;
    syn::parse_str::<syn::Ident>(name)
        .or_else(|_| syn::parse_str::<syn::Ident>(&format!("r#{name}")))
        .ok()
        // The parser skips white space and comments around the identifier.
        .filter(|ident| ident.unraw() == name)
}

/// Whether `pipeline!` accepts `declaration` (no `compile_error!` in its expansion).
fn macro_accepts(declaration: proc_macro2::TokenStream) -> bool {
    !super::expand(declaration)
        .to_string()
        .contains("compile_error")
}

fn builder_accepts_stream(name: &str) -> bool {
    App::new()
        .stream::<DeadLetter>(name, StreamConfig::default())
        .is_ok()
}

fn with_dead_letter_queue() -> IngestPipelineConfig {
    IngestPipelineConfig::new()
        .stream(true)
        .table(true)
        .dead_letter_queue(true)
}

/// Names around every rule: identifier-like ASCII across the length limit (200), a leading
/// digit, non-ASCII letters and punctuation, keywords, and anything at all.
fn names() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z_][A-Za-z0-9_]{0,215}",
        "[A-Za-z_0-9éßж\\-. ]{0,12}",
        Just("type".to_owned()),
        Just("_".to_owned()),
        any::<String>(),
    ]
}

proptest! {
    #[test]
    fn a_stream_name_is_accepted_by_both_or_neither(name in names()) {
        let Some(ident) = identifier(&name) else {
            // The builder alone can be given it; the macro never sees it.
            return Ok(());
        };
        prop_assert_eq!(
            macro_accepts(quote!(#ident: Stream<M>,)),
            builder_accepts_stream(&name),
            "{}", name
        );
    }

    #[test]
    fn a_pipeline_with_a_dead_letter_queue_is_accepted_by_both_or_neither(name in names()) {
        let Some(ident) = identifier(&name) else {
            return Ok(());
        };
        let builder = App::new()
            .ingest_pipeline::<DeadLetter>(&name, with_dead_letter_queue())
            .is_ok();
        let declaration = quote! {
            #ident: IngestPipeline<M> { stream: true, table: true, dead_letter_queue: true },
        };
        prop_assert_eq!(macro_accepts(declaration), builder, "{}", name);
    }

    /// The builder never panics on a name, and an ingest pipeline it refuses leaves nothing
    /// behind.
    #[test]
    fn the_builder_refuses_any_string_without_panicking(name in names()) {
        let app = App::new();
        let valid = moose_names::name_problem(&name).is_none();
        prop_assert_eq!(app.stream::<DeadLetter>(&name, StreamConfig::default()).is_ok(), valid);
        let table = OlapConfig::default().order_by_fields(["source_stream"]);
        prop_assert_eq!(app.table::<DeadLetter>(&name, table).is_ok(), valid);
        let before = app.describe();
        let pipeline = app.ingest_pipeline::<DeadLetter>(
            &format!("{name}_pipeline"),
            with_dead_letter_queue().ingest(true),
        );
        if pipeline.is_err() {
            prop_assert_eq!(app.describe(), before);
        }
    }
}

#[test]
fn the_two_agree_at_the_edges() {
    let longest = "a".repeat(moose_names::MAX_NAME_LEN);
    for name in [
        "type",
        "_x",
        "café",
        "ok_2",
        &longest,
        &format!("{longest}b"),
    ] {
        let ident = identifier(name).expect("an identifier");
        assert_eq!(
            macro_accepts(quote!(#ident: Stream<M>,)),
            builder_accepts_stream(name),
            "{name}"
        );
    }
    // Longest name whose dead-letter queue `<name>_dead_letter` still fits.
    let fits = "a".repeat(moose_names::MAX_NAME_LEN - moose_names::DEAD_LETTER_SUFFIX.len());
    for name in [fits.clone(), format!("{fits}b")] {
        let ident = identifier(&name).expect("an identifier");
        let builder = App::new()
            .ingest_pipeline::<DeadLetter>(&name, with_dead_letter_queue())
            .is_ok();
        let declaration = quote! {
            #ident: IngestPipeline<M> { stream: true, table: true, dead_letter_queue: true },
        };
        assert_eq!(macro_accepts(declaration), builder, "{name}");
    }
    assert_eq!(
        moose_runtime::graph::DEAD_LETTER_SUFFIX,
        moose_names::DEAD_LETTER_SUFFIX,
        "the runtime names its dead-letter queues by the shared rule"
    );
}
