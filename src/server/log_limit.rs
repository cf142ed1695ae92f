//! Failure log lines, rate-limited and summarised: at most `rate_limit.log_lines_per_10s`
//! lines of one kind ("resolution failed", "overloaded") per 10 s window; the rest are
//! counted, and when the window is over one line says how many were left out:
//! `resolution failed: … and 1,234 more like this in the last 10 s`. An attack that makes
//! every query fail therefore writes a few lines per 10 s, not one per query, and the
//! operator still learns its size.
//!
//! The summary is written by the next line of the kind after the window, or by
//! [`LogLimiter::flush`], which the server calls every second (and at shutdown), so a
//! burst that stops is summarised too.
//!
//! Limitations: the lines let through are the first of each window, not a sample; the
//! explanation log and the metrics still count every failure.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The window lines are counted over.
pub const WINDOW: Duration = Duration::from_secs(10);

/// The kinds of line limited, with the level they are logged at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// `resolution failed` (info).
    ResolutionFailed,
    /// `overloaded: query answered SERVFAIL without resolving` (warn).
    Overloaded,
}

impl Kind {
    fn message(self) -> &'static str {
        match self {
            Kind::ResolutionFailed => "resolution failed",
            Kind::Overloaded => "overloaded",
        }
    }
}

struct Window {
    started: Instant,
    lines: u32,
    suppressed: u64,
}

pub struct LogLimiter {
    per_window: u32,
    windows: Mutex<HashMap<Kind, Window>>,
}

impl LogLimiter {
    /// `per_window` lines of each kind per [`WINDOW`]; 0 lets every line through.
    pub fn new(per_window: u32) -> LogLimiter {
        LogLimiter {
            per_window,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Whether a line of `kind` may be written now. A window that ended with lines left
    /// out is summarised first.
    pub fn allow(&self, kind: Kind) -> bool {
        let (allowed, summary) = self.admit(kind, Instant::now());
        if let Some(count) = summary {
            log_summary(kind, count);
        }
        allowed
    }

    /// Summarises every window that has ended with lines left out.
    pub fn flush(&self) {
        for (kind, count) in self.ended(Instant::now()) {
            log_summary(kind, count);
        }
    }

    /// (line allowed, lines left out of the window that just ended).
    fn admit(&self, kind: Kind, now: Instant) -> (bool, Option<u64>) {
        if self.per_window == 0 {
            return (true, None);
        }
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let window = windows.entry(kind).or_insert(Window {
            started: now,
            lines: 0,
            suppressed: 0,
        });
        let mut summary = None;
        if now.saturating_duration_since(window.started) >= WINDOW {
            summary = (window.suppressed > 0).then_some(window.suppressed);
            *window = Window {
                started: now,
                lines: 0,
                suppressed: 0,
            };
        }
        if window.lines < self.per_window {
            window.lines += 1;
            (true, summary)
        } else {
            window.suppressed += 1;
            (false, summary)
        }
    }

    /// The kinds whose window has ended with lines left out, and how many; those windows
    /// are closed.
    fn ended(&self, now: Instant) -> Vec<(Kind, u64)> {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::new();
        windows.retain(|kind, window| {
            if now.saturating_duration_since(window.started) < WINDOW {
                return true;
            }
            if window.suppressed > 0 {
                out.push((*kind, window.suppressed));
            }
            false
        });
        out
    }
}

fn log_summary(kind: Kind, count: u64) {
    let text = format!(
        "{}: … and {} more like this in the last {} s",
        kind.message(),
        thousands(count),
        WINDOW.as_secs()
    );
    match kind {
        Kind::ResolutionFailed => tracing::info!(suppressed = count, "{text}"),
        Kind::Overloaded => tracing::warn!(suppressed = count, "{text}"),
    }
}

/// 1234567 as "1,234,567".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_past_the_limit_are_counted_and_summarised_once_the_window_ends() {
        let limiter = LogLimiter::new(3);
        let start = Instant::now();
        let allowed: Vec<bool> = (0..10)
            .map(|_| limiter.admit(Kind::ResolutionFailed, start).0)
            .collect();
        assert_eq!(allowed.iter().filter(|a| **a).count(), 3);
        // Another kind has its own window.
        assert!(limiter.admit(Kind::Overloaded, start).0);
        // Nothing to summarise yet; after the window the first new line carries the count.
        assert!(limiter.ended(start + Duration::from_secs(5)).is_empty());
        let next = limiter.admit(Kind::ResolutionFailed, start + WINDOW);
        assert_eq!(next, (true, Some(7)));
        // A burst that stops is summarised by the periodic flush.
        for _ in 0..5 {
            limiter.admit(Kind::ResolutionFailed, start + WINDOW);
        }
        let ended = limiter.ended(start + WINDOW * 2);
        assert_eq!(ended, vec![(Kind::ResolutionFailed, 3)]);
        assert!(limiter.ended(start + WINDOW * 3).is_empty());
    }

    #[test]
    fn zero_means_no_limit_and_counts_read_with_separators() {
        let limiter = LogLimiter::new(0);
        assert!((0..1000).all(|_| limiter.admit(Kind::Overloaded, Instant::now()).0));
        assert_eq!(thousands(7), "7");
        assert_eq!(thousands(1234), "1,234");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
