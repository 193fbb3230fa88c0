use moose::prelude::*;

#[data_model]
pub struct Click {
    #[key]
    pub id: String,
}

fn same(click: Click) -> Click {
    click
}

fn main() {
    let _app = pipeline! {
        clicks: IngestPipeline<Clik> { ingest: true, stream: true, table: true },
        copies: Stream<Click>,
        clicks => transform(same) => copies,
    };
}
