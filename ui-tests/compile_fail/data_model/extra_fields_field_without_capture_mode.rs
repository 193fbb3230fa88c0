use moose::prelude::*;

#[data_model]
pub struct Event {
    #[key]
    pub id: String,
    #[extra_fields]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

fn main() {}
