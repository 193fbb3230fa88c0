use moose::prelude::*;

#[data_model]
pub struct Post {
    pub id: u64,
    pub tags: Option<Vec<String>>,
}

fn main() {}
