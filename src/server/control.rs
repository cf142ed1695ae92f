//! The HTTP control API, on its own address (default 127.0.0.1:8053; off unless configured
//! or in lab mode): the explanation log as JSON and text, and Prometheus metrics.
//!
//! - `GET /api/explanations?name=&rcode=&ede=&since=&until=&limit=`: matching entries,
//!   newest first, as summaries (no trace);
//! - `GET /api/explanations/{id}`: one entry in full, as JSON;
//! - `GET /api/explanations/{id}.txt`: the same as text (diagnosis and trace tree), exactly
//!   what `dig <id>.explain.whydns. CH TXT` and `whydns explain <id>` show;
//! - `GET /metrics`: Prometheus text format.
//!
//! Clients outside `control_allow` (default: loopback) get 403 before anything else is
//! looked at: the log holds every client's questions, so it is not open to every DNS client.
//! `/metrics` has its own list, `metrics_allow` (default: loopback), so that a Prometheus
//! server may scrape without being able to read explanations (and a client in
//! `control_allow` only is not let at the metrics).
//!
//! DNS rebinding: a web page can make a browser on the same host send requests to a name
//! that its attacker later resolves to 127.0.0.1, and so read the API. Every request whose
//! Host header names something else than this server's own address (any IP literal when it
//! listens on a wildcard address), `localhost` or `*.localhost` (RFC 6761 §6.3), or a name in
//! `control_hosts`, gets 403; the port is not compared. A request without a Host header
//! (HTTP/1.0, scripts) is let through: a browser always sends one.
//!
//! At most [`MAX_REQUESTS`] requests are handled at once, and a list returns at most
//! [`MAX_LIST`] entries, so the API cannot take the resolver's memory or CPU away from DNS.
//!
//! Limitations: HTTP/1.1 only, no TLS and no authentication: keep it on loopback or put it
//! behind a proxy that adds them. Idle connections are not capped by whydns itself.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::Shared;
use crate::explain::log::{ExplanationList, Filter, Summary};

/// Most entries one list request returns.
pub const MAX_LIST: usize = 1_000;
/// Requests handled at once; more wait for a slot (the API is for operators, not traffic).
pub const MAX_REQUESTS: usize = 32;

/// The query string of `GET /api/explanations`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    name: Option<String>,
    rcode: Option<String>,
    ede: Option<u16>,
    since: Option<u64>,
    until: Option<u64>,
    limit: Option<usize>,
}

fn error(status: StatusCode, message: String) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

/// Lets through only clients in the path's allow list (`metrics_allow` for `/metrics`,
/// `control_allow` for everything else) whose Host header names this server, before any
/// extractor runs.
async fn guard(
    State(shared): State<Arc<Shared>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(peer)| peer.ip());
    let (allow, list) = if request.uri().path() == "/metrics" {
        (
            &shared.metrics_allow,
            "the metrics allow list (metrics_allow)",
        )
    } else {
        (
            &shared.control_allow,
            "the control API's allow list (control_allow)",
        )
    };
    let allowed = peer.is_some_and(|ip| super::respond::is_allowed(ip, allow));
    if !allowed {
        return error(
            StatusCode::FORBIDDEN,
            format!(
                "{} is not in {list}",
                peer.map(|p| p.to_canonical().to_string())
                    .unwrap_or_else(|| "this client".into())
            ),
        );
    }
    if let Some(host) = request.headers().get(header::HOST) {
        let host = String::from_utf8_lossy(host.as_bytes());
        if !host_accepted(&host, shared.control_addr, &shared.control_hosts) {
            return error(
                StatusCode::FORBIDDEN,
                format!(
                    "Host {host:?} is not this server's address, localhost or a name in control_hosts (DNS rebinding protection)"
                ),
            );
        }
    }
    next.run(request).await
}

/// Whether a Host header value names this server: its own address (any IP literal when it
/// listens on a wildcard address), `localhost` or a name below it, or one of `extra`
/// (case-insensitive, trailing dot ignored). The port, if any, is not compared.
pub fn host_accepted(host: &str, own: Option<SocketAddr>, extra: &[String]) -> bool {
    let host = host.trim();
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => match host.rsplit_once(':') {
            // One colon: name:port. More: an IPv6 literal without brackets.
            Some((name, _)) if !name.contains(':') => name,
            _ => host,
        },
    };
    if let Ok(ip) = name.parse::<std::net::IpAddr>() {
        return own.is_some_and(|own| {
            own.ip().is_unspecified() || own.ip().to_canonical() == ip.to_canonical()
        });
    }
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost"
        || name.ends_with(".localhost")
        || extra
            .iter()
            .any(|e| e.trim_end_matches('.').eq_ignore_ascii_case(&name))
}

async fn list(State(shared): State<Arc<Shared>>, Query(q): Query<ListQuery>) -> Response {
    let found = shared.explanations.find(&Filter {
        name: q.name,
        rcode: q.rcode,
        ede: q.ede,
        since: q.since,
        until: q.until,
        limit: Some(q.limit.unwrap_or(100).min(MAX_LIST)),
    });
    let explanations = found.iter().map(|e| Summary::of(e)).collect();
    Json(ExplanationList { explanations }).into_response()
}

async fn one(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    let id = id.to_ascii_lowercase();
    let (id, text) = match id.strip_suffix(".txt") {
        Some(id) => (id, true),
        None => (id.as_str(), false),
    };
    let Some(found) = shared.explanations.get(id) else {
        return error(
            StatusCode::NOT_FOUND,
            format!("no explanation {id:?} (it may have been dropped: the log is bounded)"),
        );
    };
    if text {
        (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            found.render_without_client(),
        )
            .into_response()
    } else {
        Json(&*found).into_response()
    }
}

async fn metrics(State(shared): State<Arc<Shared>>) -> Response {
    let held = shared.resolver.cache_bytes();
    let cache_bytes = [
        ("records", held.records),
        ("negative", held.negative),
        ("delegations", held.delegations),
        ("keys", held.keys),
        ("answers", held.answers),
        ("packets", shared.packets.size().1),
    ];
    let text = shared
        .metrics
        .render(shared.resolver.cache_stats(), &cache_bytes, {
            let (entries, bytes) = shared.explanations.size();
            (entries, bytes, shared.explanations.file_dropped())
        });
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

async fn not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "unknown path: try /api/explanations, /api/explanations/{id}, /api/explanations/{id}.txt or /metrics".into(),
    )
}

/// Serves the API on `listener` until the task is aborted (at shutdown, with the DNS
/// listeners).
pub async fn serve(shared: Arc<Shared>, listener: tokio::net::TcpListener) {
    let app = Router::new()
        .route("/api/explanations", get(list))
        .route("/api/explanations/{id}", get(one))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .layer(tower::limit::GlobalConcurrencyLimitLayer::new(MAX_REQUESTS))
        .layer(axum::middleware::from_fn_with_state(shared.clone(), guard))
        .with_state(shared);
    if let Err(e) = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
    {
        tracing::warn!(error = %e, "control API stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::host_accepted;

    #[test]
    fn host_headers_naming_this_server_or_localhost_pass_and_others_do_not() {
        let own = Some("127.0.0.1:8053".parse().unwrap());
        let extra = vec!["whydns.example.".to_string()];
        for ok in [
            "127.0.0.1:8053",
            "127.0.0.1",
            "localhost:8053",
            "LOCALHOST.",
            "api.localhost:1",
            "whydns.example:8053",
            "WHYDNS.example",
        ] {
            assert!(host_accepted(ok, own, &extra), "{ok}");
        }
        for bad in [
            "evil.example:8053",
            "127.0.0.2:8053",
            "[::1]:8053",
            "localhost.evil",
            "",
        ] {
            assert!(!host_accepted(bad, own, &extra), "{bad}");
        }
        let v6 = Some("[::1]:8053".parse().unwrap());
        assert!(host_accepted("[::1]:8053", v6, &[]));
        assert!(host_accepted("::1", v6, &[]));
        let wildcard = Some("0.0.0.0:8053".parse().unwrap());
        assert!(host_accepted("192.0.2.7:8053", wildcard, &[]));
        assert!(!host_accepted("rebound.example", wildcard, &[]));
    }
}
