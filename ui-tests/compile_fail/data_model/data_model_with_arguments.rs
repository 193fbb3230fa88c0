use moose::prelude::*;

#[data_model(table = "users")]
pub struct User {
    pub id: u64,
}

fn main() {}
