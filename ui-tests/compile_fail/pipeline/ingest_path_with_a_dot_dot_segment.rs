use moose::prelude::*;

#[data_model]
pub struct Click {
    #[key]
    pub id: String,
}

fn main() {
    let _app = pipeline! {
        clicks: IngestPipeline<Click> { ingest: true, stream: true, table: false, path: "v2/../clicks" },
    };
}
