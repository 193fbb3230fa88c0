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

async fn enrich(click: Click) -> Click {
    click
}

fn main() {
    let _app = pipeline! {
        clicks: Stream<Click>,
        visits: Stream<Visit>,
        clicks => transform(enrich) => visits,
    };
}
