use moose::prelude::*;

#[data_model(crate = "moose-runtime")]
pub struct Reading {
    #[key]
    pub sensor: String,
    pub value: f64,
}

fn main() {
    // The struct is still there after the error.
    let _ = Reading::COLUMN_NAMES;
}
