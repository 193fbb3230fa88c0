//! The runtime embedded in a program of your own: your `#[tokio::main]`, your `tracing`
//! subscriber, your axum server with a route of yours beside moose's routes.
//!
//! ```text
//! MOOSE_CLICKHOUSE_URL=http://127.0.0.1:8123 cargo run --example embedded
//! curl http://127.0.0.1:4000/hello
//! curl -X POST http://127.0.0.1:4000/ingest/raw_data -d '{"id": "a", "value": 1}'
//! ```
//!
//! moose's routes keep their auth layer (`MOOSE_INGEST_TOKEN`) and body limits when mounted;
//! your own routes are yours to protect.

use axum::routing::get;
use moose::prelude::*;
use moose::{Mode, Runtime};

/// The seed's ingest pipeline model.
#[data_model]
#[derive(Debug, Clone)]
pub struct RawData {
    /// Record id.
    #[key]
    pub id: String,
    /// The measured value.
    pub value: f64,
}

/// `raw_data`: ingest API, stream and table.
pub fn app() -> App {
    let app = App::new();
    app.ingest_pipeline::<RawData>(
        "raw_data",
        IngestPipelineConfig::new()
            .ingest(true)
            .stream(true)
            .table(true),
    )
    .expect("a valid pipeline");
    app
}

#[tokio::main]
pub async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    // Settings from MOOSE_* variables, because this program asks for them; the runtime itself
    // reads no environment.
    let mut config = moose::cli::Settings::from_env().into_config()?;
    config.serve_http = false;
    let runtime = Runtime::start(&app(), &config, Mode::Dev).await?;

    let router = axum::Router::new()
        .route(
            "/hello",
            get(|| async { "hello from the embedding program" }),
        )
        .merge(runtime.router());
    let listener = tokio::net::TcpListener::bind(config.http_addr).await?;
    tracing::info!("serving http://{}", listener.local_addr()?);
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    .expect("a SIGTERM handler");
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        })
        .await?;
    runtime.shutdown().await;
    Ok(())
}
