//! The naming rules `pipeline!` shares with the builder (`moose_names`), checked on the
//! user's identifiers: what the builder would refuse at run time is refused here, spanned.

use std::collections::HashMap;

use syn::ext::IdentExt;
use syn::{Ident, LitStr};

use super::ast::DeclKind;
use super::check::CheckedDecl;
use crate::diagnostics::Errors;

/// The name `ident` stands for: the identifier without `r#`, as the builder gets it.
pub fn name_of(ident: &Ident) -> String {
    ident.unraw().to_string()
}

/// A version follows the builder's rule (`moose_names::version_problem`).
pub fn check_version(version: &LitStr, errors: &mut Errors) {
    if let Some(reason) = moose_names::version_problem(&version.value()) {
        errors.spanned(version, reason);
    }
}

/// Names follow the builder's rule (`moose_names::name_problem`): a name is a topic, table
/// and URL segment as it is, so an identifier Rust accepts (`café`, one of 300 letters) may
/// still be refused. An ingest pipeline's dead-letter queue `<name>_dead_letter` follows it
/// too, and takes no declared name.
pub fn check_names(decls: &[CheckedDecl<'_>], names: &HashMap<String, usize>, errors: &mut Errors) {
    for d in decls {
        let Some(kind) = d.kind else {
            continue;
        };
        let name = &d.name;
        if let Some(reason) = moose_names::name_problem(name) {
            let message = if name.len() > moose_names::MAX_NAME_LEN {
                format!(
                    "{} cannot be the name of {}: {reason} ({}); shorten it",
                    shown(name),
                    kind.described(),
                    name.len()
                )
            } else {
                format!(
                    "`{name}` cannot be the name of {}: {reason}; rename it",
                    kind.described()
                )
            };
            errors.spanned(&d.decl.name, message);
            continue;
        }
        if kind != DeclKind::IngestPipeline || !d.dead_letter_queue {
            continue;
        }
        let queue = moose_names::dead_letter_queue_name(name);
        if let Some(reason) = moose_names::name_problem(&queue) {
            errors.spanned(
                &d.decl.name,
                format!(
                    "ingest pipeline {} has `dead_letter_queue: true`, and the name of its dead-letter queue, {}, cannot be a name: {reason} ({}); shorten the pipeline's name to at most {} characters",
                    shown(name),
                    shown(&queue),
                    queue.len(),
                    moose_names::MAX_NAME_LEN - moose_names::DEAD_LETTER_SUFFIX.len()
                ),
            );
        } else if let Some(&taken) = names.get(&queue) {
            let other = &decls[taken];
            let what = other.kind.map_or("item", DeclKind::described_bare);
            errors.spanned(
                &other.decl.name,
                format!(
                    "`{queue}` is the name of the dead-letter queue of ingest pipeline `{name}` (`dead_letter_queue: true`); give this {what} another name"
                ),
            );
        }
    }
}

/// `name` in backticks for a message, its start only when it is long.
fn shown(name: &str) -> String {
    const SHOWN: usize = 24;
    if name.chars().count() > SHOWN + 8 {
        let start: String = name.chars().take(SHOWN).collect();
        format!("`{start}…`")
    } else {
        format!("`{name}`")
    }
}
