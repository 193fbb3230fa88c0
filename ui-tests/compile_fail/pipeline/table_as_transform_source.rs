use moose::prelude::*;

#[data_model]
pub struct Click {
    #[key]
    pub id: String,
}

fn same(click: Click) -> Click {
    click
}

fn main() {
    let _app = pipeline! {
        archive: OlapTable<Click>,
        clicks: Stream<Click>,
        archive => transform(same) => clicks,
    };
}
