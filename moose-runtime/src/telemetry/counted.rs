//! [`CountedStreams`]: the stream backend as every part of the runtime writes through it,
//! counting the records each stream acknowledges (`moose_stream_records_total`), so ingest,
//! transforms, dead letters and `send` are counted in one place.

use std::collections::HashMap;
use std::sync::Arc;

use prometheus_client::metrics::counter::Counter;

use super::Telemetry;
use crate::graph::{BoxFuture, EncodedRecord};
use crate::stream::{
    ConsumedRecord, MemberId, PartitionLag, StreamBackend, StreamConsumer, StreamError,
};
use crate::topology::Topology;

/// A stream backend that counts what it acknowledges.
pub struct CountedStreams {
    inner: Arc<dyn StreamBackend>,
    by_topic: HashMap<String, Counter>,
}

impl CountedStreams {
    /// `inner`, counting into `telemetry` per stream of `topology`.
    pub fn new(inner: Arc<dyn StreamBackend>, topology: &Topology, telemetry: &Telemetry) -> Self {
        let by_topic = topology
            .streams()
            .map(|(_, t)| (t.spec.name.clone(), telemetry.stream_records(&t.declared)))
            .collect();
        CountedStreams { inner, by_topic }
    }
}

impl StreamBackend for CountedStreams {
    fn produce<'a>(
        &'a self,
        topic: &'a str,
        records: &'a [EncodedRecord],
    ) -> BoxFuture<'a, Result<(), StreamError>> {
        Box::pin(async move {
            self.inner.produce(topic, records).await?;
            if let Some(counter) = self.by_topic.get(topic) {
                counter.inc_by(records.len() as u64);
            }
            Ok(())
        })
    }

    fn consumer<'a>(
        &'a self,
        topic: &'a str,
        group: &'a str,
        member: MemberId,
    ) -> BoxFuture<'a, Result<Box<dyn StreamConsumer>, StreamError>> {
        self.inner.consumer(topic, group, member)
    }

    fn latest<'a>(
        &'a self,
        topic: &'a str,
        n: usize,
    ) -> BoxFuture<'a, Result<Vec<ConsumedRecord>, StreamError>> {
        self.inner.latest(topic, n)
    }

    fn healthy(&self) -> BoxFuture<'_, bool> {
        self.inner.healthy()
    }

    fn max_record_bytes(&self) -> usize {
        self.inner.max_record_bytes()
    }

    fn payload_format(&self) -> crate::schema::PayloadFormat {
        self.inner.payload_format()
    }

    fn lag<'a>(
        &'a self,
        topic: &'a str,
        group: &'a str,
    ) -> BoxFuture<'a, Result<Vec<PartitionLag>, StreamError>> {
        self.inner.lag(topic, group)
    }
}

/// How often consumer lag is sampled (`moose_consumer_lag_records`, `/stats`): often enough
/// for a live view, rare enough that a Kafka cluster does not notice the offset fetches.
pub const LAG_SAMPLE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(2);

/// Samples the lag of every group of `topology` into `telemetry` until `cancel` fires.
pub async fn sample_lag(
    topology: Topology,
    backend: Arc<dyn StreamBackend>,
    telemetry: Arc<Telemetry>,
    cancel: tokio_util::sync::CancellationToken,
) {
    let groups: Vec<(String, String, String)> = topology
        .transforms
        .iter()
        .map(|t| (t.group.clone(), t.from))
        .chain(
            topology
                .consumers
                .iter()
                .map(|c| (c.group.clone(), c.stream)),
        )
        .chain(topology.syncs.iter().map(|s| (s.group.clone(), s.stream)))
        .map(|(group, id)| {
            let topic = topology.stream(id);
            (group, topic.spec.name.clone(), topic.declared.clone())
        })
        .collect();
    loop {
        for (group, topic, stream) in &groups {
            match backend.lag(topic, group).await {
                Ok(partitions) => {
                    for p in partitions {
                        telemetry.set_lag(group, stream, p.partition, p.records());
                    }
                }
                Err(e) => tracing::debug!(group, topic, error = %e, "sampling consumer lag failed"),
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(LAG_SAMPLE_INTERVAL) => {}
        }
    }
}
