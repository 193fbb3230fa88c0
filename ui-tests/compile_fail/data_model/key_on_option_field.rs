use moose::prelude::*;

#[data_model]
pub struct Session {
    #[key]
    pub user_id: Option<u64>,
    pub started: u64,
}

fn main() {}
