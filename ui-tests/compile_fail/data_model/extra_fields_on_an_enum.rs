use moose::prelude::*;

#[data_model(extra_fields = "deny")]
pub enum Status {
    Open,
    Closed,
}

fn main() {}
