use moose::prelude::*;

#[data_model(extra_fields = "capture")]
pub struct Event {
    #[key]
    pub id: String,
    #[extra_fields]
    #[key]
    #[moose(codec = "ZSTD(3)")]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

fn main() {}
