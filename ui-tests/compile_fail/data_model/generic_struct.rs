use moose::prelude::*;

#[data_model]
pub struct Envelope<T> {
    pub id: u64,
    pub payload: T,
}

fn main() {}
