// Every declaration and transform option the macro accepts, and where each one lands.
use moose::prelude::*;

#[data_model]
pub struct Event {
    #[key]
    pub id: String,
    pub revision: u64,
    pub day: chrono::NaiveDate,
    pub at: chrono::DateTime<chrono::Utc>,
}

#[data_model]
pub struct Failed {
    pub message: String,
}

fn keep(e: Event) -> Result<Event, String> {
    Ok(e)
}

fn main() {
    let app = pipeline! {
        events: IngestPipeline<Event> {
            ingest: true,
            stream: true,
            table: true,
            version: "1.2",
            path: "v1/events",
            dead_letter_queue: true,
            parallelism: 4,
            retention: 86400,
            life_cycle: DeletionProtected,
            order_by: [id, revision],
            partition_by: day,
            primary_key: "id",
            engine: ReplacingMergeTree(revision),
            ttl: "at + INTERVAL 30 DAY",
        },
        cleaned: Stream<Event> {
            parallelism: 2,
            retention: 3600,
            life_cycle: ExternallyManaged,
            version: "2",
            destination: cleaned_table,
        },
        cleaned_table: OlapTable<Event> {
            order_by: "toStartOfHour(at), id",
            partition_by: "toYYYYMM(day)",
            engine: MergeTree,
            life_cycle: FullyManaged,
            version: "2",
        },
        failures: Stream<Failed>,
        events => transform(keep, version: "3", dead_letter_queue: failures) => cleaned,
    };

    let description = app.describe();
    let stream = |name: &str| {
        description
            .streams
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("stream `{name}` is declared"))
    };
    let events = stream("events");
    assert_eq!(
        (events.name.as_str(), events.topic.as_str()),
        ("events", "events_1_2")
    );
    assert_eq!((events.parallelism, events.retention_secs), (4, 86400));
    assert_eq!(events.life_cycle, LifeCycle::DeletionProtected);
    assert_eq!(events.destination.as_deref(), Some("events"));
    let cleaned = stream("cleaned");
    assert_eq!((cleaned.parallelism, cleaned.retention_secs), (2, 3600));
    assert_eq!(cleaned.life_cycle, LifeCycle::ExternallyManaged);
    assert_eq!(cleaned.topic, "cleaned_2");
    assert_eq!(cleaned.destination.as_deref(), Some("cleaned_table"));
    assert_eq!(description.ingest_apis[0].path, "/ingest/v1/events");

    let transform = &description.transforms[0];
    assert_eq!(
        (transform.from.as_str(), transform.to.as_str()),
        ("events", "cleaned")
    );
    assert_eq!(transform.version.as_deref(), Some("3"));
    assert_eq!(transform.dead_letter_queue.as_deref(), Some("failures"));

    let graph = app.graph();
    let table_named = |name: &str| {
        graph
            .tables
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("table `{name}` is declared"))
    };
    let events_table = table_named("events");
    assert_eq!(events_table.config.life_cycle, LifeCycle::DeletionProtected);
    assert_eq!(events_table.versioned, "events_1_2");
    let table = &events_table.config;
    assert_eq!(
        table.order_by,
        OrderBy::Fields(vec!["id".to_owned(), "revision".to_owned()])
    );
    assert_eq!(table.partition_by.as_deref(), Some("day"));
    assert_eq!(table.primary_key.as_deref(), Some("id"));
    assert_eq!(
        table.engine,
        Engine::ReplacingMergeTree {
            version: Some("revision".to_owned())
        }
    );
    assert_eq!(table.ttl.as_deref(), Some("at + INTERVAL 30 DAY"));
    assert_eq!(table_named("cleaned_table").versioned, "cleaned_table_2");
    let table = &table_named("cleaned_table").config;
    assert_eq!(
        table.order_by,
        OrderBy::Expr("toStartOfHour(at), id".to_owned())
    );
    assert_eq!(table.partition_by.as_deref(), Some("toYYYYMM(day)"));
    assert_eq!(table.engine, Engine::MergeTree);
}
