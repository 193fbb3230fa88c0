use moose::prelude::*;

#[data_model]
pub struct Tick {
    #[moose(precision = 12)]
    pub at: chrono::DateTime<chrono::Utc>,
}

fn main() {}
