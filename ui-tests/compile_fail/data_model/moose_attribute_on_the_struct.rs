use moose::prelude::*;

#[data_model]
#[moose(low_cardinality)]
pub struct Page {
    pub country: String,
}

fn main() {}
