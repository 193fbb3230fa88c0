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
        a: Stream<Click>,
        b: Stream<Click>,
        c: Stream<Click>,
        a => transform(same) => b => transform(same) => c,
        c => transform(same) => a,
    };
}
