use moose::prelude::*;

// The only error is the one `#[data_model]` reports on the field type.
#[data_model]
pub struct Click {
    #[key]
    pub id: String,
    pub latency: std::time::Duration,
}

fn same(click: Click) -> Click {
    click
}

fn main() {
    let _app = pipeline! {
        clicks: IngestPipeline<Click> { ingest: true, stream: true, table: true, order_by: [id] },
        copies: Stream<Click>,
        clicks => transform(same) => copies,
    };
}
