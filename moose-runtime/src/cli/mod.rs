//! The command line every app binary gets: `dev`, `start`, `plan`, `ddl`, `ls`, `openapi`, `top`,
//! `peek`.

mod ls;
mod settings;
pub mod top;

pub use ls::Listing;
pub use settings::{Settings, parse_properties};

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::clickhouse::{ClickHouse, ClickHouseConfig};
use crate::graph::App;
use crate::runtime::{Mode, Runtime, RuntimeConfig};
use crate::schema::{ClickHouseCapabilities, ServerVersion};
use crate::topology::Topology;

/// A moose pipeline app.
#[derive(Debug, Parser)]
#[command(version, about = "A moose pipeline: ingest APIs, streams, transforms and ClickHouse tables", long_about = None)]
pub struct Cli {
    /// What to do (default: `dev`).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Settings, from flags or `MOOSE_*` environment variables.
    #[command(flatten)]
    pub settings: Settings,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run locally: the embedded stream log under the data dir and a ClickHouse server started
    /// for you (or MOOSE_CLICKHOUSE_URL). Nothing to install but ClickHouse.
    Dev,
    /// Run with the backends the environment names (MOOSE_KAFKA_BROKERS, MOOSE_CLICKHOUSE_URL).
    Start,
    /// Print every CREATE TABLE and topic configuration this app needs, without changing anything.
    Ddl {
        /// Render for this ClickHouse version instead of asking MOOSE_CLICKHOUSE_URL (e.g. 18.16.1).
        #[arg(long)]
        server_version: Option<String>,
    },
    /// Compare the tables and topics that exist with what the code declares and print the
    /// changes `dev` would make (`start` makes the destructive ones only with
    /// --allow-destructive): + create, ~ change, - drop, ! blocked by the resource's
    /// lifecycle. Changes nothing; exits non-zero when a change is destructive or blocked.
    Plan {
        /// Print the plan as JSON, for tools.
        #[arg(long)]
        json: bool,
    },
    /// List what the app declares, in physical names: ingest routes, streams (partitions,
    /// retention, lifecycle, destination, dead-letter queue), tables (engine, order by),
    /// transforms and consumers, and the ClickHouse URL and database in use. Starts nothing.
    Ls {
        /// Print the listing as JSON, for tools.
        #[arg(long)]
        json: bool,
    },
    /// Write the OpenAPI 3.1 document of the ingest APIs (as served at `/openapi.json`).
    Openapi {
        /// Write it to this file instead of stdout.
        #[arg(long, short)]
        output: Option<std::path::PathBuf>,
    },
    /// Show the latest records of a stream or rows of a table, from the running app.
    Peek {
        /// Stream or table name, as declared.
        name: String,
        /// How many records or rows.
        #[arg(short = 'n', long, default_value_t = 10)]
        limit: usize,
    },
    /// A live view of the running app at MOOSE_HTTP_ADDR (from its `GET /stats`, with
    /// MOOSE_INGEST_TOKEN when set), refreshed every second: records in and out with rates,
    /// lag, errors and dead letters per ingest route, stream, transform, consumer and table,
    /// and readiness. q, Esc or Ctrl-C quits.
    Top {
        /// Print one frame as plain text (rates over one second) and exit, for scripts.
        #[arg(long)]
        once: bool,
        /// Print the rows (totals and rates over one second) as JSON and exit, for tools.
        #[arg(long, conflicts_with = "once")]
        json: bool,
    },
}

/// Env var choosing the log format: `json` (one JSON object per line, for log shippers) or
/// `text` (the default).
pub const LOG_FORMAT_ENV: &str = "MOOSE_LOG_FORMAT";

/// Parses the command line and runs `app`: the whole `main` of a pipeline binary. Logs go
/// to stderr through a `tracing` subscriber it installs (`RUST_LOG` filters them, default
/// `info`): plain text, coloured only when stderr is a terminal, or JSON lines with
/// `MOOSE_LOG_FORMAT=json`. It builds its own tokio runtime, so call it from a plain
/// `fn main`. Inside your own `#[tokio::main]`, use [`run_async`].
pub fn run(app: App) -> ExitCode {
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| "info,clickhouse=warn".into())
    };
    let format = std::env::var(LOG_FORMAT_ENV).unwrap_or_default();
    let _ = match format.trim() {
        "json" => tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter())
            .with_writer(std::io::stderr)
            .try_init(),
        "" | "text" => tracing_subscriber::fmt()
            .with_env_filter(filter())
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
        other => {
            eprintln!(
                "error: {LOG_FORMAT_ENV}={other:?} is not a log format; use `json` or `text`"
            );
            return ExitCode::FAILURE;
        }
    };
    match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime.block_on(run_async(app)),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

/// [`run`] for a program that has its own tokio runtime and `tracing` subscriber (it installs
/// neither): parses the command line and runs the subcommand on the caller's runtime.
pub async fn run_async(app: App) -> ExitCode {
    let cli = Cli::parse();
    let result = async {
        let config = cli.settings.into_config()?;
        match cli.command.unwrap_or(Command::Dev) {
            Command::Dev => serve(&app, &config, Mode::Dev).await,
            Command::Start => serve(&app, &config, Mode::Start).await,
            Command::Ddl { server_version } => ddl(&app, &config, server_version).await,
            Command::Plan { json } => plan(&app, &config, json).await,
            Command::Ls { json } => ls(&app, &config, json),
            Command::Openapi { output } => openapi(&app, &config, output.as_deref()),
            Command::Peek { name, limit } => peek(&config, &name, limit).await,
            Command::Top { once, json } => top::run(&config, once, json)
                .await
                .map_err(|e| e.to_string()),
        }
    }
    .await;
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(app: &App, config: &RuntimeConfig, mode: Mode) -> Result<(), String> {
    let runtime = Runtime::start(app, config, mode)
        .await
        .map_err(|e| e.to_string())?;
    announce(&runtime);
    wait_for_signal().await;
    eprintln!("shutting down: draining in-flight batches");
    runtime.shutdown().await;
    Ok(())
}

/// What a started app prints: its routes, tables and readiness probe.
fn announce(runtime: &Runtime) {
    let Some(addr) = runtime.http_addr() else {
        return;
    };
    for route in &runtime.topology.routes {
        for url in route.urls() {
            println!("ingest  POST http://{addr}{url}");
        }
    }
    for (_, table) in runtime.tables() {
        println!(
            "table   {} (ClickHouse {} at {})",
            table.qualified_name(),
            runtime.clickhouse.capabilities().version(),
            runtime.clickhouse.url()
        );
    }
    println!("ready   http://{addr}/ready");
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

async fn ddl(
    app: &App,
    config: &RuntimeConfig,
    server_version: Option<String>,
) -> Result<(), String> {
    let caps = match (server_version, &config.clickhouse_url) {
        (Some(v), _) => ClickHouseCapabilities::for_version(
            v.parse::<ServerVersion>().map_err(|e| e.to_string())?,
        ),
        (None, Some(url)) => {
            let mut ch = ClickHouseConfig::new(url.clone());
            ch.user = config.clickhouse_user.clone();
            ch.password = config.clickhouse_password.clone();
            *ClickHouse::connect(ch)
                .await
                .map_err(|e| e.to_string())?
                .capabilities()
        }
        (None, None) => ClickHouseCapabilities::MODERN,
    };
    print!("{}", render_ddl(app, config, &caps)?);
    Ok(())
}

/// What `ddl` prints: every `CREATE TABLE` for a server with `caps` (with its fallback
/// warnings as comments) and every topic's configuration.
pub fn render_ddl(
    app: &App,
    config: &RuntimeConfig,
    caps: &ClickHouseCapabilities,
) -> Result<String, String> {
    use std::fmt::Write as _;
    let topology = Topology::resolve(
        &app.graph(),
        config.namespace.as_deref(),
        &config.clickhouse_database,
        caps,
    )
    .map_err(|e| e.to_string())?;
    let mut out = format!("-- ClickHouse {}\n", caps.version());
    for table in &topology.resources.tables {
        for warning in &table.resolved.warnings {
            let _ = writeln!(out, "-- warning: {warning}");
        }
        let _ = writeln!(out, "{};\n", table.resolved.create_table_sql());
    }
    for topic in &topology.resources.topics {
        let _ = writeln!(
            out,
            "-- topic {}: partitions={} retention.ms={}",
            topic.spec.name,
            topic.spec.partitions,
            topic.spec.retention.as_millis()
        );
    }
    Ok(out)
}

/// `plan`: prints the plan; an error (exit status 1) when it has destructive or blocked steps.
async fn plan(app: &App, config: &RuntimeConfig, json: bool) -> Result<(), String> {
    let plan = crate::runtime::plan_app(app, config)
        .await
        .map_err(|e| e.to_string())?;
    if json {
        let text = serde_json::to_string_pretty(&plan).map_err(|e| e.to_string())?;
        println!("{text}");
    } else {
        print!("{plan}");
    }
    if plan.needs_attention() {
        return Err(format!(
            "the plan has {} destructive and {} blocked step(s); review them before `start --allow-destructive`",
            plan.destructive().count(),
            plan.blocked().count()
        ));
    }
    Ok(())
}

/// `openapi`: the document the running app would serve at `/openapi.json`.
pub fn openapi_json(app: &App, config: &RuntimeConfig) -> Result<serde_json::Value, String> {
    let topology = Topology::resolve(
        &app.graph(),
        config.namespace.as_deref(),
        &config.clickhouse_database,
        &ClickHouseCapabilities::MODERN,
    )
    .map_err(|e| e.to_string())?;
    Ok(crate::ingest::openapi_document(
        &topology.routes,
        !config.ingest.tokens.is_empty(),
    ))
}

fn openapi(
    app: &App,
    config: &RuntimeConfig,
    output: Option<&std::path::Path>,
) -> Result<(), String> {
    let text =
        serde_json::to_string_pretty(&openapi_json(app, config)?).map_err(|e| e.to_string())?;
    match output {
        Some(path) => std::fs::write(path, text + "\n").map_err(|e| {
            format!(
                "cannot write the OpenAPI document to {}: {e}",
                path.display()
            )
        }),
        None => {
            println!("{text}");
            Ok(())
        }
    }
}

/// `ls`: the listing, as text or JSON.
fn ls(app: &App, config: &RuntimeConfig, json: bool) -> Result<(), String> {
    let listing = Listing::of(app, config)?;
    if json {
        let text = serde_json::to_string_pretty(&listing).map_err(|e| e.to_string())?;
        println!("{text}");
    } else {
        print!("{listing}");
    }
    Ok(())
}

async fn peek(config: &RuntimeConfig, name: &str, limit: usize) -> Result<(), String> {
    let addr = config.http_addr;
    let unreachable = |e: std::io::Error| {
        format!(
            "cannot reach the app at http://{addr} ({e}); start it first (`cargo run -- dev`) or set MOOSE_HTTP_ADDR"
        )
    };
    let mut socket = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(unreachable)?;
    let path: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let request =
        format!("GET /peek/{path}?n={limit} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    socket
        .write_all(request.as_bytes())
        .await
        .map_err(unreachable)?;
    let mut response = Vec::new();
    socket
        .read_to_end(&mut response)
        .await
        .map_err(unreachable)?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let json: serde_json::Value = serde_json::from_str(body)
        .map_err(|_| format!("unexpected answer from the app: {head}"))?;
    if let Some(error) = json.get("error").and_then(|e| e.as_str()) {
        return Err(error.to_owned());
    }
    let items = json
        .get("rows")
        .or_else(|| json.get("records"))
        .and_then(|r| r.as_array())
        .cloned()
        .unwrap_or_default();
    for item in items {
        println!("{item}");
    }
    Ok(())
}
