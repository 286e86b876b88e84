//! `GET /api/v1/openapi.json`: the OpenAPI document, generated.
//!
//! Every route is registered through utoipa-axum's `routes!` (lib.rs), which
//! takes its path, method, parameters, request body and answers from the
//! `#[utoipa::path]` annotation on the handler itself; request bodies and
//! answers are the handlers' own types (`ToSchema`), query parameters the
//! structs whose field names the handlers accept (`IntoParams`). So a route
//! cannot exist undocumented, nor a parameter be accepted that the document
//! does not name. One schema is written by hand: `Event`, which travels
//! through the ECS codec (nested or dotted keys, typed bodies) that a derive
//! would describe wrongly (`event_schema.json`). The suite runs schemathesis
//! against a live server to hold answers to the document.

use std::borrow::Cow;
use std::sync::LazyLock;

use axum::http::header;
use axum::response::IntoResponse;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{Modify, OpenApi, PartialSchema, ToSchema};

/// The document's frame: title, servers, the bearer scheme.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Rampart API",
        version = "1",
        description = "Real-time intrusion detection and prevention. Every /api/v1 call needs \
                       `Authorization: Bearer TOKEN`; reader tokens may only GET (and may not list tokens). \
                       Limits, timeouts and what readers see: docs/SECURITY.md."
    ),
    servers((url = "http://127.0.0.1:8080")),
    modifiers(&BearerAuth)
)]
pub(crate) struct Frame;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// An event as Elastic Common Schema JSON (see the module doc).
pub(crate) struct EcsEvent;

static EVENT_SCHEMA: LazyLock<Schema> = LazyLock::new(|| {
    serde_json::from_str(include_str!("event_schema.json"))
        .expect("event_schema.json is a valid schema (a test reads it)")
});

impl PartialSchema for EcsEvent {
    fn schema() -> RefOr<Schema> {
        RefOr::T(EVENT_SCHEMA.clone())
    }
}

impl ToSchema for EcsEvent {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Event")
    }
}

/// A value of `schema_type` in a known format.
fn formatted(schema_type: Type, format: KnownFormat) -> ObjectBuilder {
    ObjectBuilder::new().schema_type(schema_type).format(Some(SchemaFormat::KnownFormat(format)))
}

/// An IPv4 or IPv6 address (OpenAPI has no one format for both).
pub(crate) fn ip_address() -> Schema {
    OneOfBuilder::new()
        .item(formatted(Type::String, KnownFormat::Ipv4))
        .item(formatted(Type::String, KnownFormat::Ipv6))
        .build()
        .into()
}

/// A time bound in a query: RFC 3339 or epoch milliseconds.
pub(crate) fn time_bound() -> Schema {
    OneOfBuilder::new()
        .item(formatted(Type::String, KnownFormat::DateTime))
        .item(formatted(Type::Integer, KnownFormat::Int64))
        .build()
        .into()
}

/// A decision's target: an address, a range, or `pid:N`.
pub(crate) fn decision_target() -> Schema {
    let pid = ObjectBuilder::new().schema_type(Type::String).pattern(Some(r"^pid:[1-9][0-9]{0,8}$"));
    OneOfBuilder::new()
        .item(formatted(Type::String, KnownFormat::Ipv4))
        .item(formatted(Type::String, KnownFormat::Ipv6))
        .item(pid)
        .description(Some("an address, a CIDR range (its network address, e.g. 198.51.100.0/24) or pid:N"))
        .build()
        .into()
}

/// One message of a server-sent event stream, as a client parses it.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // Describes the stream's framing.
pub(crate) struct SseMessage {
    /// The message's name: event, alert, decision, action, stats, host.
    event: Option<String>,
    /// Its JSON body.
    data: String,
}

/// `POST /events` with `application/json`: one event, or an array of 1 to
/// 10,000 of them (the default `ingest.max_batch_events`).
pub(crate) struct EventBatch;

impl PartialSchema for EventBatch {
    fn schema() -> RefOr<Schema> {
        use utoipa::openapi::schema::{ArrayBuilder, Ref};
        let event = Ref::from_schema_name("Event");
        let many = ArrayBuilder::new().items(event.clone()).min_items(Some(1)).max_items(Some(10_000));
        RefOr::T(OneOfBuilder::new().item(event).item(many).build().into())
    }
}

impl ToSchema for EventBatch {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("EventBatch")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((EcsEvent::name().into_owned(), EcsEvent::schema()));
    }
}

/// The whole document as JSON, built once from the same routes the router
/// serves.
pub fn document() -> &'static str {
    static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
        let openapi = crate::documented_routes().into_openapi();
        openapi.to_pretty_json().expect("an OpenAPI document always serialises")
    });
    &DOCUMENT
}

/// The OpenAPI 3.1 document for this API.
#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    tag = "meta",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "This document", content_type = "application/json", body = Object),
        crate::error::AuthFailures,
    )
)]
pub(crate) async fn serve_document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], document())
}

#[cfg(test)]
mod tests {
    use super::document;

    #[test]
    fn the_document_lists_every_route_with_its_answers() {
        let doc: serde_json::Value = serde_json::from_str(document()).unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        let paths = doc["paths"].as_object().unwrap();
        for (path, methods) in [
            ("/api/v1/events", &["get", "post"][..]),
            ("/api/v1/events/{id}", &["get"][..]),
            ("/api/v1/history", &["get"][..]),
            ("/api/v1/alerts", &["get"][..]),
            ("/api/v1/alerts/{id}", &["get", "patch"][..]),
            ("/api/v1/alerts/{id}/mitigate", &["post"][..]),
            ("/api/v1/alerts/{id}/triage", &["get"][..]),
            ("/api/v1/alerts/{id}/triage/apply", &["post"][..]),
            ("/api/v1/incidents", &["get"][..]),
            ("/api/v1/incidents/{id}", &["get"][..]),
            ("/api/v1/incidents/{id}/triage", &["get", "post"][..]),
            ("/api/v1/decisions", &["get", "post", "delete"][..]),
            ("/api/v1/decisions/{id}", &["delete"][..]),
            ("/api/v1/decisions/stream", &["get"][..]),
            ("/api/v1/actions", &["get"][..]),
            ("/api/v1/processes", &["get"][..]),
            ("/api/v1/processes/{pid}/kill", &["post"][..]),
            ("/api/v1/rules", &["get"][..]),
            ("/api/v1/live", &["get"][..]),
            ("/api/v1/whoami", &["get"][..]),
            ("/api/v1/tokens", &["get", "post"][..]),
            ("/api/v1/tokens/{id}", &["delete"][..]),
            ("/api/v1/models", &["get"][..]),
            ("/api/v1/models/{name}/activate", &["post"][..]),
            ("/api/v1/models/{name}/deactivate", &["post"][..]),
            ("/api/v1/stats", &["get"][..]),
            ("/api/v1/openapi.json", &["get"][..]),
            ("/healthz", &["get"][..]),
            ("/readyz", &["get"][..]),
            ("/metrics", &["get"][..]),
        ] {
            for m in methods {
                let op = &paths[path][m];
                assert!(op.is_object(), "{m} {path} undocumented");
                // Every authenticated operation says what a bad token gets.
                if path.starts_with("/api/") {
                    assert!(op["responses"]["401"].is_object(), "{m} {path} lacks 401");
                }
            }
        }
        assert_eq!(doc["components"]["schemas"]["Event"]["type"], "object");
        assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    }
}
