use moose::prelude::*;

#[data_model]
pub struct User {
    pub user_id: u64,
    #[serde(rename = "user_id")]
    pub legacy_id: u64,
}

fn main() {}
