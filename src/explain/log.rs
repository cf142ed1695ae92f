//! The explanation log: every resolution worth explaining (by default, each one that is not a
//! plain success) kept with its question, outcome, EDE and full trace, so an operator can look
//! it up by the id in an EDE's EXTRA-TEXT, by name (and subdomains), RCODE, EDE code or time.
//!
//! Bounded in entries and in bytes (the serialised size of each entry): the oldest go first.
//!
//! Optionally every kept entry is also appended, as one JSON line, to a file. A writer thread
//! does the I/O behind a bounded queue: a slow disk costs lines (counted), never answers.
//!
//! Limitations: lookups scan newest-first, which is fine for the bounded sizes a resolver
//! keeps; the file is appended to without rotation (use logrotate with copytruncate).

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::IpAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::diagnosis::{Cause, Diagnosis};
use super::render::render_tree;
use super::Trace;

/// Lines, and bytes, waiting for the file writer; beyond either, lines are dropped and
/// counted.
const FILE_QUEUE: usize = 4096;
const FILE_QUEUE_BYTES: usize = 16 * 1024 * 1024;

/// One explained resolution.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Explanation {
    pub id: String,
    /// Seconds since the epoch when the answer was sent.
    pub time: u64,
    pub client: Option<IpAddr>,
    pub name: String,
    pub rtype: String,
    pub rcode: String,
    /// (INFO-CODE, EXTRA-TEXT) as sent.
    pub ede: Vec<(u16, String)>,
    pub duration_ms: u64,
    pub diagnosis: Diagnosis,
    pub trace: Trace,
}

/// One entry of a list: what an operator scans before opening one (the control API's
/// `GET /api/explanations`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub id: String,
    pub time: u64,
    pub client: Option<IpAddr>,
    pub name: String,
    pub rtype: String,
    pub rcode: String,
    pub ede: Vec<(u16, String)>,
    pub duration_ms: u64,
    pub cause: Cause,
    /// The diagnosis's summary sentence.
    pub diagnosis: String,
}

impl Summary {
    pub fn of(e: &Explanation) -> Summary {
        Summary {
            id: e.id.clone(),
            time: e.time,
            client: e.client,
            name: e.name.clone(),
            rtype: e.rtype.clone(),
            rcode: e.rcode.clone(),
            ede: e.ede.clone(),
            duration_ms: e.duration_ms,
            cause: e.diagnosis.cause,
            diagnosis: e.diagnosis.summary.clone(),
        }
    }
}

/// The body of a list request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExplanationList {
    pub explanations: Vec<Summary>,
}

impl Explanation {
    /// The explanation as text: the question and answer, the EDE, the diagnosis, then the
    /// trace tree. The one text form, served over DNS, HTTP and printed by the CLI.
    pub fn render(&self) -> String {
        self.render_text(true)
    }

    /// The text form without the client's address (`question <name> <type>`), for what the
    /// server shows over DNS and HTTP: whoever reads an explanation there need not learn
    /// who asked (the control API's JSON keeps `client`).
    pub fn render_without_client(&self) -> String {
        self.render_text(false)
    }

    fn render_text(&self, show_client: bool) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "explanation {} at {}",
            self.id,
            crate::clock::format_utc(self.time as i64)
        );
        if show_client {
            let _ = writeln!(
                out,
                "question {} {} from {}",
                self.name,
                self.rtype,
                self.client
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "-".into())
            );
        } else {
            let _ = writeln!(out, "question {} {}", self.name, self.rtype);
        }
        let _ = writeln!(out, "answer {} in {} ms", self.rcode, self.duration_ms);
        for (code, text) in &self.ede {
            let _ = writeln!(out, "EDE {code}: {text}");
        }
        out.push_str(&self.diagnosis.render());
        out.push_str(&render_tree(&self.trace));
        out
    }
}

/// What to look for; every field narrows the search.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// This name or any name below it (case-insensitive, trailing dot optional).
    pub name: Option<String>,
    pub rcode: Option<String>,
    pub ede: Option<u16>,
    pub since: Option<u64>,
    pub until: Option<u64>,
    pub limit: Option<usize>,
}

fn normalise(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with('.') {
        lower
    } else {
        format!("{lower}.")
    }
}

impl Filter {
    /// `wanted` is `self.name` normalised once per search.
    fn matches(&self, e: &Explanation, wanted: Option<&str>) -> bool {
        if let Some(wanted) = wanted {
            let have = normalise(&e.name);
            let below = wanted == "." || have == wanted || have.ends_with(&format!(".{wanted}"));
            if !below {
                return false;
            }
        }
        if let Some(rcode) = &self.rcode {
            if !e.rcode.eq_ignore_ascii_case(rcode) {
                return false;
            }
        }
        if let Some(code) = self.ede {
            if !e.ede.iter().any(|(c, _)| *c == code) {
                return false;
            }
        }
        self.since.is_none_or(|t| e.time >= t) && self.until.is_none_or(|t| e.time <= t)
    }
}

struct Stored {
    explanation: Arc<Explanation>,
    bytes: usize,
}

struct Inner {
    entries: VecDeque<Stored>,
    by_id: HashMap<String, Arc<Explanation>>,
    bytes: usize,
}

/// The bounded store; cheap to share (`Arc`).
pub struct ExplanationLog {
    inner: Mutex<Inner>,
    max_entries: usize,
    max_bytes: usize,
    file: Option<SyncSender<Vec<u8>>>,
    /// Bytes queued for the file writer, shared with it.
    file_queued: Arc<AtomicUsize>,
    file_dropped: AtomicU64,
}

/// Why the JSON-lines file could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("explanation log file {path}: {source}")]
pub struct FileError {
    pub path: String,
    pub source: std::io::Error,
}

impl ExplanationLog {
    pub fn new(max_entries: usize, max_bytes: usize) -> ExplanationLog {
        ExplanationLog {
            inner: Mutex::new(Inner {
                entries: VecDeque::new(),
                by_id: HashMap::new(),
                bytes: 0,
            }),
            max_entries: max_entries.max(1),
            max_bytes: max_bytes.max(1),
            file: None,
            file_queued: Arc::new(AtomicUsize::new(0)),
            file_dropped: AtomicU64::new(0),
        }
    }

    /// Also appends every kept entry to `path` as one JSON line. The file is opened (and
    /// created) now, so a bad path fails at start-up rather than silently later.
    pub fn append_to(mut self, path: &Path) -> Result<ExplanationLog, FileError> {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|source| FileError {
                path: path.display().to_string(),
                source,
            })?;
        let (tx, rx) = sync_channel::<Vec<u8>>(FILE_QUEUE);
        let shown = path.display().to_string();
        let queued = self.file_queued.clone();
        std::thread::Builder::new()
            .name("whydns-explain-file".into())
            .spawn(move || {
                let mut failures = 0u64;
                while let Ok(mut line) = rx.recv() {
                    queued.fetch_sub(line.len(), Ordering::Relaxed);
                    line.push(b'\n');
                    if let Err(e) = file.write_all(&line) {
                        // A full or failing disk fails every line: say so now and then, not
                        // once per query.
                        failures += 1;
                        if failures.is_power_of_two() {
                            tracing::warn!(file = %shown, error = %e, failures, "explanation log file: write failed");
                        }
                    }
                }
            })
            .map_err(|source| FileError {
                path: path.display().to_string(),
                source,
            })?;
        self.file = Some(tx);
        Ok(self)
    }

    /// Lines not written to the file because its queue was full.
    pub fn file_dropped(&self) -> u64 {
        self.file_dropped.load(Ordering::Relaxed)
    }

    /// Keeps `explanation`, dropping the oldest entries while over either bound. An entry
    /// larger than the whole byte bound is not kept.
    pub fn push(&self, explanation: Explanation) {
        let json = serde_json::to_vec(&explanation).unwrap_or_default();
        let bytes = json.len();
        if let Some(file) = &self.file {
            let queued = self.file_queued.fetch_add(bytes, Ordering::Relaxed);
            let sent = queued + bytes <= FILE_QUEUE_BYTES
                && !matches!(file.try_send(json), Err(TrySendError::Full(_)));
            if !sent {
                self.file_queued.fetch_sub(bytes, Ordering::Relaxed);
                self.file_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
        if bytes > self.max_bytes {
            return;
        }
        let explanation = Arc::new(explanation);
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        while !inner.entries.is_empty()
            && (inner.entries.len() >= self.max_entries || inner.bytes + bytes > self.max_bytes)
        {
            if let Some(old) = inner.entries.pop_front() {
                inner.bytes -= old.bytes;
                // Ids are random: a newer entry may have reused this one's; keep its index.
                if inner
                    .by_id
                    .get(&old.explanation.id)
                    .is_some_and(|current| Arc::ptr_eq(current, &old.explanation))
                {
                    inner.by_id.remove(&old.explanation.id);
                }
            }
        }
        inner
            .by_id
            .insert(explanation.id.clone(), explanation.clone());
        inner.bytes += bytes;
        inner.entries.push_back(Stored { explanation, bytes });
    }

    /// The entry with this id (hex digits, any case). Ids are random: when two collide, the
    /// newer entry is the one found.
    pub fn get(&self, id: &str) -> Option<Arc<Explanation>> {
        let id = id.to_ascii_lowercase();
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.by_id.get(&id).cloned()
    }

    /// Matching entries, newest first, at most `filter.limit` (default 100).
    pub fn find(&self, filter: &Filter) -> Vec<Arc<Explanation>> {
        // Copy the pointers and let go of the lock before filtering: a search must not hold
        // up the server pushing new entries.
        let all: Vec<Arc<Explanation>> = {
            let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
            inner
                .entries
                .iter()
                .map(|s| s.explanation.clone())
                .collect()
        };
        let wanted = filter.name.as_deref().map(normalise);
        all.into_iter()
            .rev()
            .filter(|e| filter.matches(e, wanted.as_deref()))
            .take(filter.limit.unwrap_or(100))
            .collect()
    }

    /// The most recent entry.
    pub fn last(&self) -> Option<Arc<Explanation>> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.entries.back().map(|s| s.explanation.clone())
    }

    /// (entries, bytes) held now.
    pub fn size(&self) -> (usize, usize) {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        (inner.entries.len(), inner.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(i: u64, name: &str, rcode: &str, ede: &[u16]) -> Explanation {
        Explanation {
            id: format!("{i:06x}"),
            time: 1_000 + i,
            client: None,
            name: name.into(),
            rtype: "A".into(),
            rcode: rcode.into(),
            ede: ede.iter().map(|c| (*c, format!("code {c}"))).collect(),
            duration_ms: 1,
            diagnosis: Diagnosis {
                cause: super::super::diagnosis::Cause::LameDelegation,
                summary: "ns1 answered REFUSED".into(),
                evidence: Vec::new(),
                remedy: "load the zone".into(),
                checks: Vec::new(),
            },
            trace: Trace::new(format!("{i:06x}"), 10),
        }
    }

    #[test]
    fn finds_by_id_name_rcode_ede_and_time_newest_first() {
        let log = ExplanationLog::new(100, 1 << 20);
        log.push(entry(1, "www.bad.lab.", "SERVFAIL", &[7]));
        log.push(entry(2, "nx.good.lab.", "NXDOMAIN", &[]));
        log.push(entry(3, "bad.lab.", "SERVFAIL", &[22]));
        assert_eq!(log.get("000002").unwrap().name, "nx.good.lab.");
        let bad: Vec<String> = log
            .find(&Filter {
                name: Some("BAD.lab".into()),
                ..Filter::default()
            })
            .iter()
            .map(|e| e.id.clone())
            .collect();
        assert_eq!(bad, ["000003", "000001"]);
        assert_eq!(
            log.find(&Filter {
                ede: Some(7),
                ..Filter::default()
            })
            .len(),
            1
        );
        assert_eq!(
            log.find(&Filter {
                rcode: Some("servfail".into()),
                ..Filter::default()
            })
            .len(),
            2
        );
        assert_eq!(
            log.find(&Filter {
                since: Some(1_002),
                ..Filter::default()
            })
            .len(),
            2
        );
        assert_eq!(
            log.find(&Filter {
                name: Some("ad.lab".into()),
                ..Filter::default()
            })
            .len(),
            0
        );
        assert_eq!(log.last().unwrap().id, "000003");
    }

    #[test]
    fn appends_one_json_line_per_entry_to_the_file() {
        let path = std::env::temp_dir().join(format!("whydns-log-{}.jsonl", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let log = ExplanationLog::new(2, 1 << 20).append_to(&path).unwrap();
        for i in 0..5 {
            log.push(entry(i, "a.lab.", "SERVFAIL", &[22]));
        }
        // The memory keeps 2; the file keeps all 5, once the writer thread has caught up.
        let mut lines = Vec::new();
        for _ in 0..200 {
            lines = std::fs::read_to_string(&path)
                .unwrap_or_default()
                .lines()
                .map(str::to_string)
                .collect();
            if lines.len() == 5 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(lines.len(), 5);
        let last: serde_json::Value = serde_json::from_str(&lines[4]).unwrap();
        assert_eq!(last["id"], "000004");
        assert_eq!(last["diagnosis"]["cause"], "lame-delegation");
        assert_eq!(log.size().0, 2);
        let _ = std::fs::remove_file(&path);
    }

    #[test]
    fn a_file_that_cannot_be_opened_is_an_error() {
        let err = ExplanationLog::new(2, 1024)
            .append_to(Path::new("/nonexistent-dir/x.jsonl"))
            .err()
            .unwrap();
        assert!(
            err.to_string().contains("/nonexistent-dir/x.jsonl"),
            "{err}"
        );
    }

    #[test]
    fn a_reused_id_keeps_pointing_at_the_newest_entry() {
        let log = ExplanationLog::new(2, 1 << 20);
        let mut first = entry(1, "a.lab.", "SERVFAIL", &[22]);
        first.id = "same".into();
        let mut second = entry(2, "b.lab.", "SERVFAIL", &[22]);
        second.id = "same".into();
        log.push(first);
        log.push(second);
        log.push(entry(3, "c.lab.", "SERVFAIL", &[22])); // evicts the first "same"
        assert_eq!(log.get("same").unwrap().name, "b.lab.");
    }

    #[test]
    fn stays_within_its_bounds_under_100_000_entries() {
        let log = ExplanationLog::new(1_000, 256 * 1024);
        for i in 0..100_000 {
            log.push(entry(i, "x.lab.", "SERVFAIL", &[22]));
            let (entries, bytes) = log.size();
            assert!(
                entries <= 1_000 && bytes <= 256 * 1024,
                "{entries} entries, {bytes} bytes"
            );
        }
        // The newest survive, the oldest are gone, and the id index agrees.
        assert!(log.get(&format!("{:06x}", 99_999)).is_some());
        assert!(log.get(&format!("{:06x}", 0)).is_none());
        let (entries, _) = log.size();
        assert_eq!(
            log.find(&Filter {
                limit: Some(usize::MAX),
                ..Filter::default()
            })
            .len(),
            entries
        );
    }
}
