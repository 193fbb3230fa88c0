use moose::prelude::*;

pub struct Click {
    pub id: String,
}

fn main() {
    let _app = pipeline! {
        clicks: Stream<Click>,
    };
}
