use moose::prelude::*;

#[data_model(crate = "::mose")]
pub struct Reading {
    #[key]
    pub sensor: String,
    pub at: std::time::SystemTime,
}

fn main() {}
