use moose::prelude::*;

#[data_model]
pub struct Event {
    #[key]
    pub id: String,
}

// `events` with `dead_letter_queue: true` has a queue `events_dead_letter` of its own.
fn main() {
    let _app = pipeline! {
        events: IngestPipeline<Event> { ingest: true, stream: true, table: true, dead_letter_queue: true },
        events_dead_letter: Stream<Event>,
    };
}
