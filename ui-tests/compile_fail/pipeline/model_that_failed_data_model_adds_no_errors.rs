use moose::prelude::*;

// The only error is the one `#[data_model]` reports on the field: the pipeline using the
// model (table checks, transforms and all) adds nothing.
#[data_model]
pub struct Click {
    #[key]
    pub id: String,
    #[moose(lowcardinality)]
    pub country: String,
}

#[data_model]
pub struct Visit {
    #[key]
    pub id: String,
}

fn to_visit(click: Click) -> Visit {
    Visit { id: click.id }
}

fn main() {
    let _app = pipeline! {
        clicks: IngestPipeline<Click> { ingest: true, stream: true, table: true, order_by: [id, country] },
        visits: Stream<Visit>,
        clicks => transform(to_visit) => visits,
    };
}
