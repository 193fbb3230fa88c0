use moose::prelude::*;

#[data_model]
pub enum Event {
    Click,
    Purchase { amount: u64 },
}

fn main() {}
