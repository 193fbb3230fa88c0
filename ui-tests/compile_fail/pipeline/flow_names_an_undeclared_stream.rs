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
        clicks: Stream<Click>,
        clean_clicks: Stream<Click>,
        clicks => transform(same) => clean_click,
    };
}
