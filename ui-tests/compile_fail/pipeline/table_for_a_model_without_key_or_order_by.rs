use moose::prelude::*;

#[data_model]
pub struct Click {
    pub id: String,
    pub at: u64,
}

fn main() {
    let _app = pipeline! {
        clicks: IngestPipeline<Click> { ingest: true, stream: true, table: true },
    };
}
