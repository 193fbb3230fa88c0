//! Compile-error UI tests: what a user sees when they misuse a macro, pinned as `.stderr`.
//!
//! Regenerate with `TRYBUILD=overwrite cargo test --all-features --test ui`, then read every
//! changed `.stderr` before committing it: it is the user's experience.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    // One line per macro: `ui-tests/compile_fail/<macro>/<fault_named_like_a_sentence>.rs`.
    t.compile_fail("ui-tests/compile_fail/data_model/*.rs");
    t.compile_fail("ui-tests/compile_fail/pipeline/*.rs");
    // The builder API `pipeline!` expands to, used by hand.
    t.compile_fail("ui-tests/compile_fail/builder/*.rs");
    // What must compile, and run: each case asserts in `main`.
    t.pass("ui-tests/pass/*.rs");
}
