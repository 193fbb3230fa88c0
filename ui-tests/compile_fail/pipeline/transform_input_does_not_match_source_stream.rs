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

// Takes a `View`, but `clicks` carries `Click`.
fn to_visit(view: View) -> Visit {
    Visit { id: view.id }
}

fn main() {
    let _app = pipeline! {
        clicks: Stream<Click>,
        visits: Stream<Visit>,
        clicks => transform(to_visit) => visits,
    };
}
