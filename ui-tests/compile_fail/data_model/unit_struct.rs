use moose::prelude::*;

#[data_model]
pub struct Heartbeat;

fn main() {}
