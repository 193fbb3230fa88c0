use moose::prelude::*;
use serde::Serialize;

#[data_model]
#[derive(Debug, Serialize)]
pub struct Click {
    pub url: String,
}

fn main() {}
