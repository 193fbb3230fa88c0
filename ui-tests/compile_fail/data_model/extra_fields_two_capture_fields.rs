use moose::prelude::*;

#[data_model(extra_fields = "capture")]
pub struct Event {
    #[key]
    pub id: String,
    #[extra_fields]
    pub extra: serde_json::Map<String, serde_json::Value>,
    #[extra_fields]
    pub more: serde_json::Map<String, serde_json::Value>,
}

fn main() {}
