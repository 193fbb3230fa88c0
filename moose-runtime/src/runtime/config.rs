//! [`RuntimeConfig`]: everything the runtime needs to run an app, as typed values. Build it in
//! code, or let the command line fill it from flags and `MOOSE_*` variables
//! ([`Settings`](crate::cli::Settings)); the runtime itself never reads the environment.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::clickhouse::DEFAULT_DATABASE;
use crate::ingest::IngestConfig;
#[cfg(feature = "kafka")]
use crate::stream::kafka::KafkaConfig;
use crate::worker::SyncConfig;

/// Where an app runs and with which limits. `Default` is dev on this machine: HTTP on
/// `127.0.0.1:4000`, data under `.moose`, a local ClickHouse server, the embedded log.
/// `Debug` shows whether secrets (passwords, tokens, Kafka credentials) are set, never their
/// values.
///
/// ```
/// use std::time::Duration;
/// use moose_runtime::runtime::RuntimeConfig;
///
/// let mut config = RuntimeConfig::default();
/// config.http_addr = "127.0.0.1:0".parse()?;
/// config.ingest.tokens = vec!["s3cret".into()];
/// config.sync.max_delay = Duration::from_millis(200);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct RuntimeConfig {
    /// Address the HTTP server (ingest, probes, peek) listens on; port 0 picks a free one
    /// ([`Runtime::http_addr`](super::Runtime::http_addr) says which).
    pub http_addr: SocketAddr,
    /// Whether the runtime serves HTTP itself. Off, mount
    /// [`Runtime::router`](super::Runtime::router) into your own server instead.
    pub serve_http: bool,
    /// Directory of the embedded stream log, the table syncs' ledgers and the local
    /// ClickHouse server's data.
    pub data_dir: PathBuf,
    /// ClickHouse HTTP URL; `None` starts a local server from the `clickhouse-server` binary
    /// on PATH with its data under [`RuntimeConfig::data_dir`].
    pub clickhouse_url: Option<String>,
    /// HTTP port of the local ClickHouse server (when `clickhouse_url` is `None`); `None`:
    /// the port of the last start in this data dir, or a free one the first time.
    pub local_clickhouse_port: Option<u16>,
    /// ClickHouse database for every table (created at start).
    pub clickhouse_database: String,
    /// ClickHouse user.
    pub clickhouse_user: String,
    /// ClickHouse password.
    pub clickhouse_password: String,
    /// Kafka/Redpanda, used by [`Mode::Start`](super::Mode::Start); `None` (and always in
    /// dev mode): the embedded log.
    #[cfg(feature = "kafka")]
    pub kafka: Option<KafkaConfig>,
    /// [`Mode::Start`](super::Mode::Start) also applies destructive schema changes (drops,
    /// narrowing type changes, re-creates, shorter retention). Dev always does.
    pub allow_destructive: bool,
    /// Prefix for topic (`<ns>.<name>`) and table (`<ns>_<name>`) names.
    pub namespace: Option<String>,
    /// Limits and authentication of every route but the probes.
    pub ingest: IngestConfig,
    /// Batching of table syncs.
    pub sync: SyncConfig,
    /// A worker failing this long makes `/ready` answer 503
    /// ([`DEFAULT_UNREADY_AFTER`](crate::worker::DEFAULT_UNREADY_AFTER)).
    pub unready_after: std::time::Duration,
    /// Threads of the workers' own runtime, apart from ingest's and at a lower priority
    /// (default: one per core); 0 runs them on the caller's runtime, beside ingest.
    pub worker_threads: usize,
    /// How the embedded log stores records: the models' binary form (default), or JSON to
    /// compare the two. Kafka topics are always JSON.
    pub local_payload: crate::schema::PayloadFormat,
}

/// Worker threads by default: one per core.
pub fn default_worker_threads() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            http_addr: SocketAddr::from(([127, 0, 0, 1], 4000)),
            serve_http: true,
            data_dir: PathBuf::from(".moose"),
            clickhouse_url: None,
            local_clickhouse_port: None,
            clickhouse_database: DEFAULT_DATABASE.to_owned(),
            clickhouse_user: "default".to_owned(),
            clickhouse_password: String::new(),
            #[cfg(feature = "kafka")]
            kafka: None,
            allow_destructive: false,
            namespace: None,
            ingest: IngestConfig::default(),
            sync: SyncConfig::default(),
            unready_after: crate::worker::DEFAULT_UNREADY_AFTER,
            worker_threads: default_worker_threads(),
            local_payload: crate::schema::PayloadFormat::Binary,
        }
    }
}

impl std::fmt::Debug for RuntimeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Destructured whole, so a new field cannot be forgotten here.
        let Self {
            http_addr,
            serve_http,
            data_dir,
            clickhouse_url,
            local_clickhouse_port,
            clickhouse_database,
            clickhouse_user,
            clickhouse_password,
            #[cfg(feature = "kafka")]
            kafka,
            allow_destructive,
            namespace,
            ingest,
            sync,
            unready_after,
            worker_threads,
            local_payload,
        } = self;
        let url = redact_url(clickhouse_url.as_deref());
        let mut out = f.debug_struct("RuntimeConfig");
        out.field("http_addr", http_addr)
            .field("serve_http", serve_http)
            .field("data_dir", data_dir)
            .field("clickhouse_url", &url)
            .field("local_clickhouse_port", local_clickhouse_port)
            .field("clickhouse_database", clickhouse_database)
            .field("clickhouse_user", clickhouse_user)
            .field(
                "clickhouse_password",
                &if clickhouse_password.is_empty() {
                    "<unset>"
                } else {
                    "<redacted>"
                },
            );
        #[cfg(feature = "kafka")]
        out.field("kafka", kafka);
        out.field("allow_destructive", allow_destructive)
            .field("namespace", namespace)
            .field("ingest", ingest)
            .field("sync", sync)
            .field("unready_after", unready_after)
            .field("worker_threads", worker_threads)
            .field("local_payload", local_payload)
            .finish()
    }
}

/// A URL for `Debug` output: its `user:password@` part, if any, redacted.
pub(crate) fn redact_url(url: Option<&str>) -> Option<String> {
    url.map(|url| match url.split_once('@') {
        Some((_, host)) => format!("<redacted>@{host}"),
        None => url.to_owned(),
    })
}
