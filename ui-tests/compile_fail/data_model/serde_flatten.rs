use moose::prelude::*;

#[data_model]
pub struct Address {
    pub city: String,
}

#[data_model]
pub struct User {
    pub name: String,
    #[serde(flatten)]
    pub address: Address,
}

fn main() {}
