use moose::prelude::*;

#[data_model]
pub struct Click {
    #[key]
    pub id: String,
}

#[data_model]
pub struct View {
    #[key]
    pub id: String,
}

#[data_model]
pub struct Visit {
    #[key]
    pub id: String,
}

// Returns a `View`, but `visits` carries `Visit`.
fn to_view(click: Click) -> View {
    View { id: click.id }
}

fn main() {
    let _app = pipeline! {
        clicks: Stream<Click>,
        visits: Stream<Visit>,
        clicks => transform(to_view) => visits,
    };
}
