//! The stream backend contract, checked against both backends: the embedded log (`local::*`)
//! and Kafka on a one-node Apache Kafka 4.4 cluster (`kafka::*`). Each property is one
//! generic function run once per backend, so both are held to the same assertions.
//!
//! Over 400 lines: one generic function per property of the backend contract, instantiated for
//! both backends by the macro at the end.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::kafka::TestKafka;
use common::topic_changes::check_topic_changes;
use moose_runtime::stream::local::LocalLog;
use moose_runtime::stream::{
    ConsumedRecord, EncodedRecord, MemberId, StreamConsumer, StreamError, Streams, TopicSpec,
};

/// Deadlock guard for loops waiting on records; never reached when things work.
const GUARD: Duration = Duration::from_secs(60);

/// Long enough never to expire during a test.
const KEEP: Duration = Duration::from_secs(3600);

/// A backend under test, which can be opened again on the same data (a restart).
enum Subject {
    Local(tempfile::TempDir),
    Kafka(TestKafka),
}

impl Subject {
    fn local() -> Self {
        Subject::Local(tempfile::tempdir().unwrap())
    }

    fn kafka() -> Self {
        Subject::Kafka(TestKafka::start())
    }

    async fn open(&self) -> Arc<dyn Streams> {
        match self {
            Subject::Local(dir) => Arc::new(LocalLog::open(dir.path()).unwrap()),
            Subject::Kafka(broker) => Arc::new(broker.backend().await),
        }
    }
}

fn topic(name: &str, partitions: u32) -> TopicSpec {
    TopicSpec {
        name: name.to_owned(),
        partitions,
        retention: KEEP,
    }
}

fn record(key: &str, body: serde_json::Value) -> EncodedRecord {
    EncodedRecord {
        key: key.as_bytes().to_vec(),
        payload: body.to_string().into_bytes(),
    }
}

fn json(record: &ConsumedRecord) -> serde_json::Value {
    serde_json::from_slice(&record.payload).unwrap()
}

/// Polls until `n` records arrived in total (or [`GUARD`] passed).
async fn read(consumer: &mut dyn StreamConsumer, n: usize) -> Vec<ConsumedRecord> {
    let mut out = Vec::new();
    let start = Instant::now();
    while out.len() < n && start.elapsed() < GUARD {
        out.extend(
            consumer
                .poll(n - out.len(), Duration::from_millis(200))
                .await
                .unwrap(),
        );
    }
    out
}

/// Next offset per partition after `records`.
fn ends(records: &[ConsumedRecord]) -> Vec<(u32, u64)> {
    let mut ends: BTreeMap<u32, u64> = BTreeMap::new();
    for r in records {
        let end = ends.entry(r.partition).or_default();
        *end = (*end).max(r.offset + 1);
    }
    ends.into_iter().collect()
}

/// Records of one key stay in one partition and are read in the order each producer wrote
/// them, with concurrent producers; nothing written is missing.
async fn keys_keep_order_and_nothing_is_lost(subject: Subject) {
    let backend = subject.open().await;
    backend.ensure_topic(&topic("ordered", 4)).await.unwrap();
    let mut producers = tokio::task::JoinSet::new();
    for producer in 0..3 {
        let backend = backend.clone();
        producers.spawn(async move {
            for batch in 0..10 {
                let records: Vec<EncodedRecord> = (0..50)
                    .map(|i| {
                        let seq = batch * 50 + i;
                        let key = format!("k{}", seq % 20);
                        record(
                            &key,
                            serde_json::json!({"key": key, "producer": producer, "seq": seq}),
                        )
                    })
                    .collect();
                backend.produce("ordered", &records).await.unwrap();
            }
        });
    }
    while let Some(done) = producers.join_next().await {
        done.unwrap();
    }

    let mut consumer = backend
        .consumer("ordered", "order.check", MemberId::SOLE)
        .await
        .unwrap();
    let records = read(consumer.as_mut(), 1500).await;
    assert_eq!(records.len(), 1500, "every produced record is read once");
    let mut partition_of: HashMap<String, u32> = HashMap::new();
    let mut last: HashMap<(String, u64), i64> = HashMap::new();
    let mut seen = BTreeSet::new();
    for r in &records {
        let body = json(r);
        let key = body["key"].as_str().unwrap().to_owned();
        assert_eq!(r.key, key.as_bytes(), "the message key is the record's key");
        let partition = *partition_of.entry(key.clone()).or_insert(r.partition);
        assert_eq!(partition, r.partition, "key {key} stays in one partition");
        let (producer, seq) = (
            body["producer"].as_u64().unwrap(),
            body["seq"].as_i64().unwrap(),
        );
        let previous = last.insert((key.clone(), producer), seq);
        assert!(
            previous.is_none_or(|p| p < seq),
            "key {key} from producer {producer}: {seq} read after {previous:?}"
        );
        seen.insert((producer, seq));
    }
    assert_eq!(seen.len(), 1500, "no record is missing or read twice");
    let used: BTreeSet<u32> = partition_of.values().copied().collect();
    assert!(
        used.len() > 1,
        "20 keys spread over the 4 partitions: {used:?}"
    );
}

/// A group resumes from its committed offsets after the backend and consumer are dropped
/// and opened again; what was read but not committed is read again.
async fn a_group_resumes_from_its_commits_after_a_restart(subject: Subject) {
    let first_read;
    let committed;
    {
        let backend = subject.open().await;
        backend.ensure_topic(&topic("resume", 3)).await.unwrap();
        let records: Vec<EncodedRecord> = (0..90)
            .map(|i| record(&format!("k{i}"), serde_json::json!({"i": i})))
            .collect();
        backend.produce("resume", &records).await.unwrap();
        let mut consumer = backend
            .consumer("resume", "resume.check", MemberId::SOLE)
            .await
            .unwrap();
        first_read = read(consumer.as_mut(), 90).await;
        assert_eq!(first_read.len(), 90);
        // Commit only the first 10 records of each partition.
        let mut per_partition: BTreeMap<u32, Vec<&ConsumedRecord>> = BTreeMap::new();
        for r in &first_read {
            per_partition.entry(r.partition).or_default().push(r);
        }
        committed = per_partition
            .iter()
            .map(|(p, rs)| (*p, rs[rs.len().min(10) - 1].offset + 1))
            .collect::<Vec<_>>();
        consumer.ack(&committed).unwrap();
        consumer.commit_acked().await.unwrap();
    }
    let backend = subject.open().await;
    let mut consumer = backend
        .consumer("resume", "resume.check", MemberId::SOLE)
        .await
        .unwrap();
    let expected: BTreeSet<(u32, u64)> = first_read
        .iter()
        .filter(|r| {
            committed
                .iter()
                .any(|(p, o)| *p == r.partition && r.offset >= *o)
        })
        .map(|r| (r.partition, r.offset))
        .collect();
    let again = read(consumer.as_mut(), expected.len()).await;
    let got: BTreeSet<(u32, u64)> = again.iter().map(|r| (r.partition, r.offset)).collect();
    assert_eq!(
        got, expected,
        "exactly the uncommitted records are read again"
    );
    assert!(
        consumer
            .poll(10, Duration::from_millis(500))
            .await
            .unwrap()
            .is_empty(),
        "nothing more"
    );
}

/// A member commits exactly what it acknowledged (on `commit_acked`, and when it leaves the
/// group): the group's next member reads the unacknowledged records again.
async fn unacknowledged_records_are_read_again_by_the_next_member(subject: Subject) {
    let backend = subject.open().await;
    backend.ensure_topic(&topic("acks", 1)).await.unwrap();
    let records: Vec<EncodedRecord> = (0..20)
        .map(|i| record("same", serde_json::json!({"i": i})))
        .collect();
    backend.produce("acks", &records).await.unwrap();
    {
        let mut consumer = backend
            .consumer("acks", "acks.check", MemberId::SOLE)
            .await
            .unwrap();
        let all = read(consumer.as_mut(), 20).await;
        consumer.ack(&ends(&all[..5])).unwrap();
        consumer.commit_acked().await.unwrap();
        // Everything was read; only the first five were finished.
    }
    let mut consumer = backend
        .consumer("acks", "acks.check", MemberId::SOLE)
        .await
        .unwrap();
    let again = read(consumer.as_mut(), 15).await;
    let offsets: Vec<u64> = again.iter().map(|r| r.offset).collect();
    assert_eq!(offsets, (5..20).collect::<Vec<u64>>());
}

/// Partitions and retention are applied at creation; an existing topic is left as it is;
/// a missing topic is reported as missing.
async fn topic_settings_are_applied(subject: Subject) {
    let backend = subject.open().await;
    let spec = TopicSpec {
        name: "configured".into(),
        partitions: 3,
        retention: Duration::from_secs(2 * 3600),
    };
    backend.ensure_topic(&spec).await.unwrap();
    assert_eq!(
        backend.describe_topic("configured").await.unwrap(),
        Some(spec.clone())
    );
    let other = TopicSpec {
        partitions: 5,
        retention: Duration::from_secs(60),
        ..spec.clone()
    };
    backend.ensure_topic(&other).await.unwrap();
    assert_eq!(
        backend.describe_topic("configured").await.unwrap(),
        Some(spec),
        "ensure_topic leaves an existing topic alone"
    );
    assert_eq!(backend.describe_topic("missing").await.unwrap(), None);
    assert!(matches!(
        backend.consumer("missing", "g", MemberId::SOLE).await.err(),
        Some(StreamError::UnknownTopic(t)) if t == "missing"
    ));
}

/// Two groups each read everything; one group's commits do not move the other.
async fn consumer_groups_are_independent(subject: Subject) {
    let backend = subject.open().await;
    backend.ensure_topic(&topic("shared", 2)).await.unwrap();
    let records: Vec<EncodedRecord> = (0..40)
        .map(|i| record(&format!("k{i}"), serde_json::json!({"i": i})))
        .collect();
    backend.produce("shared", &records).await.unwrap();
    let mut a = backend
        .consumer("shared", "group.a", MemberId::SOLE)
        .await
        .unwrap();
    let read_a = read(a.as_mut(), 40).await;
    assert_eq!(read_a.len(), 40);
    a.ack(&ends(&read_a)).unwrap();
    a.commit_acked().await.unwrap();
    drop(a);
    let mut b = backend
        .consumer("shared", "group.b", MemberId::SOLE)
        .await
        .unwrap();
    assert_eq!(
        read(b.as_mut(), 40).await.len(),
        40,
        "group b reads everything although group a committed everything"
    );
    let mut a = backend
        .consumer("shared", "group.a", MemberId::SOLE)
        .await
        .unwrap();
    assert!(
        a.poll(40, Duration::from_secs(2)).await.unwrap().is_empty(),
        "group a resumes after its commits: nothing left"
    );
}

/// Two members of one group share the partitions and together read every record. (Kafka
/// assigns partitions a moment after members join, so records are written in rounds until
/// both members have read some.)
async fn members_of_a_group_share_the_partitions(subject: Subject) {
    let backend = subject.open().await;
    backend.ensure_topic(&topic("split", 4)).await.unwrap();
    let mut first = backend
        .consumer("split", "split.check", MemberId { index: 0, count: 2 })
        .await
        .unwrap();
    let mut second = backend
        .consumer("split", "split.check", MemberId { index: 1, count: 2 })
        .await
        .unwrap();
    let mut written = 0;
    let mut seen: BTreeSet<i64> = BTreeSet::new();
    let mut by_member = [BTreeSet::new(), BTreeSet::new()];
    let start = Instant::now();
    while (by_member.iter().any(BTreeSet::is_empty) || seen.len() < written)
        && start.elapsed() < GUARD
    {
        if by_member.iter().any(BTreeSet::is_empty) && seen.len() == written {
            let records: Vec<EncodedRecord> = (written..written + 40)
                .map(|i| record(&format!("k{i}"), serde_json::json!({"i": i})))
                .collect();
            backend.produce("split", &records).await.unwrap();
            written += 40;
        }
        let (x, y) = tokio::join!(
            first.poll(200, Duration::from_millis(200)),
            second.poll(200, Duration::from_millis(200))
        );
        let (x, y) = (x.unwrap(), y.unwrap());
        for (member, batch) in [(0, &x), (1, &y)] {
            for r in batch {
                seen.insert(json(r)["i"].as_i64().unwrap());
                by_member[member].insert(r.partition);
            }
        }
        first.ack(&ends(&x)).unwrap();
        first.commit_acked().await.unwrap();
        second.ack(&ends(&y)).unwrap();
        second.commit_acked().await.unwrap();
    }
    assert_eq!(
        seen,
        (0..written as i64).collect::<BTreeSet<_>>(),
        "together the members read every record"
    );
    assert!(
        !by_member[0].is_empty() && !by_member[1].is_empty(),
        "both members got partitions: {by_member:?}"
    );
}

/// `latest` returns the newest records, oldest first.
async fn latest_shows_the_newest_records_oldest_first(subject: Subject) {
    let backend = subject.open().await;
    backend.ensure_topic(&topic("peeked", 1)).await.unwrap();
    for i in 0..10 {
        backend
            .produce("peeked", &[record("k", serde_json::json!({"i": i}))])
            .await
            .unwrap();
    }
    let newest: Vec<i64> = backend
        .latest("peeked", 3)
        .await
        .unwrap()
        .iter()
        .map(|r| json(r)["i"].as_i64().unwrap())
        .collect();
    assert_eq!(newest, [7, 8, 9]);
    assert_eq!(backend.latest("peeked", 100).await.unwrap().len(), 10);
    assert!(matches!(
        backend.latest("missing", 1).await.err(),
        Some(StreamError::UnknownTopic(_))
    ));
}

/// Lifecycle's topic changes: retention, more partitions, fewer refused, deletion (and a
/// topic created again under a deleted one's name).
async fn topic_changes_are_applied(subject: Subject) {
    let backend = subject.open().await;
    check_topic_changes(backend.as_ref(), "lifecycle.").await;
}

macro_rules! conformance {
    ($($property:ident),* $(,)?) => {
        /// The embedded log.
        mod local {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $property() {
                    super::$property(super::Subject::local()).await;
                }
            )*
        }
        /// Apache Kafka, one node.
        mod kafka {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $property() {
                    super::$property(super::Subject::kafka()).await;
                }
            )*
        }
    };
}

conformance!(
    keys_keep_order_and_nothing_is_lost,
    a_group_resumes_from_its_commits_after_a_restart,
    unacknowledged_records_are_read_again_by_the_next_member,
    topic_settings_are_applied,
    consumer_groups_are_independent,
    members_of_a_group_share_the_partitions,
    latest_shows_the_newest_records_oldest_first,
    topic_changes_are_applied,
);

/// Kafka moves partitions between members: work a member finished but had not committed yet
/// (acknowledged) is committed when its partitions are revoked, so the member that gets them next
/// starts after it instead of doing it again. (The embedded log never moves a partition
/// from a member, so this is Kafka's alone.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kafka_finished_work_is_committed_when_a_rebalance_takes_partitions_away() {
    let subject = Subject::kafka();
    let backend = subject.open().await;
    backend.ensure_topic(&topic("handover", 2)).await.unwrap();
    let first: Vec<EncodedRecord> = (0..40)
        .map(|i| record(&format!("k{i}"), serde_json::json!({"i": i})))
        .collect();
    backend.produce("handover", &first).await.unwrap();

    // The only member reads everything and acknowledges it, without `commit_acked`.
    let mut a = backend
        .consumer(
            "handover",
            "handover.check",
            MemberId { index: 0, count: 2 },
        )
        .await
        .unwrap();
    let read_a = read(a.as_mut(), 40).await;
    assert_eq!(read_a.len(), 40, "the sole member reads both partitions");
    a.ack(&ends(&read_a)).unwrap();

    // A second member joins: the group takes one partition from `a` and gives it to `b`.
    // New records are written in rounds until `b` has read some.
    let mut b = backend
        .consumer(
            "handover",
            "handover.check",
            MemberId { index: 1, count: 2 },
        )
        .await
        .unwrap();
    let mut written = 40;
    let mut seen: Vec<i64> = Vec::new();
    let mut b_partitions = BTreeSet::new();
    let start = Instant::now();
    while (b_partitions.is_empty() || seen.len() < written - 40) && start.elapsed() < GUARD {
        if b_partitions.is_empty() && seen.len() == written - 40 {
            let round: Vec<EncodedRecord> = (written..written + 10)
                .map(|i| record(&format!("k{i}"), serde_json::json!({"i": i})))
                .collect();
            backend.produce("handover", &round).await.unwrap();
            written += 10;
        }
        let (x, y) = tokio::join!(
            a.poll(100, Duration::from_millis(200)),
            b.poll(100, Duration::from_millis(200))
        );
        let (x, y) = (x.unwrap(), y.unwrap());
        b_partitions.extend(y.iter().map(|r| r.partition));
        seen.extend(x.iter().chain(&y).map(|r| json(r)["i"].as_i64().unwrap()));
        // `a` acknowledges its records but never calls `commit_acked`.
        a.ack(&ends(&x)).unwrap();
        b.ack(&ends(&y)).unwrap();
        b.commit_acked().await.unwrap();
    }
    seen.sort_unstable();
    assert!(
        !b_partitions.is_empty(),
        "the second member got a partition"
    );
    assert_eq!(
        seen,
        (40..written as i64).collect::<Vec<i64>>(),
        "after the rebalance only the new records are read: the finished ones were committed \
         when their partition moved"
    );
}
