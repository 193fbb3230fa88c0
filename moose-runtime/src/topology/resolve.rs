//! [`Topology::resolve`]: from a [`Graph`] to a [`Topology`].

use std::any::TypeId;

use super::names::{consumer_group, sync_group, table_name, topic_name, transform_group};
use super::routes::route_paths;
use super::{ConsumerTask, DeadLetterTarget, StreamId, SyncTask, TableId, Topology, TransformTask};
use crate::graph::{DeadLetter, Graph, GraphError, InvalidRecordPolicy};
use crate::ingest::{IngestDeadLetter, IngestRoute};
use crate::plan::{Desired, DesiredTable, DesiredTopic, app_name};
use crate::schema::{ClickHouseCapabilities, SchemaError};
use crate::stream::TopicSpec;

/// Why a graph cannot be resolved.
#[derive(Debug, thiserror::Error)]
pub enum TopologyError {
    /// A table cannot be created on this server.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// The graph refers to something missing, or a dead-letter queue of the wrong model.
    #[error(transparent)]
    Graph(#[from] GraphError),
}

impl Topology {
    /// Resolves `graph` for `namespace` in `database` on a server with `caps`: physical names,
    /// table DDL, consumer groups, dead-letter targets and ingest routes, checked once.
    pub fn resolve(
        graph: &Graph,
        namespace: Option<&str>,
        database: &str,
        caps: &ClickHouseCapabilities,
    ) -> Result<Topology, TopologyError> {
        // A `pipeline!` step the builder refused (a moose bug: the macro checks the same
        // rules) means the graph is not what the code says: nothing runs on it.
        if let Some(refused) = &graph.refused {
            return Err(refused.clone().into());
        }
        let mut tables = Vec::with_capacity(graph.tables.len());
        for table in &graph.tables {
            let name = table_name(namespace, &table.versioned);
            tables.push(DesiredTable {
                declared: table.name.clone(),
                resolved: (table.model.resolve_table)(database, &name, &table.config, caps)?,
                life_cycle: table.config.life_cycle,
            });
        }
        let topics: Vec<DesiredTopic> = graph
            .streams
            .iter()
            .map(|stream| DesiredTopic {
                declared: stream.name.clone(),
                spec: TopicSpec {
                    name: topic_name(namespace, &stream.name, stream.config.version.as_deref()),
                    partitions: stream.config.parallelism,
                    retention: stream.config.retention_period,
                },
                life_cycle: stream.config.life_cycle,
            })
            .collect();

        // A dead-letter queue is a stream of `DeadLetter`.
        let dead_letter = |queue: Option<usize>| -> Result<Option<DeadLetterTarget>, GraphError> {
            let Some(index) = queue else { return Ok(None) };
            let stream = &graph.streams[index];
            if (stream.model.type_id)() != TypeId::of::<DeadLetter>() {
                return Err(GraphError::DeadLetterModel {
                    stream: stream.name.clone(),
                    model: stream.model.name,
                });
            }
            Ok(Some(DeadLetterTarget {
                stream: StreamId(index),
                name: stream.name.clone(),
                topic: topics[index].spec.name.clone(),
            }))
        };
        let topic = |index: usize| topics[index].spec.name.as_str();

        let mut transforms = Vec::with_capacity(graph.transforms.len());
        for t in &graph.transforms {
            let version = t.config.version.as_deref();
            let (from, to) = (&graph.streams[t.from].name, &graph.streams[t.to].name);
            transforms.push(TransformTask {
                label: match version {
                    Some(v) => format!("{from}->{to}@{v}"),
                    None => format!("{from}->{to}"),
                },
                from: StreamId(t.from),
                to: StreamId(t.to),
                group: transform_group(topic(t.from), topic(t.to), version),
                function: t.function.clone(),
                dead_letter: dead_letter(t.dead_letter_queue)?,
            });
        }
        let mut consumers = Vec::with_capacity(graph.consumers.len());
        for (index, c) in graph.consumers.iter().enumerate() {
            let version = c.config.version.as_deref();
            let stream = &graph.streams[c.stream].name;
            consumers.push(ConsumerTask {
                label: match version {
                    Some(v) => format!("{stream}@{v}"),
                    None => format!("{stream}#{index}"),
                },
                stream: StreamId(c.stream),
                group: consumer_group(topic(c.stream), version, index),
                function: c.function.clone(),
                dead_letter: dead_letter(c.dead_letter_queue)?,
            });
        }
        let mut syncs = Vec::new();
        for (index, stream) in graph.streams.iter().enumerate() {
            let Some(destination) = &stream.config.destination else {
                continue;
            };
            let Some(table) = graph.table_index(destination) else {
                return Err(GraphError::Unknown {
                    kind: "destination table",
                    name: destination.clone(),
                    suggestion: format!(
                        "; stream `{}` names it as its destination: declare the table, or drop `destination`",
                        stream.name
                    ),
                }
                .into());
            };
            syncs.push(SyncTask {
                stream: StreamId(index),
                table: TableId(table),
                group: sync_group(topic(index), &tables[table].resolved.name),
                codec: stream.model,
                dead_letter: dead_letter(stream.dead_letter_queue)?,
            });
        }
        let mut routes = Vec::with_capacity(graph.ingest_apis.len());
        for (api, paths) in graph
            .ingest_apis
            .iter()
            .zip(route_paths(&graph.ingest_apis))
        {
            let stream = &graph.streams[api.stream];
            let queue = match api.invalid_records {
                InvalidRecordPolicy::DeadLetter => dead_letter(api.dead_letter_queue)?,
                InvalidRecordPolicy::Reject => None,
            };
            routes.push(IngestRoute {
                name: api.name.clone(),
                version: api.version.clone(),
                paths,
                topic: topic(api.stream).to_owned(),
                codec: stream.model,
                dead_letter: queue.map(|q| IngestDeadLetter {
                    topic: q.topic,
                    source_stream: stream.name.clone(),
                }),
            });
        }
        Ok(Topology {
            resources: Desired {
                namespace: namespace.map(str::to_owned),
                app: app_name(),
                database: database.to_owned(),
                tables,
                topics,
            },
            transforms,
            consumers,
            syncs,
            routes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::{App, StreamConfig};

    #[test]
    fn a_graph_with_a_refused_pipeline_step_does_not_resolve() {
        let app = App::new();
        app.stream::<DeadLetter>("kept", StreamConfig::default())
            .unwrap();
        let caps = ClickHouseCapabilities::MODERN;
        assert!(Topology::resolve(&app.graph(), None, "local", &caps).is_ok());
        app.refuse(GraphError::ZeroParallelism {
            stream: "broken".into(),
        });
        let error = Topology::resolve(&app.graph(), None, "local", &caps).unwrap_err();
        assert!(error.to_string().contains("`broken`"), "{error}");
    }
}
