use moose::prelude::*;

#[data_model]
pub struct Page {
    #[key]
    #[key]
    pub id: u64,
}

fn main() {}
