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
        clicks: Stream<Click> { destination: visits_table },
        visits_table: OlapTable<Visit>,
    };
}
