use moose::prelude::*;

#[data_model]
pub struct Click {
    #[key]
    pub id: String,
}

fn check(click: Click) -> Result<Click, String> {
    Ok(click)
}

fn main() {
    let _app = pipeline! {
        raw: Stream<Click>,
        clean: Stream<Click>,
        failed: OlapTable<Click>,
        raw => transform(check, dead_letter_queue: failed) => clean,
    };
}
