use moose::prelude::*;

#[data_model]
pub struct Order {
    #[key]
    pub id: String,
}

// Rust takes `café` as an identifier, but it becomes a topic, a table and a URL segment.
fn main() {
    let _app = pipeline! {
        café: Stream<Order>,
    };
}
