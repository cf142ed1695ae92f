//! One upstream exchange as the resolver makes it: identical queries in flight at once are
//! sent once and their reply shared (fewer queries, and a spoofer gets one chance per
//! question instead of one per waiting client: the birthday attack on IDs and ports needs
//! many identical queries outstanding), and 0x20 letter-case randomisation with a per-server
//! fallback for servers that do not echo the case.
//!
//! Limitations: waiters share the first query's timeout; the in-flight table holds at most
//! one entry per query being sent, so it is bounded by the queries in flight.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use hickory_proto::rr::{Name, RecordType};
use tokio::sync::OnceCell;

use super::budget::Ctx;
use super::iterate::Recursor;
use crate::explain::event::Event;
use crate::transport::{self, Exchange, Request, Sources, TransportError};

/// What makes two upstream queries the same question.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    server: SocketAddr,
    name: Name,
    rtype: RecordType,
    edns: Option<u16>,
    dnssec_ok: bool,
    tcp: bool,
    randomize_case: bool,
}

type Shared = Arc<OnceCell<Result<Exchange, TransportError>>>;

/// Upstream queries being sent, each with the cell its reply lands in.
#[derive(Default)]
pub(super) struct InFlight {
    queries: Mutex<HashMap<Key, Shared>>,
}

impl InFlight {
    /// Sends `request`, or waits for the identical one already on its way.
    async fn exchange(
        &self,
        server: SocketAddr,
        request: &Request,
        sources: Sources,
    ) -> (Result<Exchange, TransportError>, bool) {
        let key = Key {
            server,
            name: request.name.to_lowercase(),
            rtype: request.rtype,
            edns: request.edns,
            dnssec_ok: request.dnssec_ok,
            tcp: request.tcp,
            randomize_case: request.randomize_case,
        };
        let (cell, first) = {
            let mut queries = self.queries.lock().unwrap_or_else(|e| e.into_inner());
            match queries.get(&key) {
                Some(cell) => (cell.clone(), false),
                None => {
                    let cell: Shared = Arc::default();
                    queries.insert(key.clone(), cell.clone());
                    (cell, true)
                }
            }
        };
        let result = cell
            .get_or_init(|| transport::exchange(server, request, sources))
            .await
            .clone();
        if first {
            let mut queries = self.queries.lock().unwrap_or_else(|e| e.into_inner());
            if queries.get(&key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
                queries.remove(&key);
            }
        }
        (result, !first)
    }
}

impl Recursor {
    /// One exchange with `server`: 0x20 unless the server is known not to echo the case
    /// (then, or when this reply does not, without it), coalesced with identical queries.
    pub(super) async fn exchange(
        &self,
        ctx: &mut Ctx,
        server: SocketAddr,
        mut request: Request,
    ) -> Result<Exchange, TransportError> {
        let sources = Sources {
            v4: self.config.source_v4,
            v6: self.config.source_v6,
        };
        let now = self.clock.now();
        request.randomize_case = self.config.randomize_case
            && !request.tcp
            && self.servers.echoes_case(server.ip(), now);
        let (result, shared) = self.inflight.exchange(server, &request, sources).await;
        if shared {
            ctx.record(Event::QueryShared { server });
        }
        if !matches!(result, Err(TransportError::CaseNotEchoed)) {
            return result;
        }
        // The reply was the question in other case: a server that does not echo it (or a
        // spoofer guessing): ask this server without 0x20 from now on, and again at once.
        self.servers.set_case_broken(server.ip(), now);
        ctx.record(Event::CaseNotEchoed { server });
        request.randomize_case = false;
        self.inflight.exchange(server, &request, sources).await.0
    }
}
