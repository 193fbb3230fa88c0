//! The parts of a declaration (stream, table, an ingest pipeline's parts), built and checked
//! on their own before [`App`](super::App) adds them to the graph: a declaration the builder
//! refuses leaves the graph as it was.

use super::app::{StreamNode, TableNode, versioned_name};
use super::codec::ModelCodec;
use super::config::{
    IngestPipelineConfig, InvalidRecordPolicy, LifeCycle, OlapConfig, StreamConfig,
};
use super::dead_letter::DeadLetter;
use super::error::GraphError;
use crate::schema::{DataModel, Engine, OrderBy};

/// `name` follows the naming rules shared with `pipeline!`.
fn validate_name(name: &str) -> Result<(), GraphError> {
    refuse(name, moose_names::name_problem(name))
}

/// `version`, if any, follows the version rules shared with `pipeline!`.
pub(super) fn validate_version(version: &Option<String>) -> Result<(), GraphError> {
    match version {
        Some(version) => refuse(version, moose_names::version_problem(version)),
        None => Ok(()),
    }
}

/// `name` refused for `problem`, if there is one.
fn refuse(name: &str, problem: Option<&'static str>) -> Result<(), GraphError> {
    match problem {
        Some(reason) => Err(GraphError::InvalidName {
            name: name.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

/// A stream of `T` named `name`, checked on its own (not yet against the graph).
pub(super) fn stream_node<T: DataModel>(
    name: &str,
    config: StreamConfig,
) -> Result<StreamNode, GraphError> {
    validate_name(name)?;
    validate_version(&config.version)?;
    if config.parallelism == 0 {
        return Err(GraphError::ZeroParallelism {
            stream: name.to_owned(),
        });
    }
    Ok(StreamNode {
        name: name.to_owned(),
        config,
        model: ModelCodec::of::<T>(),
        dead_letter_queue: None,
    })
}

/// A table of `T` named `name`, checked on its own (not yet against the graph).
pub(super) fn table_node<T: DataModel>(
    name: &str,
    config: OlapConfig,
) -> Result<TableNode, GraphError> {
    validate_name(name)?;
    validate_version(&config.version)?;
    let columns = T::columns();
    let check = |option: &'static str, column: &str| {
        if columns.iter().any(|c| c.name == column) {
            Ok(())
        } else {
            Err(GraphError::UnknownColumn {
                table: name.to_owned(),
                option,
                column: column.to_owned(),
                model: T::NAME,
                known: columns
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
        }
    };
    match &config.order_by {
        OrderBy::Key if !columns.iter().any(|c| c.key) => {
            return Err(GraphError::TableWithoutOrder {
                table: name.to_owned(),
                model: T::NAME,
            });
        }
        OrderBy::Fields(fields) => fields.iter().try_for_each(|f| check("order_by", f))?,
        _ => {}
    }
    if let Engine::ReplacingMergeTree { version: Some(v) } = &config.engine {
        check("the ReplacingMergeTree version", v)?;
    }
    Ok(TableNode {
        name: name.to_owned(),
        versioned: versioned_name(name, config.version.as_deref()),
        config,
        model: ModelCodec::of::<T>(),
    })
}

/// The stream and table `<pipeline>_dead_letter` of an ingest pipeline: same version,
/// retention and life cycle as the pipeline, ordered by source stream and time. The table is
/// moose's own even when the pipeline's table is externally managed: it is then created but
/// never dropped (`DeletionProtected`).
fn dead_letter_nodes(
    name: &str,
    pipeline: &IngestPipelineConfig,
) -> Result<(StreamNode, TableNode), GraphError> {
    let version = pipeline
        .version
        .clone()
        .or(pipeline.stream_config.version.clone());
    let mut table_config = OlapConfig::default()
        .order_by_fields(["source_stream", "failed_at"])
        .life_cycle(match pipeline.table_config.life_cycle {
            LifeCycle::ExternallyManaged => LifeCycle::DeletionProtected,
            other => other,
        });
    table_config.version = version.clone();
    table_config.cluster = pipeline.table_config.cluster.clone();
    let table = table_node::<DeadLetter>(name, table_config)?;
    let stream_config = StreamConfig {
        version,
        destination: Some(name.to_owned()),
        retention_period: pipeline.stream_config.retention_period,
        life_cycle: pipeline.stream_config.life_cycle,
        ..StreamConfig::default()
    };
    Ok((stream_node::<DeadLetter>(name, stream_config)?, table))
}

/// The parts of an ingest pipeline, each checked on its own.
pub(super) struct PipelineNodes {
    pub stream: Option<StreamNode>,
    pub table: Option<TableNode>,
    /// The dead-letter queue's stream and table.
    pub dead_letter_queue: Option<(StreamNode, TableNode)>,
}

impl PipelineNodes {
    /// The parts `config` asks for, each checked.
    pub fn of<T: DataModel>(name: &str, config: &IngestPipelineConfig) -> Result<Self, GraphError> {
        validate_name(name)?;
        validate_version(&config.version)?;
        if let Some(path) = &config.path
            && let Some(reason) = moose_names::ingest_path_problem(path)
        {
            return Err(GraphError::InvalidPath {
                pipeline: name.to_owned(),
                path: path.clone(),
                reason,
            });
        }
        if config.ingest && !config.stream {
            return Err(GraphError::IngestWithoutStream {
                name: name.to_owned(),
            });
        }
        if config.invalid_records == InvalidRecordPolicy::DeadLetter && !config.dead_letter_queue {
            return Err(GraphError::DeadLetterPolicyWithoutQueue {
                name: name.to_owned(),
            });
        }
        let table = config
            .table
            .then(|| {
                let table_config = OlapConfig {
                    version: config
                        .version
                        .clone()
                        .or(config.table_config.version.clone()),
                    ..config.table_config.clone()
                };
                table_node::<T>(name, table_config)
            })
            .transpose()?;
        let stream = config
            .stream
            .then(|| {
                let mut stream_config = config.stream_config.clone();
                stream_config.version = config.version.clone().or(stream_config.version);
                // The pipeline's queue is its stream's default (Moose does the same).
                if config.dead_letter_queue && stream_config.dead_letter_queue.is_none() {
                    stream_config.dead_letter_queue =
                        Some(moose_names::dead_letter_queue_name(name));
                }
                if let Some(table) = &table {
                    // The versioned name: several versions of one pipeline each sync into
                    // their own table.
                    stream_config.destination = Some(table.versioned.clone());
                }
                stream_node::<T>(name, stream_config)
            })
            .transpose()?;
        let dead_letter_queue = config
            .dead_letter_queue
            .then(|| dead_letter_nodes(&moose_names::dead_letter_queue_name(name), config))
            .transpose()?;
        Ok(Self {
            stream,
            table,
            dead_letter_queue,
        })
    }
}
