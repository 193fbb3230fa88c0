use moose::prelude::*;

#[data_model]
pub struct Order {
    #[moose(decimal(18, 4))]
    pub cents: u64,
}

fn main() {}
