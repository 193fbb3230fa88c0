use moose::prelude::*;

#[data_model]
pub struct Order {
    #[moose(decimal(4, 6))]
    pub total: rust_decimal::Decimal,
}

fn main() {}
