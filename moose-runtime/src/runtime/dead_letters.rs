//! Wiring of dead-letter queues: which stream each worker sends its failures to.

use std::any::TypeId;
use std::sync::Arc;

use super::RuntimeError;
use crate::graph::{DeadLetter, Graph, GraphError};
use crate::stream::StreamBackend;
use crate::worker::{DeadLetterSink, FailureCounts};

/// Refuses a graph whose dead-letter queues are not streams of [`DeadLetter`].
pub(super) fn check_dead_letter_queues(graph: &Graph) -> Result<(), RuntimeError> {
    let queues = graph
        .transforms
        .iter()
        .filter_map(|t| t.dead_letter_queue)
        .chain(graph.consumers.iter().filter_map(|c| c.dead_letter_queue))
        .chain(graph.streams.iter().filter_map(|s| s.dead_letter_queue))
        .chain(graph.ingest_apis.iter().filter_map(|a| a.dead_letter_queue));
    for index in queues {
        let stream = &graph.streams[index];
        if (stream.model.type_id)() != TypeId::of::<DeadLetter>() {
            return Err(RuntimeError::Graph(
                GraphError::DeadLetterModel {
                    stream: stream.name.clone(),
                    model: stream.model.name,
                }
                .to_string(),
            ));
        }
    }
    Ok(())
}

/// The sink of a worker whose dead-letter stream is `queue` (a stream index), or a log-only
/// sink without one.
pub(super) fn sink(
    graph: &Graph,
    topics: &[String],
    backend: &Arc<dyn StreamBackend>,
    failures: &Arc<FailureCounts>,
    queue: Option<usize>,
) -> DeadLetterSink {
    DeadLetterSink {
        backend: backend.clone(),
        queue: queue.map(|i| (topics[i].clone(), graph.streams[i].name.clone())),
        counts: failures.clone(),
    }
}
