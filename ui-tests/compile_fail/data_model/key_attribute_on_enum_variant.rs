use moose::prelude::*;

#[data_model]
pub enum Status {
    #[key]
    Active,
    Closed,
}

fn main() {}
