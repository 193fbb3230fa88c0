use moose::prelude::*;

#[data_model]
pub struct Scratch {
    #[serde(skip)]
    pub cache: u64,
    #[serde(skip)]
    pub dirty: bool,
}

fn main() {}
