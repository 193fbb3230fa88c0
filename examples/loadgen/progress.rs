//! Progress bars while records are sent and while rows arrive: drawn on stderr when it is a
//! terminal, nothing otherwise (indicatif hides them), so the tables on stdout stay clean.

use indicatif::{ProgressBar, ProgressStyle};

/// A bar of `total` records named `what`, with rate and ETA.
pub fn bar(what: &str, total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:>28} [{bar:30}] {human_pos}/{human_len} {per_sec} eta {eta}",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    bar.set_prefix(what.to_owned());
    bar
}
