use moose::prelude::*;

#[data_model]
pub struct Page {
    #[moose(low_cardinality, low_cardinality)]
    pub country: String,
}

fn main() {}
