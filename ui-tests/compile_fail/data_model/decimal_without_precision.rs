use moose::prelude::*;

#[data_model]
pub struct Order {
    #[moose(decimal)]
    pub total: rust_decimal::Decimal,
}

fn main() {}
