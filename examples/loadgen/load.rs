//! Sending records as batched POSTs over K connections, at full speed or at a fixed rate.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use tokio::sync::mpsc;

use crate::records;
use crate::workload::Records;

/// What to send.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    pub records: usize,
    pub batch: usize,
    pub connections: usize,
    /// Rows per second in all; `None`: as fast as the server answers.
    pub rate: Option<f64>,
}

impl Load {
    pub fn batches(&self) -> usize {
        self.records.div_ceil(self.batch)
    }

    /// Records `first..first + count` of batch `index`.
    pub fn range(&self, index: usize) -> (usize, usize) {
        let first = index * self.batch;
        (first, self.batch.min(self.records - first))
    }
}

/// How a sampled record is found in the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleKey {
    /// The record's row as the watcher's `SELECT` prints it (TabSeparated).
    pub shown: String,
    /// Its key as an SQL literal, for `WHERE <key> IN (...)`.
    pub literal: String,
}

/// A record whose arrival in the table is timed: its key and when its request was sent.
#[derive(Debug, Clone)]
pub struct Sample {
    pub key: SampleKey,
    pub sent: Instant,
}

/// How the requests went.
pub struct Sent {
    /// Request latency (µs), from the request's scheduled start to its 200 (retries
    /// included), so a slow server cannot hide behind a fixed rate.
    pub latency: Histogram<u64>,
    pub first_send: Instant,
    pub last_ack: Instant,
    /// Requests answered with something other than 200, retried.
    pub retries: usize,
}

/// Where and how requests go.
#[derive(Clone)]
pub struct Target {
    pub url: String,
    pub format: records::BodyFormat,
    /// HTTP basic auth (ClickHouse).
    pub auth: Option<(String, String)>,
}

/// A loopback HTTP client holding up to `connections` connections.
pub fn client(connections: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(connections)
        .tcp_nodelay(true)
        .build()
        .expect("an HTTP client builds")
}

/// Sends every batch of `load` (from `records`) to `target`; every batch is retried until it
/// gets 200. Each batch's samples (`Records::samples`) are reported to `samples` once
/// acknowledged.
pub async fn send(
    load: Load,
    records: Records,
    target: Target,
    samples: Option<mpsc::UnboundedSender<Sample>>,
    progress: &indicatif::ProgressBar,
) -> Sent {
    let client = client(load.connections);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..load.connections {
        let (client, next, records, target, samples, progress) = (
            client.clone(),
            next.clone(),
            records.clone(),
            target.clone(),
            samples.clone(),
            progress.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latency = new_histogram();
            let mut retries = 0;
            let mut last_ack = start;
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= load.batches() {
                    break;
                }
                let (first, count) = load.range(index);
                let scheduled = match load.rate {
                    Some(rate) => {
                        let at = start + Duration::from_secs_f64(first as f64 / rate);
                        tokio::time::sleep_until(at.into()).await;
                        at
                    }
                    None => Instant::now(),
                };
                let body = records.body(first, count, target.format);
                retries += post_until_ok(&client, &target, body).await;
                let acked = Instant::now();
                progress.inc(count as u64);
                last_ack = last_ack.max(acked);
                let micros = acked.duration_since(scheduled).as_micros() as u64;
                latency.saturating_record(micros.max(1));
                if let Some(samples) = &samples {
                    for key in records.samples(first, count) {
                        let _ = samples.send(Sample {
                            key,
                            sent: scheduled,
                        });
                    }
                }
            }
            (latency, retries, last_ack)
        }));
    }
    let mut sent = Sent {
        latency: new_histogram(),
        first_send: start,
        last_ack: start,
        retries: 0,
    };
    for task in tasks {
        let (latency, retries, last_ack) = task.await.expect("a sender task does not panic");
        sent.latency.add(latency).expect("same histogram bounds");
        sent.retries += retries;
        sent.last_ack = sent.last_ack.max(last_ack);
    }
    sent
}

/// Posts until 200; returns how many attempts failed.
async fn post_until_ok(client: &reqwest::Client, target: &Target, body: Bytes) -> usize {
    let mut failed = 0;
    loop {
        let mut request = client
            .post(&target.url)
            .header("content-type", target.format.content_type())
            .body(body.clone());
        if let Some((user, password)) = &target.auth {
            request = request.basic_auth(user, Some(password));
        }
        match request.send().await {
            Ok(response) if response.status().is_success() => {
                // Read the answer so the connection is reused.
                let _ = response.bytes().await;
                return failed;
            }
            Ok(response) => {
                let status = response.status();
                let text = response.text().await.unwrap_or_default();
                if failed == 0 {
                    eprintln!(
                        "loadgen: {} answered {status}: {}; retrying",
                        target.url,
                        text.trim()
                    );
                }
            }
            Err(e) => {
                if failed == 0 {
                    eprintln!("loadgen: posting to {} failed: {e}; retrying", target.url);
                }
            }
        }
        failed += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Latencies in µs from 1 µs to 10 minutes, 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}
