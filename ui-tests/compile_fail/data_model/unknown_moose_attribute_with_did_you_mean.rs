use moose::prelude::*;

#[data_model]
pub struct Page {
    #[moose(lowcardinality)]
    pub country: String,
}

fn main() {}
