use moose::prelude::*;

pub struct Address {
    pub city: String,
}

#[data_model]
pub struct User {
    pub name: String,
    pub address: Address,
}

fn main() {}
