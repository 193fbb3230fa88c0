use moose::prelude::*;

#[data_model(extra_fields = "capture")]
pub struct Event {
    #[key]
    pub id: String,
    #[extra_fields]
    pub extra: Vec<String>,
}

fn main() {}
