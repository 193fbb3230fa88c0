use moose::prelude::*;

#[data_model]
pub struct Click {
    #[key]
    pub id: String,
}

fn count(click: Click) -> usize {
    click.id.len()
}

fn main() {
    let _app = pipeline! {
        clicks: Stream<Click>,
        clicks => consume(count),
    };
}
