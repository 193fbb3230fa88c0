//! [`Settings`]: the command line's flags with environment fallbacks (`MOOSE_*`), so
//! `--help`, the README and the environment describe the same settings; turned into the
//! typed [`RuntimeConfig`] the runtime takes.
//!
//! Over 400 lines: one documented flag per setting (the `--help` text), their conversion into
//! `RuntimeConfig`, and the tests of both.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser};

use crate::ingest::{
    DEFAULT_BODY_LIMIT, DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_MAX_CONNECTIONS,
    DEFAULT_REQUEST_BODY_TIMEOUT, IngestConfig,
};
use crate::runtime::RuntimeConfig;
use crate::worker::{
    DEFAULT_SYNC_MAX_BYTES, DEFAULT_SYNC_MAX_DELAY, DEFAULT_SYNC_MAX_ROWS, SyncConfig,
};
use std::time::Duration;

/// Settings shared by every command, from flags or `MOOSE_*` environment variables: what
/// [`Settings::into_config`] turns into a [`RuntimeConfig`]. `Debug` shows whether secrets
/// (passwords, tokens, extra Kafka properties) are set, never their values.
#[derive(Clone, Args)]
pub struct Settings {
    /// Address the HTTP server (ingest API, health, peek) listens on.
    #[arg(
        long,
        env = "MOOSE_HTTP_ADDR",
        default_value = "127.0.0.1:4000",
        global = true
    )]
    pub http_addr: SocketAddr,

    /// Directory for the embedded stream log and the local ClickHouse server's data.
    #[arg(long, env = "MOOSE_DATA_DIR", default_value = ".moose", global = true)]
    pub data_dir: PathBuf,

    /// ClickHouse HTTP URL; unset, a local server is started from the `clickhouse-server`
    /// binary on PATH with its data under the data dir.
    #[arg(long, env = "MOOSE_CLICKHOUSE_URL", global = true)]
    pub clickhouse_url: Option<String>,

    /// HTTP port of the local ClickHouse server (without a ClickHouse URL); unset, the port
    /// of the last start in this data dir, or a free one the first time.
    #[arg(long, env = "MOOSE_CLICKHOUSE_PORT", global = true)]
    pub clickhouse_port: Option<u16>,

    /// ClickHouse database for every table (created at start).
    #[arg(
        long,
        env = "MOOSE_CLICKHOUSE_DATABASE",
        default_value = "local",
        global = true
    )]
    pub clickhouse_database: String,

    /// ClickHouse user.
    #[arg(
        long,
        env = "MOOSE_CLICKHOUSE_USER",
        default_value = "default",
        global = true
    )]
    pub clickhouse_user: String,

    /// ClickHouse password.
    #[arg(
        long,
        env = "MOOSE_CLICKHOUSE_PASSWORD",
        default_value = "",
        hide_env_values = true,
        global = true
    )]
    pub clickhouse_password: String,

    /// Kafka/Redpanda bootstrap servers (`host:port,...`); unset, streams use the embedded log.
    #[arg(long, env = "MOOSE_KAFKA_BROKERS", global = true)]
    pub kafka_brokers: Option<String>,

    /// Kafka `security.protocol`: `plaintext`, `ssl`, `sasl_plaintext` or `sasl_ssl`; unset,
    /// `sasl_ssl` when a SASL user is set, `plaintext` otherwise.
    #[arg(long, env = "MOOSE_KAFKA_SECURITY_PROTOCOL", global = true)]
    pub kafka_security_protocol: Option<String>,

    /// Kafka SASL mechanism: `PLAIN`, `SCRAM-SHA-256` or `SCRAM-SHA-512`; unset, `PLAIN` when a
    /// SASL user is set.
    #[arg(long, env = "MOOSE_KAFKA_SASL_MECHANISM", global = true)]
    pub kafka_sasl_mechanism: Option<String>,

    /// Kafka SASL user name (managed Kafka/Redpanda: the API key).
    #[arg(long, env = "MOOSE_KAFKA_SASL_USERNAME", global = true)]
    pub kafka_sasl_username: Option<String>,

    /// Kafka SASL password (managed Kafka/Redpanda: the API secret).
    #[arg(
        long,
        env = "MOOSE_KAFKA_SASL_PASSWORD",
        hide_env_values = true,
        global = true
    )]
    pub kafka_sasl_password: Option<String>,

    /// Replication factor of the topics `start` creates on Kafka; unset, the broker's default.
    #[arg(long, env = "MOOSE_KAFKA_REPLICATION_FACTOR", global = true)]
    pub kafka_replication_factor: Option<u16>,

    /// Further librdkafka properties for every Kafka client, `name=value` pairs separated by
    /// commas (`ssl.ca.location=/etc/ca.pem,session.timeout.ms=10000`); they win over moose's
    /// own settings.
    #[arg(
        long,
        env = "MOOSE_KAFKA_CONFIG",
        hide_env_values = true,
        global = true
    )]
    pub kafka_config: Option<String>,

    /// `start` also applies destructive schema changes: drops of tables, topics and columns
    /// the code no longer declares, narrowing type changes, table re-creates (ORDER BY,
    /// engine, partitioning) and shorter retention. `dev` always does; `plan` shows them.
    #[arg(long, global = true)]
    pub allow_destructive: bool,

    /// Prefix for topic (`<ns>.<name>`) and table (`<ns>_<name>`) names.
    #[arg(long, env = "MOOSE_NAMESPACE", global = true)]
    pub namespace: Option<String>,

    /// Bearer token(s) ingest requires, comma separated; unset, ingest is open.
    #[arg(
        long,
        env = "MOOSE_INGEST_TOKEN",
        hide_env_values = true,
        global = true
    )]
    pub ingest_token: Option<String>,

    /// Largest ingest request body in bytes.
    #[arg(long, env = "MOOSE_INGEST_BODY_LIMIT", default_value_t = DEFAULT_BODY_LIMIT, global = true)]
    pub ingest_body_limit: usize,

    /// Milliseconds a client has to send its whole ingest request body; slower ones get 408.
    #[arg(long, env = "MOOSE_INGEST_BODY_TIMEOUT_MS", default_value_t = DEFAULT_REQUEST_BODY_TIMEOUT.as_millis() as u64, global = true)]
    pub ingest_body_timeout_ms: u64,

    /// Milliseconds a client has to send a request's line and headers; slower ones are
    /// disconnected without an answer.
    #[arg(long, env = "MOOSE_INGEST_HEADER_TIMEOUT_MS", default_value_t = DEFAULT_HEADER_READ_TIMEOUT.as_millis() as u64, global = true)]
    pub ingest_header_timeout_ms: u64,

    /// Open HTTP connections at most; a connection beyond them gets an immediate 503 with
    /// `Retry-After` and is closed.
    #[arg(long, env = "MOOSE_INGEST_MAX_CONNECTIONS", default_value_t = DEFAULT_MAX_CONNECTIONS, global = true)]
    pub ingest_max_connections: usize,

    /// Rows per ClickHouse insert at most.
    #[arg(long, env = "MOOSE_SYNC_MAX_ROWS", default_value_t = DEFAULT_SYNC_MAX_ROWS, global = true)]
    pub sync_max_rows: usize,

    /// Encoded bytes per ClickHouse insert at most.
    #[arg(long, env = "MOOSE_SYNC_MAX_BYTES", default_value_t = DEFAULT_SYNC_MAX_BYTES, global = true)]
    pub sync_max_bytes: usize,

    /// Longest a row waits before its batch is inserted, in milliseconds.
    #[arg(long, env = "MOOSE_SYNC_MAX_DELAY_MS", default_value_t = DEFAULT_SYNC_MAX_DELAY.as_millis() as u64, global = true)]
    pub sync_max_delay_ms: u64,

    /// A worker failing this long (a table sync ClickHouse refuses) makes `/ready` answer
    /// 503, in milliseconds.
    #[arg(long, env = "MOOSE_UNREADY_AFTER_MS", default_value_t = crate::worker::DEFAULT_UNREADY_AFTER.as_millis() as u64, global = true)]
    pub unready_after_ms: u64,

    /// Threads the transforms, consumers and table syncs run on, apart from ingest's and at
    /// a lower priority (default: one per core); 0 runs them beside ingest.
    #[arg(long, env = "MOOSE_WORKER_THREADS", global = true)]
    pub worker_threads: Option<usize>,

    /// How the embedded log stores records: `binary` (the models' compact form) or `json`.
    #[arg(long, env = "MOOSE_LOCAL_PAYLOAD", default_value = "binary", value_parser = ["binary", "json"], global = true)]
    pub local_payload: String,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Destructured whole, so a new field cannot be forgotten here.
        let Self {
            http_addr,
            data_dir,
            clickhouse_url,
            clickhouse_port,
            clickhouse_database,
            clickhouse_user,
            clickhouse_password,
            kafka_brokers,
            kafka_security_protocol,
            kafka_sasl_mechanism,
            kafka_sasl_username,
            kafka_sasl_password,
            kafka_replication_factor,
            kafka_config,
            allow_destructive,
            namespace,
            ingest_token,
            ingest_body_limit,
            ingest_body_timeout_ms,
            ingest_header_timeout_ms,
            ingest_max_connections,
            sync_max_rows,
            sync_max_bytes,
            sync_max_delay_ms,
            unready_after_ms,
            worker_threads,
            local_payload,
        } = self;
        let secret = |set: bool| if set { "<redacted>" } else { "<unset>" };
        let url = crate::runtime::redact_url(clickhouse_url.as_deref());
        f.debug_struct("Settings")
            .field("http_addr", http_addr)
            .field("data_dir", data_dir)
            .field("clickhouse_url", &url)
            .field("clickhouse_port", clickhouse_port)
            .field("clickhouse_database", clickhouse_database)
            .field("clickhouse_user", clickhouse_user)
            .field(
                "clickhouse_password",
                &secret(!clickhouse_password.is_empty()),
            )
            .field("kafka_brokers", kafka_brokers)
            .field("kafka_security_protocol", kafka_security_protocol)
            .field("kafka_sasl_mechanism", kafka_sasl_mechanism)
            .field("kafka_sasl_username", kafka_sasl_username)
            .field(
                "kafka_sasl_password",
                &secret(kafka_sasl_password.is_some()),
            )
            .field("kafka_replication_factor", kafka_replication_factor)
            .field("kafka_config", &secret(kafka_config.is_some()))
            .field("allow_destructive", allow_destructive)
            .field("namespace", namespace)
            .field("ingest_token", &secret(ingest_token.is_some()))
            .field("ingest_body_limit", ingest_body_limit)
            .field("ingest_body_timeout_ms", ingest_body_timeout_ms)
            .field("ingest_header_timeout_ms", ingest_header_timeout_ms)
            .field("ingest_max_connections", ingest_max_connections)
            .field("sync_max_rows", sync_max_rows)
            .field("sync_max_bytes", sync_max_bytes)
            .field("sync_max_delay_ms", sync_max_delay_ms)
            .field("unready_after_ms", unready_after_ms)
            .field("worker_threads", worker_threads)
            .field("local_payload", local_payload)
            .finish()
    }
}

impl Settings {
    /// The settings of the environment alone (`MOOSE_*` and defaults, no flags): for a
    /// process that runs an app without a command line of its own.
    pub fn from_env() -> Settings {
        #[derive(Parser)]
        struct Wrapper {
            #[command(flatten)]
            settings: Settings,
        }
        Wrapper::parse_from(["moose"]).settings
    }

    /// The typed configuration; an error names the setting that is wrong.
    pub fn into_config(self) -> Result<RuntimeConfig, String> {
        #[cfg(not(feature = "kafka"))]
        if self.kafka_brokers.is_some() {
            return Err(
                "MOOSE_KAFKA_BROKERS is set, but this build has no Kafka support: build \
                        moose with its `kafka` feature (on by default), or unset \
                        MOOSE_KAFKA_BROKERS to use the embedded log"
                    .into(),
            );
        }
        let tokens = self
            .ingest_token
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        Ok(RuntimeConfig {
            http_addr: self.http_addr,
            serve_http: true,
            data_dir: self.data_dir,
            clickhouse_url: self.clickhouse_url,
            local_clickhouse_port: self.clickhouse_port,
            clickhouse_database: self.clickhouse_database,
            clickhouse_user: self.clickhouse_user,
            clickhouse_password: self.clickhouse_password,
            #[cfg(feature = "kafka")]
            kafka: match self.kafka_brokers {
                Some(brokers) => Some(crate::stream::kafka::KafkaConfig {
                    brokers,
                    security_protocol: self.kafka_security_protocol,
                    sasl_mechanism: self.kafka_sasl_mechanism,
                    sasl_username: self.kafka_sasl_username,
                    sasl_password: self.kafka_sasl_password,
                    replication_factor: self.kafka_replication_factor.map(i32::from),
                    properties: match &self.kafka_config {
                        Some(list) => parse_properties(list)
                            .map_err(|e| format!("MOOSE_KAFKA_CONFIG: {e}"))?,
                        None => Vec::new(),
                    },
                }),
                None => None,
            },
            allow_destructive: self.allow_destructive,
            namespace: self.namespace,
            ingest: IngestConfig {
                body_limit: self.ingest_body_limit,
                tokens,
                request_body_timeout: Duration::from_millis(self.ingest_body_timeout_ms),
                header_read_timeout: Duration::from_millis(self.ingest_header_timeout_ms),
                max_connections: self.ingest_max_connections,
            },
            sync: SyncConfig {
                max_rows: self.sync_max_rows.max(1),
                max_bytes: self.sync_max_bytes.max(1),
                max_delay: Duration::from_millis(self.sync_max_delay_ms),
            },
            unready_after: Duration::from_millis(self.unready_after_ms),
            worker_threads: self
                .worker_threads
                .unwrap_or_else(crate::runtime::default_worker_threads),
            local_payload: if self.local_payload == "json" {
                crate::schema::PayloadFormat::Json
            } else {
                crate::schema::PayloadFormat::Binary
            },
        })
    }
}

/// Parses `key=value` pairs separated by commas (`MOOSE_KAFKA_CONFIG`). A piece without `=`
/// continues the previous value, so list values such as
/// `partition.assignment.strategy=range,roundrobin` need no quoting.
pub fn parse_properties(list: &str) -> Result<Vec<(String, String)>, String> {
    let mut out: Vec<(String, String)> = Vec::new();
    for piece in list.split(',') {
        match piece.split_once('=') {
            Some((key, value)) => {
                let key = key.trim();
                if key.is_empty() {
                    return Err(format!(
                        "Kafka property `{piece}` has no name; write `name=value` pairs separated by commas"
                    ));
                }
                out.push((key.to_owned(), value.trim().to_owned()));
            }
            None if piece.trim().is_empty() => {}
            None => match out.last_mut() {
                Some((_, value)) => {
                    value.push(',');
                    value.push_str(piece.trim());
                }
                None => {
                    return Err(format!(
                        "Kafka property `{}` has no value; write `name=value` pairs separated by commas",
                        piece.trim()
                    ));
                }
            },
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::Settings;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        config: Settings,
    }

    #[test]
    fn properties_are_pairs_and_list_values_survive() {
        assert_eq!(
            super::parse_properties(
                "session.timeout.ms=6000, partition.assignment.strategy=range,roundrobin,debug=cgrp"
            )
            .unwrap(),
            [
                ("session.timeout.ms".to_owned(), "6000".to_owned()),
                (
                    "partition.assignment.strategy".to_owned(),
                    "range,roundrobin".to_owned()
                ),
                ("debug".to_owned(), "cgrp".to_owned()),
            ]
        );
        assert_eq!(super::parse_properties("").unwrap(), []);
        assert!(super::parse_properties("linger.ms").is_err());
        assert!(super::parse_properties("=5").is_err());
    }

    #[test]
    fn tokens_are_a_trimmed_comma_list_and_milliseconds_become_durations() {
        let config = Cli::parse_from([
            "app",
            "--ingest-token",
            " alpha ,beta,,",
            "--sync-max-delay-ms",
            "250",
        ])
        .config
        .into_config()
        .unwrap();
        assert_eq!(config.ingest.tokens, ["alpha", "beta"]);
        assert_eq!(config.sync.max_delay, std::time::Duration::from_millis(250));
    }

    #[test]
    fn debug_output_shows_no_secrets() {
        let cli = Cli::parse_from([
            "app",
            "--clickhouse-url",
            "http://admin:url-secret@ch:8123",
            "--clickhouse-password",
            "ch-secret",
            "--kafka-brokers",
            "b:9092",
            "--kafka-sasl-password",
            "sasl-secret",
            "--kafka-config",
            "ssl.key.password=props-secret",
            "--ingest-token",
            "token-secret",
        ]);
        let shown = format!("{:?}", cli.config);
        assert!(
            shown.contains("b:9092") && shown.contains("ch:8123"),
            "{shown}"
        );
        for secret in [
            "url-secret",
            "ch-secret",
            "sasl-secret",
            "props-secret",
            "token-secret",
        ] {
            assert!(!shown.contains(secret), "{secret} shown in {shown}");
        }
    }
}
