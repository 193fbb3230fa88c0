use moose::prelude::*;

#[data_model]
pub struct Request {
    pub path: String,
    pub latency: std::time::Duration,
}

fn main() {}
