//! `GET /api/v1/openapi.json`.
//!
//! Written by hand rather than derived: `Event` (de)serialises through the
//! ECS codec (nested or dotted keys, typed bodies), which a derive macro
//! would describe wrongly. A test below checks the document against the
//! router so the two cannot drift apart.

use axum::http::header;
use axum::response::IntoResponse;

pub(crate) const DOCUMENT: &str = include_str!("openapi.json");

pub(crate) async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}

#[cfg(test)]
mod tests {
    use super::DOCUMENT;

    #[test]
    fn document_is_valid_json_and_lists_every_route() {
        let doc: serde_json::Value = serde_json::from_str(DOCUMENT).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = doc["paths"].as_object().unwrap();
        for (path, methods) in [
            ("/api/v1/events", &["get", "post"][..]),
            ("/api/v1/alerts", &["get"][..]),
            ("/api/v1/alerts/{id}", &["get", "patch"][..]),
            ("/api/v1/decisions", &["get", "post", "delete"][..]),
            ("/api/v1/decisions/stream", &["get"][..]),
            ("/api/v1/decisions/{id}", &["delete"][..]),
            ("/api/v1/actions", &["get"][..]),
            ("/api/v1/stats", &["get"][..]),
            ("/api/v1/openapi.json", &["get"][..]),
            ("/healthz", &["get"][..]),
            ("/readyz", &["get"][..]),
            ("/metrics", &["get"][..]),
        ] {
            for m in methods {
                assert!(paths[path][m].is_object(), "{m} {path} undocumented");
            }
        }
        // Every route the router declares is documented, under /api/v1 or at the root.
        let lib = include_str!("lib.rs");
        for route in lib.lines().filter_map(|l| l.trim().strip_prefix(".route(\"")) {
            let path = route.split('"').next().unwrap();
            let nested = format!("/api/v1{path}");
            assert!(paths.contains_key(path) || paths.contains_key(&nested), "route {path} is not in openapi.json");
        }
    }
}
