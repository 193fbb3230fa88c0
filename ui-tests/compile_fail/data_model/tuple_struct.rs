use moose::prelude::*;

#[data_model]
pub struct Point(f64, f64);

fn main() {}
