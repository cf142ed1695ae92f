//! Signature times in scenario files: absolute RFC 3339 UTC or relative to the lab's start
//! ("now+30d", "now-1h"). RRSIG times are 32-bit serial numbers (RFC 4034 §3.1.5).

/// Resolves a time spec against `now` (seconds since the epoch) to RRSIG serial seconds.
pub fn resolve(spec: &str, now: u64) -> Result<u32, String> {
    let spec = spec.trim();
    if let Some(rest) = spec.strip_prefix("now") {
        if rest.is_empty() {
            return Ok(now as u32);
        }
        let (sign, amount) = match rest.as_bytes()[0] {
            b'+' => (1i64, &rest[1..]),
            b'-' => (-1i64, &rest[1..]),
            _ => {
                return Err(format!(
                    "bad relative time {spec:?}: expected now+N[smhd] or now-N[smhd]"
                ))
            }
        };
        let seconds = parse_duration(amount).ok_or_else(|| {
            format!("bad relative time {spec:?}: expected a number with unit s, m, h or d")
        })?;
        // RRSIG times are serial numbers: wrap modulo 2^32 (in i128, so no spec overflows).
        let at = i128::from(now) + i128::from(sign) * i128::from(seconds);
        return Ok(at.rem_euclid(1 << 32) as u32);
    }
    parse_rfc3339(spec)
        .map(|t| t as u32)
        .ok_or_else(|| format!("bad time {spec:?}: expected YYYY-MM-DDTHH:MM:SSZ or now±N[smhd]"))
}

fn parse_duration(text: &str) -> Option<u64> {
    // The unit is the last character, which need not be ASCII in a broken file.
    let (digits, unit) = text.split_at(text.char_indices().last()?.0);
    let n: u64 = digits.parse().ok()?;
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86400,
        _ => return None,
    };
    n.checked_mul(scale)
}

/// Parses `YYYY-MM-DDTHH:MM:SSZ` (UTC only) to seconds since the epoch.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[19] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    Some(days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// Formats seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_rfc3339(t: i64) -> String {
    crate::clock::format_utc(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unit_that_is_not_ascii_or_a_huge_amount_is_an_error_or_wraps_not_a_panic() {
        // Found by fuzzing (fuzz/regressions/lab_scenario/time-unit-not-ascii).
        assert!(resolve("now+1\u{40e}", 1000).is_err());
        assert!(resolve("now+\u{40e}", 1000).is_err());
        let far = resolve("now+18446744073709551615s", 0).unwrap();
        assert_eq!(far, u32::MAX);
        assert_eq!(resolve("now-1s", 0).unwrap(), u32::MAX);
    }

    #[test]
    fn absolute_and_relative_times() {
        assert_eq!(parse_rfc3339("2025-01-01T00:00:00Z"), Some(1_735_689_600));
        assert_eq!(format_rfc3339(1_735_689_600), "2025-01-01T00:00:00Z");
        assert_eq!(resolve("now+1d", 1000).unwrap(), 1000 + 86400);
        assert_eq!(resolve("now-1h", 10_000).unwrap(), 10_000 - 3600);
        assert!(resolve("tomorrow", 0).is_err());
        assert!(resolve("now+5x", 0).is_err());
        assert!(parse_rfc3339("2025-13-01T00:00:00Z").is_none());
    }
}
