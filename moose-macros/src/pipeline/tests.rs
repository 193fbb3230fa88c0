//! What `pipeline!` reports, read from its expansion (the `compile_error!` messages), and what
//! it still expands next to them.

use quote::quote;

/// The `compile_error!` messages of `pipeline! { input }`, in order.
fn expand(input: proc_macro2::TokenStream) -> Vec<String> {
    let mut messages = Vec::new();
    collect(&super::expand(input), &mut messages);
    messages
}

fn collect(tokens: &proc_macro2::TokenStream, messages: &mut Vec<String>) {
    let trees: Vec<_> = tokens.clone().into_iter().collect();
    for (i, tree) in trees.iter().enumerate() {
        if let proc_macro2::TokenTree::Ident(ident) = tree
            && ident == "compile_error"
            && let Some(proc_macro2::TokenTree::Group(group)) = trees.get(i + 2)
        {
            let literal: syn::LitStr = syn::parse2(group.stream()).expect("a message");
            messages.push(literal.value());
        } else if let proc_macro2::TokenTree::Group(group) = tree {
            collect(&group.stream(), messages);
        }
    }
}

#[test]
fn a_valid_pipeline_has_no_errors() {
    let messages = expand(quote! {
        raw: IngestPipeline<Raw> { ingest: true, stream: true },
        clean: Stream<Clean> { parallelism: 2, destination: archive },
        archive: OlapTable<Clean> { order_by: [id] },
        raw => transform(clean_up) => clean => consume(log),
    });
    assert_eq!(messages, Vec::<String>::new());
}

#[test]
fn every_mistake_is_reported_in_one_expansion() {
    let messages = expand(quote! {
        clicks: Steam<Click>,
        visits: Stream<Visit> { paralelism: 2, life_cycle: Forever },
        clicks => transform(f) => visit,
        visits => transfrom(f) => clicks,
    });
    assert_eq!(
        messages,
        [
            "unknown pipeline item `Steam`; did you mean `Stream`?",
            "unknown flow step `transfrom`; did you mean `transform`?",
            "unknown `Stream` option `paralelism`; did you mean `parallelism`?",
            "unknown `life_cycle` `Forever`; use FullyManaged, DeletionProtected or ExternallyManaged",
            "`visit` is not declared in this `pipeline!`; did you mean `visits`?",
        ]
    );
}

#[test]
fn a_misspelled_kind_still_declares_its_name() {
    // `clicks` is used by a flow: no "not declared", no "has no stream".
    let messages = expand(quote! {
        clicks: Steam<Click> { parallelism: 2 },
        visits: Stream<Visit>,
        clicks => transform(f) => visits,
    });
    assert_eq!(
        messages,
        ["unknown pipeline item `Steam`; did you mean `Stream`?"]
    );
}

#[test]
fn a_cycle_is_reported_with_its_path() {
    let messages = expand(quote! {
        a: Stream<M>, b: Stream<M>,
        a => transform(f) => b => transform(f) => a,
    });
    assert_eq!(
        messages,
        [
            "this transform closes a cycle (b => a => b); records would loop forever, so pipelines must be acyclic"
        ]
    );
}

#[test]
fn what_checked_fine_is_still_expanded_next_to_errors() {
    let expansion = super::expand(quote! {
        a: Stream<A>, b: Stream<B> { paralelism: 2 },
        a => transform(f) => b,
    })
    .to_string();
    assert!(expansion.contains("compile_error"));
    // The transform's signature is still checked by rustc in the same compile: the builder
    // call that takes the function is there.
    assert!(expansion.contains("add_transform_with"), "{expansion}");
}

#[test]
fn a_dead_letter_queue_takes_no_declared_name_whatever_the_order() {
    let messages = expand(quote! {
        events_dead_letter: OlapTable<Event>,
        events: IngestPipeline<Event> { stream: true, table: true, dead_letter_queue: true },
        events => consume(f),
    });
    assert_eq!(
        messages,
        [
            "`events_dead_letter` is the name of the dead-letter queue of ingest pipeline `events` (`dead_letter_queue: true`); give this table another name"
        ]
    );
    // Without a dead-letter queue the name is free.
    let messages = expand(quote! {
        events_dead_letter: OlapTable<Event>,
        events: IngestPipeline<Event> { stream: true, table: true },
    });
    assert_eq!(messages, Vec::<String>::new());
}

#[test]
fn a_dead_letter_queue_name_follows_the_name_rules_too() {
    // 190 characters fit; with `_dead_letter`, 202 do not.
    let name = syn::Ident::new(&"e".repeat(190), proc_macro2::Span::call_site());
    let messages = expand(quote! {
        #name: IngestPipeline<Event> { stream: true, dead_letter_queue: true },
    });
    assert_eq!(
        messages,
        [
            "ingest pipeline `eeeeeeeeeeeeeeeeeeeeeeee…` has `dead_letter_queue: true`, and the name of its dead-letter queue, `eeeeeeeeeeeeeeeeeeeeeeee…`, cannot be a name: it is longer than 200 characters (202); shorten the pipeline's name to at most 188 characters"
        ]
    );
}

#[test]
fn a_raw_identifier_names_what_it_spells() {
    let messages = expand(quote! {
        r#type: Stream<Event>,
        r#match: OlapTable<Event> { order_by: [r#id] },
        r#type => consume(f),
    });
    assert_eq!(messages, Vec::<String>::new());
    let expansion = super::expand(quote!(r#type: Stream<Event>,)).to_string();
    assert!(expansion.contains("\"type\""), "{expansion}");
}
