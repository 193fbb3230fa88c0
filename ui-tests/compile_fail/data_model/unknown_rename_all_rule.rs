use moose::prelude::*;

#[data_model]
#[serde(rename_all = "camelcase")]
pub struct User {
    pub user_id: u64,
}

fn main() {}
