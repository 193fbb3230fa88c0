use moose::prelude::*;

#[data_model]
pub union Bits {
    int: u32,
    float: f32,
}

fn main() {}
