//! `GET /dashboard`: the dev dashboard, one page served from the binary.
//!
//! The page draws the pipeline as a graph (ingest routes, streams, transforms, consumers,
//! tables, dead-letter queues) with live rates and lag on its edges, polling `GET /stats`
//! once per second; clicking a stream or table shows its latest records from
//! `GET /peek/<name>`. Everything it needs is in this module's `assets/` folder, compiled in
//! with `include_str!`: no build step, nothing fetched from elsewhere (the page works on a
//! machine without internet), and a `Content-Security-Policy` that allows only this origin.
//!
//! The page's own URLs are relative (`dashboard/dashboard.js`, `stats`, `peek/...`), so an
//! app that nests the runtime's router under a prefix keeps a working dashboard.
//!
//! ```
//! let app: axum::Router = moose_runtime::dashboard::dashboard_router();
//! # let _ = app;
//! ```

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

/// The page: markup only; script and style are served beside it.
const INDEX_HTML: &str = include_str!("assets/index.html");
/// Polling, graph layout and drawing, the records panel.
const SCRIPT_JS: &str = include_str!("assets/dashboard.js");
/// The page's look.
const STYLE_CSS: &str = include_str!("assets/dashboard.css");

/// The page's path.
pub const DASHBOARD_PATH: &str = "/dashboard";

/// Only this origin: the page loads its script, style and data from the app itself and
/// nothing inline, so a record's text shown in the page cannot run as code.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// The dashboard's routes: `GET /dashboard` (the page) and its script and style under
/// `/dashboard/`.
///
/// The router has no state and no auth of its own: the runtime merges it next to `/peek`
/// behind the ingest auth layer (see [`crate::ingest::router_with`]), so when tokens are
/// configured the page, like `/stats` and `/peek` that it reads, needs the bearer token.
pub fn dashboard_router() -> Router {
    Router::new()
        .route(
            DASHBOARD_PATH,
            get(|| asset("text/html; charset=utf-8", INDEX_HTML)),
        )
        .route(
            "/dashboard/dashboard.js",
            get(|| asset("text/javascript; charset=utf-8", SCRIPT_JS)),
        )
        .route(
            "/dashboard/dashboard.css",
            get(|| asset("text/css; charset=utf-8", STYLE_CSS)),
        )
}

/// One embedded file. `no-cache`: a browser revalidates, so a rebuilt app is never shown
/// with the previous build's script.
async fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        ],
        body,
    )
}

#[cfg(test)]
mod tests;
