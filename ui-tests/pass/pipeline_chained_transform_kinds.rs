// Every kind of transform return value in one chain, ending in a consumer.
use moose::prelude::*;

#[data_model]
pub struct Raw {
    #[key]
    pub id: String,
    pub value: f64,
}

#[data_model]
pub struct Doubled {
    #[key]
    pub id: String,
    pub value: f64,
}

#[data_model]
pub struct Kept {
    #[key]
    pub id: String,
    pub value: f64,
}

#[data_model]
pub struct Split {
    #[key]
    pub id: String,
    pub part: u8,
}

#[data_model]
pub struct Checked {
    #[key]
    pub id: String,
    pub part: u8,
}

#[data_model]
pub struct Enriched {
    #[key]
    pub id: String,
    pub label: String,
}

// Map.
fn double(r: Raw) -> Doubled {
    Doubled {
        id: r.id,
        value: r.value * 2.0,
    }
}

// Filter.
fn keep_positive(r: Doubled) -> Option<Kept> {
    (r.value > 0.0).then(|| Kept {
        id: r.id,
        value: r.value,
    })
}

// Flat-map.
fn split(r: Kept) -> Vec<Split> {
    (0..2)
        .map(|part| Split {
            id: r.id.clone(),
            part,
        })
        .collect()
}

// Errors go to the dead-letter queue.
fn check(r: Split) -> Result<Checked, String> {
    if r.id.is_empty() {
        Err("empty id".to_owned())
    } else {
        Ok(Checked {
            id: r.id,
            part: r.part,
        })
    }
}

// Async.
async fn enrich(r: Checked) -> Enriched {
    Enriched {
        label: format!("{}#{}", r.id, r.part),
        id: r.id,
    }
}

fn print(r: Enriched) {
    println!("{}", r.label);
}

fn main() {
    let app = pipeline! {
        raw: IngestPipeline<Raw> { ingest: true, stream: true, table: false },
        doubled: Stream<Doubled>,
        kept: Stream<Kept>,
        split_stream: Stream<Split>,
        checked: Stream<Checked>,
        enriched: IngestPipeline<Enriched> { stream: true, table: true },
        raw => transform(double) => doubled => transform(keep_positive) => kept
            => transform(split) => split_stream => transform(check) => checked
            => transform(enrich) => enriched => consume(print),
        // Closures work too, their parameter's type inferred from the stream.
        raw => transform(|r| Doubled { id: r.id, value: r.value }, version: "2") => doubled,
        checked => consume(|r| -> Result<(), String> { println!("{}", r.id); Ok(()) }),
    };
    let description = app.describe();
    let edges: Vec<(&str, &str)> = description
        .transforms
        .iter()
        .map(|t| (t.from.as_str(), t.to.as_str()))
        .collect();
    assert_eq!(
        edges,
        [
            ("raw", "doubled"),
            ("doubled", "kept"),
            ("kept", "split_stream"),
            ("split_stream", "checked"),
            ("checked", "enriched"),
            ("raw", "doubled"),
        ]
    );
    assert_eq!(description.transforms[5].version.as_deref(), Some("2"));
    let consumed: Vec<&str> = description
        .consumers
        .iter()
        .map(|c| c.stream.as_str())
        .collect();
    assert_eq!(consumed, ["enriched", "checked"]);
    assert_eq!(description.ingest_apis.len(), 1);
    assert_eq!(description.tables.len(), 1);
    assert_eq!(description.tables[0].name, "enriched");
}
