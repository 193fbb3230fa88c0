use std::collections::HashMap;

use moose::prelude::*;

#[data_model]
pub struct Profile {
    #[key]
    pub attributes: HashMap<String, String>,
    pub name: String,
}

fn main() {}
