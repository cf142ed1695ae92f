//! Every step of a resolution as typed, serialisable data. Past tense; the only record of
//! what happened. The resolver writes events through `Trace::record`, which also emits the
//! `tracing` line, so logs cannot drift from the trace.

use std::net::SocketAddr;
use std::time::Instant;

use hickory_proto::rr::Name;
use serde::{Deserialize, Serialize};

pub use super::reasons::{
    cycle_text, CacheHitKind, CycleStep, DenialClaim, Question, SkipReason, SpoofReason,
};
use super::verdict::{DenialVerdict, Security, SignatureCheck};
pub use super::wire::{rcode_name, Rcode, Rtype};

/// Why a server's answer could not be used for a zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServerFailure {
    /// No answer within the timeout.
    Timeout,
    /// ICMP port unreachable or connection refused: nothing listens.
    Unreachable,
    Refused,
    ServFail,
    /// FORMERR or NOTIMP (to an EDNS query: the resolver retries without EDNS).
    FormErr,
    NotImp,
    /// The response did not parse.
    Malformed,
    /// Truncated over UDP and TCP failed.
    TruncatedNoTcp,
    /// Answered without authority for a zone it was delegated (RFC 1034 lame delegation).
    NotAuthoritative,
    /// Referred to a zone at or above the one it was asked about.
    UpwardReferral,
    /// NXDOMAIN (or NODATA) carrying an SOA of a zone it should not speak for.
    OutOfZoneNegative,
    /// Any other unusable RCODE.
    BadRcode,
}

impl ServerFailure {
    pub fn describe(self) -> &'static str {
        match self {
            ServerFailure::Timeout => "timed out",
            ServerFailure::Unreachable => "unreachable (nothing listens)",
            ServerFailure::Refused => "answered REFUSED",
            ServerFailure::ServFail => "answered SERVFAIL",
            ServerFailure::FormErr => "answered FORMERR",
            ServerFailure::NotImp => "answered NOTIMP",
            ServerFailure::Malformed => "sent a malformed response",
            ServerFailure::TruncatedNoTcp => "truncated its answer and refused TCP",
            ServerFailure::NotAuthoritative => "is not authoritative (lame)",
            ServerFailure::UpwardReferral => "referred upwards (lame)",
            ServerFailure::OutOfZoneNegative => "denied a name outside its zone (lame)",
            ServerFailure::BadRcode => "answered with an unusable RCODE",
        }
    }

    /// Failures that say the server does not serve the zone, as opposed to transport trouble.
    pub fn is_lame(self) -> bool {
        matches!(
            self,
            ServerFailure::Refused
                | ServerFailure::NotAuthoritative
                | ServerFailure::UpwardReferral
                | ServerFailure::OutOfZoneNegative
        )
    }
}

/// How a response was classified before the resolver acted on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResponseKind {
    Answer,
    Cname,
    Referral,
    NoData,
    NxDomain,
    Lame,
    Truncated,
    Failure,
}

/// Why glue was not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GlueRejection {
    /// The address record's owner is outside the zone that sent it (RFC 2181 §5.4.1).
    OutOfBailiwick,
    /// The record's owner is not one of the referral's NS names.
    NotAnNsName,
    /// Not a loopback address while the resolver is confined to loopback.
    AddressNotAllowed,
}

/// The limits that bound the work of one client query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Limit {
    UpstreamQueries,
    ReferralDepth,
    NsNamesPerDelegation,
    CnameChain,
    SubResolutionDepth,
    Deadline,
    /// Signature verifications per query (KeyTrap, CVE-2023-50387).
    SignatureChecks,
    /// NSEC3 hash computations per query (CVE-2023-50868).
    Nsec3Hashes,
    /// Signature checks the whole resolver may spend per second.
    ValidationAllowance,
}

/// The two questions of an RFC 8509 root key sentinel (§2: the label that starts the QNAME).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SentinelKind {
    /// `root-key-sentinel-is-ta-<tag>`: answered only if `tag` is a root trust anchor.
    IsTa,
    /// `root-key-sentinel-not-ta-<tag>`: answered only if `tag` is not one.
    NotTa,
}

impl SentinelKind {
    /// The sentinel label for `tag`, as RFC 8509 §2 writes it (five zero-filled digits).
    pub fn label(self, tag: u16) -> String {
        match self {
            SentinelKind::IsTa => format!("root-key-sentinel-is-ta-{tag:05}"),
            SentinelKind::NotTa => format!("root-key-sentinel-not-ta-{tag:05}"),
        }
    }

    /// What the resolver's trust says about `tag`, in words: "is" or "is not" a root trust
    /// anchor, given whether it `trusted` it.
    pub fn trust_words(trusted: bool) -> &'static str {
        if trusted {
            "is"
        } else {
            "is not"
        }
    }
}

/// Key tags as a sentence lists them: "none", "2371", "20326 and 38696".
pub fn key_tag_list(tags: &[u16]) -> String {
    let text: Vec<String> = tags.iter().map(u16::to_string).collect();
    match text.split_last() {
        None => "none".into(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// One glue record of a referral and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GlueEntry {
    pub ns: Name,
    pub address: std::net::IpAddr,
    pub used: bool,
    pub rejected: Option<GlueRejection>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    ResolutionStarted {
        name: Name,
        rtype: Rtype,
    },
    CacheHit {
        name: Name,
        rtype: Rtype,
        what: CacheHitKind,
    },
    /// A zone cut found in the cache: its NS names and their addresses, so the story names
    /// the servers even when no referral was followed this time.
    DelegationCached {
        zone: Name,
        servers: Vec<(Name, Vec<std::net::IpAddr>)>,
    },
    RootPrimed {
        servers: usize,
    },
    QnameMinimised {
        zone: Name,
        sent: Name,
        rtype: Rtype,
    },
    QuerySent {
        server: SocketAddr,
        zone: Name,
        name: Name,
        rtype: Rtype,
        tcp: bool,
        edns: Option<u16>,
    },
    ResponseReceived {
        server: SocketAddr,
        rcode: Rcode,
        aa: bool,
        tc: bool,
        size: usize,
        kind: ResponseKind,
        elapsed_ms: u64,
    },
    ServerFailed {
        server: SocketAddr,
        zone: Name,
        failure: ServerFailure,
    },
    /// A server of the zone answered with data but without AA: taken as an answer of lower
    /// rank (RFC 2181 §5.4.1), validated as usual.
    AnsweredWithoutAa {
        server: SocketAddr,
        zone: Name,
    },
    SpoofDiscarded {
        server: SocketAddr,
        reason: SpoofReason,
    },
    TcpFallback {
        server: SocketAddr,
    },
    /// An identical query to this server was already in flight: its reply was shared.
    QueryShared {
        server: SocketAddr,
    },
    /// The server echoed the question in other letter case than sent (0x20): it is asked
    /// without randomised case from now on.
    CaseNotEchoed {
        server: SocketAddr,
    },
    EdnsFallback {
        server: SocketAddr,
    },
    ReferralFollowed {
        from_zone: Name,
        to_zone: Name,
        ns: Vec<Name>,
        glue: Vec<GlueEntry>,
    },
    GlueMissing {
        zone: Name,
        ns: Name,
    },
    SubResolutionStarted {
        ns: Name,
        zone: Name,
    },
    SubResolutionFinished {
        ns: Name,
        addresses: Vec<std::net::IpAddr>,
    },
    CycleDetected {
        path: Vec<CycleStep>,
    },
    CnameFollowed {
        from: Name,
        to: Name,
    },
    DnameFollowed {
        owner: Name,
        target: Name,
    },
    /// A DNAME's target lies below its own owner, so it rewrites its own results without end
    /// (RFC 6672 §4): the chain is cut after the first CNAME it synthesises.
    DnameLoop {
        owner: Name,
        target: Name,
    },
    LimitReached {
        limit: Limit,
        value: u64,
    },
    ServerSkipped {
        server: SocketAddr,
        zone: Name,
        reason: SkipReason,
    },
    ZoneUnreachable {
        zone: Name,
        servers: Vec<(SocketAddr, ServerFailure)>,
    },
    /// The RRSIGs over one RRset were checked against the zone's keys.
    SignaturesChecked {
        owner: Name,
        rtype: Rtype,
        zone: Name,
        valid: bool,
        /// The counters and per-signature verdicts.
        check: SignatureCheck,
    },
    /// An RRSIG was set aside: its signer is not a zone that may sign this RRset, received
    /// from the servers of `zone` (RFC 4035 §5.3.1).
    SignatureIgnored {
        owner: Name,
        rtype: Rtype,
        signer: Name,
        zone: Name,
        key_tag: u16,
    },
    /// A CNAME the server sent contradicts the DNAME above it; the CNAME the DNAME
    /// synthesises was used instead (RFC 6672 §3.2).
    CnameRejected {
        owner: Name,
        received: Name,
        synthesised: Name,
    },
    /// A denial of existence (NXDOMAIN, NODATA, no DS, wildcard) was checked.
    DenialChecked {
        name: Name,
        claim: DenialClaim,
        verdict: DenialVerdict,
    },
    /// The security of a zone's keys was established (secure, insecure, bogus).
    ZoneSecurity {
        zone: Name,
        security: Security,
        /// The zone's validated keys, when secure.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        keys: Option<usize>,
    },
    /// The verdict on the answer as a whole.
    AnswerSecurity {
        security: Security,
    },
    /// The question is an RFC 8509 root key sentinel and its answer validated as secure:
    /// whether `tag` is among the root trust anchors (`trusted`) decided between the answer
    /// and a SERVFAIL (`servfail`).
    SentinelChecked {
        kind: SentinelKind,
        tag: u16,
        trusted: Vec<u16>,
        servfail: bool,
    },
    ResolutionFinished {
        rcode: Rcode,
        answers: usize,
        elapsed_ms: u64,
    },
}

/// An event with when (ms since the resolution began) and how deep (sub-resolutions) it was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceEntry {
    pub at_ms: u64,
    pub depth: u8,
    #[serde(flatten)]
    pub event: Event,
}

/// The full story of one client query.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Trace {
    pub id: String,
    pub entries: Vec<TraceEntry>,
    #[serde(skip)]
    started: Option<Instant>,
    #[serde(skip)]
    max_entries: usize,
    /// JSON bytes of the entries kept, and the most they may take.
    #[serde(skip)]
    bytes: usize,
    #[serde(skip)]
    max_bytes: usize,
    /// Events not kept because the trace was full.
    pub dropped: u64,
}

/// Counts the bytes written to it: an event's JSON size, without building the JSON.
struct ByteCount(usize);

impl std::io::Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn json_bytes(entry: &TraceEntry) -> usize {
    let mut count = ByteCount(0);
    let _ = serde_json::to_writer(&mut count, entry);
    count.0
}

impl Trace {
    /// A trace of at most `max_entries` events, of any size (see [`Trace::max_bytes`]).
    pub fn new(id: String, max_entries: usize) -> Trace {
        Trace {
            id,
            entries: Vec::new(),
            started: Some(Instant::now()),
            max_entries,
            bytes: 0,
            max_bytes: usize::MAX,
            dropped: 0,
        }
    }

    /// Bounds the events kept to `max_bytes` of JSON (as the log and the API serve them):
    /// event count alone does not bound a trace, since one event may list many servers.
    pub fn max_bytes(mut self, max_bytes: usize) -> Trace {
        self.max_bytes = max_bytes;
        self
    }

    /// JSON bytes of the events kept.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn elapsed_ms(&self) -> u64 {
        self.started
            .map(|s| s.elapsed().as_millis() as u64)
            .unwrap_or(0)
    }

    /// The single place events are written: kept in the trace and logged at debug level.
    pub fn record(&mut self, depth: u8, event: Event) {
        tracing::debug!(trace = %self.id, depth, event = ?event);
        if self.entries.len() >= self.max_entries {
            self.dropped += 1;
            return;
        }
        let entry = TraceEntry {
            at_ms: self.elapsed_ms(),
            depth,
            event,
        };
        let bytes = json_bytes(&entry);
        if self.bytes.saturating_add(bytes) > self.max_bytes {
            // Full from here on, as for the count bound: the trace is the story's start,
            // never a selection of small events.
            self.max_entries = self.entries.len();
            self.dropped += 1;
            return;
        }
        self.bytes += bytes;
        self.entries.push(entry);
    }

    pub fn events(&self) -> impl Iterator<Item = &Event> {
        self.entries.iter().map(|e| &e.event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn started(i: usize) -> Event {
        Event::ResolutionStarted {
            name: Name::from_ascii(format!("n{i}.example.")).unwrap(),
            rtype: hickory_proto::rr::RecordType::A.into(),
        }
    }

    #[test]
    fn a_trace_keeps_events_up_to_its_byte_bound_and_counts_the_rest() {
        let mut trace = Trace::new("t".into(), 1000).max_bytes(500);
        for i in 0..100 {
            trace.record(0, started(i));
        }
        let json = serde_json::to_vec(&trace.entries).unwrap();
        // The array adds its brackets and one comma between entries.
        assert_eq!(trace.bytes() + trace.entries.len() + 1, json.len());
        assert!(trace.bytes() <= 500);
        assert!(!trace.entries.is_empty());
        assert_eq!(trace.entries.len() as u64 + trace.dropped, 100);
        // Once full, a smaller event does not squeeze in: what is kept is the story's start.
        let kept = trace.entries.len();
        trace.record(0, Event::RootPrimed { servers: 1 });
        assert_eq!(trace.entries.len(), kept);
    }
}
