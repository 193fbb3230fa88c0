//! Micro-benchmarks of the per-record hot path, on the seed's chained models (small records,
//! batches of 10k as the workers use them):
//!
//! - `ingest/decode_body/{json,binary}`: a JSON array body split and decoded by the ingest
//!   API, the records encoded as JSON (Kafka) or the model's binary form (embedded log);
//! - `row/write_row`: typed records to RowBinary (`DataModel::write_row`);
//! - `row/sync_encode/{json,binary}`: stream payloads to RowBinary, as the table sync does
//!   (payload decode included);
//! - `transform/apply_batch/{json,binary}`: one transform step (`double`), payloads in,
//!   encoded records out;
//! - `log/produce`: one batch appended to the embedded log and fsynced;
//! - `log/poll`: one batch read back from the embedded log.
//!
//! Run with `cargo bench --bench hot_path` (never part of `cargo test`).

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use moose::{ClickHouseCapabilities, DataModel, OlapConfig, ResolvedTable, ServerVersion};
use moose_runtime::graph::{EncodedRecord, ModelCodec, erase_transform};
use moose_runtime::ingest::{BodyFormat, decode_body};
use moose_runtime::schema::{PayloadFormat, payload};
use moose_runtime::stream::local::LocalLog;
use moose_runtime::stream::{MemberId, StreamBackend, TopicAdmin, TopicSpec};

#[path = "../examples/chained_transforms.rs"]
#[allow(dead_code)]
mod chained;

use chained::{FinalData, IntermediateData, RawData};

/// Records per batch: a transform worker's poll and a typical ingest request.
const BATCH: usize = 10_000;

/// Both payload formats: JSON (Kafka) and the models' binary form (the embedded log).
const FORMATS: [(&str, PayloadFormat); 2] = [
    ("json", PayloadFormat::Json),
    ("binary", PayloadFormat::Binary),
];

/// A JSON array of `BATCH` raw records, as a client posts them.
fn raw_body() -> Vec<u8> {
    let mut body = b"[".to_vec();
    for i in 0..BATCH {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(format!(r#"{{"id":"r{i:09}","value":{}.5}}"#, i % 1000).as_bytes());
    }
    body.push(b']');
    body
}

fn final_records() -> Vec<FinalData> {
    (0..BATCH)
        .map(|i| FinalData {
            id: format!("r{i:09}"),
            transformed_value: i as f64 * 2.0,
            another_transformed_value: i as f64 * 3.0,
            transformed_at: chrono::Utc::now(),
        })
        .collect()
}

/// The final table's column types on Debian's ClickHouse 18.16.
fn final_types() -> Vec<moose::ColumnType> {
    let caps = ClickHouseCapabilities::for_version(ServerVersion::new(18, 16, 1));
    ResolvedTable::resolve::<FinalData>("local", "final_stream", &OlapConfig::default(), &caps)
        .expect("the final table resolves for 18.16")
        .column_types()
        .to_vec()
}

fn ingest(c: &mut Criterion) {
    let body = raw_body();
    let codec = ModelCodec::of::<RawData>();
    let mut group = c.benchmark_group("ingest");
    group.throughput(Throughput::Elements(BATCH as u64));
    for (name, format) in FORMATS {
        group.bench_function(format!("decode_body/{name}"), |b| {
            b.iter(|| decode_body(&body, BodyFormat::Json, &codec, format).expect("valid body"))
        });
    }
    group.finish();
}

fn row(c: &mut Criterion) {
    let records = final_records();
    let types = final_types();
    let codec = ModelCodec::of::<FinalData>();
    let mut group = c.benchmark_group("row");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("write_row", |b| {
        let mut out = Vec::with_capacity(BATCH * 64);
        b.iter(|| {
            out.clear();
            for record in &records {
                record.write_row(&types, &mut out).expect("encodes");
            }
            out.len()
        })
    });
    for (name, format) in FORMATS {
        let payloads: Vec<Vec<u8>> = records.iter().map(|r| payload::encode(r, format)).collect();
        group.bench_function(format!("sync_encode/{name}"), |b| {
            let mut out = Vec::with_capacity(BATCH * 64);
            b.iter(|| {
                out.clear();
                for payload in &payloads {
                    (codec.write_row)(payload, &types, &mut out).expect("encodes");
                }
                out.len()
            })
        });
    }
    group.finish();
}

fn transform(c: &mut Criterion) {
    let codec = ModelCodec::of::<RawData>();
    let double = erase_transform::<RawData, IntermediateData, _, _>(chained::double);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("transform");
    group.throughput(Throughput::Elements(BATCH as u64));
    for (name, format) in FORMATS {
        let inputs: Vec<EncodedRecord> =
            decode_body(&raw_body(), BodyFormat::Json, &codec, format).expect("valid body");
        let payloads: Vec<&[u8]> = inputs.iter().map(|r| r.payload.as_slice()).collect();
        group.bench_function(format!("apply_batch/{name}"), |b| {
            b.iter(|| rt.block_on(double.apply_batch(&payloads, format)).len())
        });
    }
    group.finish();
}

fn log(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("temp dir");
    let log = LocalLog::open(dir.path()).expect("log opens");
    let spec = |name: &str| TopicSpec {
        name: name.to_owned(),
        partitions: 1,
        retention: Duration::from_secs(3600),
    };
    let codec = ModelCodec::of::<RawData>();
    let records: Vec<EncodedRecord> =
        decode_body(&raw_body(), BodyFormat::Json, &codec, log.payload_format())
            .expect("valid body");
    rt.block_on(async {
        log.ensure_topic(&spec("append")).await.expect("topic");
        log.ensure_topic(&spec("read")).await.expect("topic");
        log.produce("read", &records).await.expect("produce");
    });
    let mut group = c.benchmark_group("log");
    group.throughput(Throughput::Elements(BATCH as u64));
    // Each iteration writes ~0.5 MB and fsyncs: keep the run (and the disk used) short.
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(4));
    group.bench_function("produce", |b| {
        b.iter(|| {
            rt.block_on(log.produce("append", &records))
                .expect("produce")
        })
    });
    group.bench_function("poll", |b| {
        b.iter_batched(
            // A fresh member (nothing is committed) reads from offset 0; joining is not timed.
            || {
                rt.block_on(log.consumer("read", "bench", MemberId::SOLE))
                    .expect("consumer")
            },
            |mut consumer| {
                let batch = rt
                    .block_on(consumer.poll(BATCH, Duration::from_secs(1)))
                    .expect("poll");
                assert_eq!(batch.len(), BATCH);
                batch
            },
            criterion::BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, ingest, row, transform, log);
criterion_main!(benches);
