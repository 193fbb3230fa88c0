use moose::prelude::*;

#[data_model]
pub struct Order {
    pub id: u64,
    pub total: rust_decimal::Decimal,
}

fn main() {}
