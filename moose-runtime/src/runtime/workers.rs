//! [`Workers`]: one task per consumer-group member of every transform, consumer and table sync
//! of a [`Topology`], plus the embedded log's retention, stopped in dependency order.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::threads::WorkerThreads;
use crate::clickhouse::ClickHouse;
use crate::stream::local::LocalLog;
use crate::stream::{MemberId, StreamBackend, StreamError};
use crate::telemetry::Telemetry;
use crate::topology::{DeadLetterTarget, Topology};
use crate::worker::{
    ConsumerWorker, DeadLetterSink, FailureCounts, SyncConfig, SyncWorker, TransformWorker,
    WorkerStatus,
};

/// How often the embedded log's retention is enforced.
const RETENTION_INTERVAL: Duration = Duration::from_secs(60);

/// The running workers.
pub(crate) struct Workers {
    /// Failures across all workers.
    pub failures: Arc<FailureCounts>,
    /// Every worker's status.
    pub statuses: Vec<WorkerStatus>,
    transform_cancel: CancellationToken,
    sync_cancel: CancellationToken,
    transforms: JoinSet<()>,
    syncs: JoinSet<()>,
    /// Where they run. Only held: its drop stops the threads, after the tasks above (fields
    /// drop in order).
    _threads: WorkerThreads,
}

/// What the workers run against.
pub(crate) struct WorkerEnv<'a> {
    pub streams: &'a Arc<dyn StreamBackend>,
    pub log: Option<&'a LocalLog>,
    pub clickhouse: &'a ClickHouse,
    pub sync: SyncConfig,
    /// `<data dir>/sync`: the table syncs' ledgers.
    pub ledger_dir: &'a Path,
    /// Where the workers count.
    pub telemetry: &'a Telemetry,
    /// Threads of the workers' own runtime; 0: the caller's ([`RuntimeConfig::worker_threads`](super::RuntimeConfig::worker_threads)).
    pub threads: usize,
}

impl Workers {
    /// Joins every group and spawns its members: transforms and consumers first, then syncs.
    pub async fn spawn(topology: &Topology, env: WorkerEnv<'_>) -> Result<Workers, StreamError> {
        let threads = WorkerThreads::new(env.threads)
            .map_err(|e| StreamError::Other(format!("starting the worker threads: {e}")))?;
        let on = threads.handle();
        let mut workers = Workers {
            failures: Arc::new(FailureCounts::default()),
            statuses: Vec::new(),
            transform_cancel: CancellationToken::new(),
            sync_cancel: CancellationToken::new(),
            transforms: JoinSet::new(),
            syncs: JoinSet::new(),
            _threads: threads,
        };
        let backend = env.streams;
        for task in &topology.transforms {
            let source = topology.stream(task.from);
            for member in MemberId::all(source.spec.partitions) {
                let worker = TransformWorker {
                    name: task.label.clone(),
                    consumer: backend
                        .consumer(&source.spec.name, &task.group, member)
                        .await?,
                    function: task.function.clone(),
                    backend: backend.clone(),
                    destinations: task
                        .to
                        .iter()
                        .map(|to| {
                            let stream = topology.stream(*to);
                            (stream.spec.name.clone(), stream.declared.clone())
                        })
                        .collect(),
                    source_stream: source.declared.clone(),
                    source_codec: source.codec,
                    dead_letters: workers.sink(
                        backend,
                        &task.dead_letter,
                        &task.label,
                        env.telemetry,
                    ),
                    status: workers.status(&task.label),
                    metrics: env.telemetry.transform(&task.label),
                };
                let cancel = workers.transform_cancel.clone();
                workers.transforms.spawn_on(worker.run(cancel), &on);
            }
        }
        for task in &topology.consumers {
            let stream = topology.stream(task.stream);
            for member in MemberId::all(stream.spec.partitions) {
                let worker = ConsumerWorker {
                    name: format!("consumer {}", task.label),
                    consumer: backend
                        .consumer(&stream.spec.name, &task.group, member)
                        .await?,
                    function: task.function.clone(),
                    source_stream: stream.declared.clone(),
                    source_codec: stream.codec,
                    dead_letters: workers.sink(
                        backend,
                        &task.dead_letter,
                        &task.label,
                        env.telemetry,
                    ),
                    status: workers.status(&format!("consumer {}", task.label)),
                    metrics: env.telemetry.consumer(&task.label),
                };
                let cancel = workers.transform_cancel.clone();
                workers.transforms.spawn_on(worker.run(cancel), &on);
            }
        }
        for task in &topology.syncs {
            let stream = topology.stream(task.stream);
            let table = &topology.table(task.table).resolved;
            let declared = &topology.table(task.table).declared;
            for member in MemberId::all(stream.spec.partitions) {
                let name = format!("{} -> {}", stream.declared, table.qualified_name());
                let worker = SyncWorker {
                    status: workers.status(&name),
                    name,
                    consumer: backend
                        .consumer(&stream.spec.name, &task.group, member)
                        .await?,
                    codec: task.codec,
                    table: table.clone(),
                    clickhouse: env.clickhouse.clone(),
                    config: env.sync,
                    topic: stream.spec.name.clone(),
                    stream: stream.declared.clone(),
                    dead_letters: workers.sink(backend, &task.dead_letter, declared, env.telemetry),
                    ledger: Some((env.ledger_dir.to_owned(), task.group.clone())),
                    metrics: env.telemetry.sync(declared),
                };
                let cancel = workers.sync_cancel.clone();
                workers.syncs.spawn_on(worker.run(cancel), &on);
            }
        }
        if let Some(log) = env.log.cloned() {
            let cancel = workers.sync_cancel.clone();
            workers.syncs.spawn_on(
                async move {
                    loop {
                        tokio::select! {
                            _ = cancel.cancelled() => return,
                            _ = tokio::time::sleep(RETENTION_INTERVAL) => {
                                if let Err(e) = log.enforce_retention() {
                                    tracing::warn!(error = %e, "enforcing stream retention failed");
                                }
                            }
                        }
                    }
                },
                &on,
            );
        }
        Ok(workers)
    }

    fn status(&mut self, name: &str) -> WorkerStatus {
        let status = WorkerStatus::named(name);
        self.statuses.push(status.clone());
        status
    }

    /// Where worker `source` sends what it cannot pass on.
    fn sink(
        &self,
        backend: &Arc<dyn StreamBackend>,
        target: &Option<DeadLetterTarget>,
        source: &str,
        telemetry: &Telemetry,
    ) -> DeadLetterSink {
        DeadLetterSink {
            backend: backend.clone(),
            queue: target.as_ref().map(|t| (t.topic.clone(), t.name.clone())),
            counts: self.failures.clone(),
            metric: match target {
                Some(t) => telemetry.dead_letters(&t.name, source),
                None => Default::default(),
            },
        }
    }

    /// Stops transforms and consumers (each finishing its batch), then table syncs (inserting
    /// what they hold).
    pub async fn shutdown(&mut self) {
        self.transform_cancel.cancel();
        while self.transforms.join_next().await.is_some() {}
        self.sync_cancel.cancel();
        while self.syncs.join_next().await.is_some() {}
    }
}
