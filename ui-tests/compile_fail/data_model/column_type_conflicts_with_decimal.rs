use moose::prelude::*;

#[data_model]
pub struct Order {
    #[moose(column_type = "Decimal(18, 4)", decimal(18, 4))]
    pub total: rust_decimal::Decimal,
}

fn main() {}
