use moose::prelude::*;

#[data_model]
pub struct Click {
    #[key]
    pub id: String,
}

fn main() {
    let _app = pipeline! {
        clicks: Stream<Click> { order_by: [id] },
    };
}
