use moose::prelude::*;

#[data_model]
pub struct Click {
    #[key]
    pub id: String,
}

#[data_model]
pub struct Visit {
    #[key]
    pub id: String,
}

fn main() {
    let _app = pipeline! {
        clicks: Stream<Click>,
        visits: Stream<Visit>,
        clicks => transform(|click: Click, n: u32| Visit { id: format!("{}{n}", click.id) }) => visits,
    };
}
