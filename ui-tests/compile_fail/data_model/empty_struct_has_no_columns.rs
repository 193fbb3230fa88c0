use moose::prelude::*;

#[data_model]
pub struct Nothing {}

fn main() {}
