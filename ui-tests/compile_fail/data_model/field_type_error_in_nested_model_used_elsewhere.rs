use moose::prelude::*;

// One bad field type: reported once at the field, not again where the model is used.
#[data_model]
pub struct Address {
    pub city: String,
    pub since: std::time::Duration,
}

#[data_model]
pub struct User {
    pub name: String,
    pub address: Address,
}

fn main() {}
