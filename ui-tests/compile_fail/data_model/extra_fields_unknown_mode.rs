use moose::prelude::*;

#[data_model(extra_fields = "deni")]
pub struct Event {
    #[key]
    pub id: String,
}

fn main() {}
