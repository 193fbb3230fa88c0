//! [`Topology::resolve`]: from a [`Graph`] to a [`Topology`].

use std::any::TypeId;

use super::names::{consumer_group, sync_group, table_name, topic_name, transform_group};
use super::routes::route_paths;
use super::{ConsumerTask, DeadLetterTarget, StreamId, SyncTask, TableId, Topology, TransformTask};
use crate::graph::{DeadLetter, Graph, GraphError, InvalidRecordPolicy, TransformConfig};
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
                codec: stream.model,
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

        // A transform's or consumer's queue: the one it names, else (unless it opted out)
        // its source stream's default.
        let default_queue = |stream: usize| -> Result<Option<usize>, GraphError> {
            let source = &graph.streams[stream];
            let Some(name) = &source.config.dead_letter_queue else {
                return Ok(None);
            };
            match graph.stream_index(name) {
                Some(index) => Ok(Some(index)),
                None => Err(GraphError::Unknown {
                    kind: "dead-letter stream",
                    name: name.clone(),
                    suggestion: format!(
                        "; stream `{}` names it as its default dead-letter queue: declare it as a stream of `DeadLetter`",
                        source.name
                    ),
                }),
            }
        };
        let queue = |config: &TransformConfig, named: Option<usize>, stream: usize| match named {
            Some(index) => Ok(Some(index)),
            None if config.no_dead_letter_queue => Ok(None),
            None => default_queue(stream),
        };

        let mut transforms = Vec::with_capacity(graph.transforms.len());
        for t in &graph.transforms {
            let version = t.config.version.as_deref();
            let from = &graph.streams[t.from].name;
            let to = match t.to.as_slice() {
                [one] => graph.streams[*one].name.clone(),
                many => format!(
                    "[{}]",
                    many.iter()
                        .map(|i| graph.streams[*i].name.as_str())
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            };
            let to_topics: Vec<&str> = t.to.iter().map(|i| topic(*i)).collect();
            transforms.push(TransformTask {
                label: match version {
                    Some(v) => format!("{from}->{to}@{v}"),
                    None => format!("{from}->{to}"),
                },
                from: StreamId(t.from),
                to: t.to.iter().copied().map(StreamId).collect(),
                group: transform_group(topic(t.from), &to_topics.join("+"), version),
                function: t.function.clone(),
                dead_letter: dead_letter(queue(&t.config, t.dead_letter_queue, t.from)?)?,
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
                dead_letter: dead_letter(queue(&c.config, c.dead_letter_queue, c.stream)?)?,
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
                // The pipeline's queue, else the stream's default.
                dead_letter: dead_letter(match stream.dead_letter_queue {
                    Some(index) => Some(index),
                    None => default_queue(index)?,
                })?,
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

    #[test]
    fn a_streams_default_dead_letter_queue_is_used_unless_named_or_opted_out() {
        use crate::graph::TransformConfig;
        let app = App::new();
        let config = StreamConfig::default;
        app.stream::<DeadLetter>("failures", config()).unwrap();
        app.stream::<DeadLetter>("own", config()).unwrap();
        let source = app
            .stream::<DeadLetter>("source", config().dead_letter_queue("failures"))
            .unwrap();
        let (a, b, c) = (
            app.stream::<DeadLetter>("a", config()).unwrap(),
            app.stream::<DeadLetter>("b", config()).unwrap(),
            app.stream::<DeadLetter>("c", config()).unwrap(),
        );
        source.add_transform(&a, |d: DeadLetter| d).unwrap();
        source
            .add_transform_with(
                &b,
                |d: DeadLetter| d,
                TransformConfig::default().dead_letter_queue("own"),
            )
            .unwrap();
        source
            .add_transform_with(
                &c,
                |d: DeadLetter| d,
                TransformConfig::no_dead_letter_queue(),
            )
            .unwrap();
        source.add_consumer(|_: DeadLetter| {}).unwrap();
        let topology = Topology::resolve(
            &app.graph(),
            Some("prod"),
            "local",
            &ClickHouseCapabilities::MODERN,
        )
        .unwrap();
        let queues: Vec<Option<(String, String)>> = topology
            .transforms
            .iter()
            .map(|t| t.dead_letter.clone())
            .chain(topology.consumers.iter().map(|c| c.dead_letter.clone()))
            .map(|q| q.map(|q| (q.name, q.topic)))
            .collect();
        let queue = |name: &str| Some((name.to_owned(), format!("prod.{name}")));
        assert_eq!(
            queues,
            [queue("failures"), queue("own"), None, queue("failures")]
        );
        // A default queue that is not declared is named, with the stream that names it.
        let app = App::new();
        let broken = app
            .stream::<DeadLetter>("broken", config().dead_letter_queue("nowhere"))
            .unwrap();
        let out = app.stream::<DeadLetter>("out", config()).unwrap();
        broken.add_transform(&out, |d: DeadLetter| d).unwrap();
        let error = Topology::resolve(&app.graph(), None, "local", &ClickHouseCapabilities::MODERN)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("`nowhere`") && error.contains("`broken`"),
            "{error}"
        );
    }
}
