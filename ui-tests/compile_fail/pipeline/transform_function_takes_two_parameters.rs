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

fn to_visit(click: Click, _previous: Visit) -> Visit {
    Visit { id: click.id }
}

fn main() {
    let _app = pipeline! {
        clicks: Stream<Click>,
        visits: Stream<Visit>,
        clicks => transform(to_visit) => visits,
    };
}
