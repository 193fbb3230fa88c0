//! The dashboard's routes serve the embedded page and every file it loads, from this
//! origin only.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::{INDEX_HTML, SCRIPT_JS, STYLE_CSS, dashboard_router};

async fn get(path: &str) -> (StatusCode, axum::http::HeaderMap, String) {
    let response = dashboard_router()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn the_page_is_html_that_loads_only_files_this_router_serves() {
    let (status, headers, body) = get("/dashboard").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert!(
        headers[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    assert_eq!(body, INDEX_HTML);
    // Every script and stylesheet the page names is relative to /dashboard and served here.
    let mut loaded = 0;
    for attribute in ["src=\"", "href=\""] {
        for (at, _) in body.match_indices(attribute) {
            let rest = &body[at + attribute.len()..];
            let url = &rest[..rest.find('"').unwrap()];
            if url.starts_with("data:") {
                continue;
            }
            assert!(!url.contains("//"), "{url} would be fetched from elsewhere");
            let (status, _, _) = get(&format!("/{url}")).await;
            assert_eq!(status, StatusCode::OK, "{url} is served");
            loaded += 1;
        }
    }
    assert_eq!(loaded, 2, "the page loads its script and its style");
}

#[tokio::test]
async fn the_script_and_style_are_served_with_their_types() {
    let (status, headers, body) = get("/dashboard/dashboard.js").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        headers[header::CONTENT_TYPE],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(body, SCRIPT_JS);
    let (status, headers, body) = get("/dashboard/dashboard.css").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/css; charset=utf-8");
    assert_eq!(body, STYLE_CSS);
}

#[test]
fn nothing_is_fetched_from_another_origin() {
    // The machine running `dev` may have no internet: no CDN, no web font. The only
    // absolute URL is the SVG namespace, which names, and never fetches.
    for (file, text) in [
        ("index.html", INDEX_HTML),
        ("dashboard.js", SCRIPT_JS),
        ("dashboard.css", STYLE_CSS),
    ] {
        let absolute = text.matches("://").count();
        let namespace = text.matches("http://www.w3.org/2000/svg").count();
        assert_eq!(absolute, namespace, "{file} names another origin");
        assert!(!text.contains("@import"), "{file} imports");
    }
    // The page polls what the contract names, relative to where it is mounted.
    assert!(SCRIPT_JS.contains("fetch('stats'"));
    assert!(SCRIPT_JS.contains("fetch(`peek/"));
}
