//! Timestamp text ⇄ nanoseconds, hand-written because it is the hot loop of an import
//! (a million cells) and the accepted formats are few and fixed:
//!
//! - RFC 3339 / ISO 8601: `2024-01-02T03:04:05Z`, `...+02:00`, `...+0200`, `...+02`;
//! - ISO without zone (read as UTC): `2024-01-02T03:04:05`, `2024-01-02 03:04:05`;
//! - fractional seconds with 1..9 digits (`.` or `,`), more digits are truncated;
//! - minutes only (`2024-01-02 03:04`) and a bare date (`2024-01-02`, midnight UTC);
//! - `/` instead of `-` in the date (`2024/01/02 03:04:05`);
//! - epoch numbers (seconds, milliseconds, microseconds or nanoseconds; see [`EpochUnit`]).
//!
//! The writer side, [`format_rfc3339`], prints 0, 3, 6 or 9 fractional digits, whichever is
//! the fewest that keep the value exact, so export → import is lossless.

const NANOS_PER_SEC: i64 = 1_000_000_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01: `(year, month, day)`.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Why a cell is not a timestamp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TimeError {
    /// Not one of the accepted layouts.
    Format,
    /// A field out of its range (month 13, hour 25, Feb 30, ...).
    Field,
    /// Outside what i64 nanoseconds can hold (years 1677..2262).
    Range,
    /// The cell is empty.
    Empty,
}

impl TimeError {
    /// A short reason for messages.
    pub(super) fn reason(self) -> &'static str {
        match self {
            Self::Format => {
                "expected RFC 3339 / ISO 8601 (2024-01-02T03:04:05Z, 2024-01-02 03:04:05) or epoch seconds/milliseconds"
            }
            Self::Field => "a date or time field is out of range",
            Self::Range => "outside the representable range (years 1677 to 2262)",
            Self::Empty => "the cell is empty",
        }
    }
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let slice = b.get(at..at + n)?;
    let mut v = 0u32;
    for &c in slice {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Some(v)
}

/// Parses date-time text (see the module docs) into nanoseconds since the epoch, UTC.
pub(super) fn parse_datetime(text: &str) -> Result<i64, TimeError> {
    let b = text.trim().as_bytes();
    if b.is_empty() {
        return Err(TimeError::Empty);
    }
    let year = digits(b, 0, 4).ok_or(TimeError::Format)?;
    let sep = *b.get(4).ok_or(TimeError::Format)?;
    if (sep != b'-' && sep != b'/') || b.get(7) != Some(&sep) {
        return Err(TimeError::Format);
    }
    let month = digits(b, 5, 2).ok_or(TimeError::Format)?;
    let day = digits(b, 8, 2).ok_or(TimeError::Format)?;
    let year = i64::from(year);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err(TimeError::Field);
    }
    let mut secs = days_from_civil(year, month, day) * 86_400;
    let mut nanos = 0i64;
    let mut i = 10;
    if i < b.len() {
        if !matches!(b[i], b'T' | b't' | b' ') {
            return Err(TimeError::Format);
        }
        let hour = digits(b, i + 1, 2).ok_or(TimeError::Format)?;
        if b.get(i + 3) != Some(&b':') {
            return Err(TimeError::Format);
        }
        let minute = digits(b, i + 4, 2).ok_or(TimeError::Format)?;
        i += 6;
        let mut second = 0;
        if b.get(i) == Some(&b':') {
            second = digits(b, i + 1, 2).ok_or(TimeError::Format)?;
            i += 3;
            if matches!(b.get(i), Some(b'.' | b',')) {
                i += 1;
                let start = i;
                let mut scale = NANOS_PER_SEC;
                while let Some(&c) = b.get(i).filter(|c| c.is_ascii_digit()) {
                    if scale > 1 {
                        scale /= 10;
                        nanos += i64::from(c - b'0') * scale;
                    }
                    i += 1;
                }
                if i == start {
                    return Err(TimeError::Format);
                }
            }
        }
        if hour > 23 || minute > 59 || second > 60 {
            return Err(TimeError::Field);
        }
        secs += i64::from(hour * 3600 + minute * 60 + second);
        secs -= parse_zone(&b[i..])?;
    }
    let total = i128::from(secs) * i128::from(NANOS_PER_SEC) + i128::from(nanos);
    i64::try_from(total).map_err(|_| TimeError::Range)
}

/// Parses the zone suffix: nothing (UTC), `Z`, `+HH:MM`, `+HHMM` or `+HH`. Returns the offset
/// in seconds east of UTC.
fn parse_zone(b: &[u8]) -> Result<i64, TimeError> {
    match b {
        [] | [b'Z' | b'z'] => Ok(0),
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let (hours, minutes) = match rest.len() {
                2 => (digits(rest, 0, 2), Some(0)),
                4 => (digits(rest, 0, 2), digits(rest, 2, 2)),
                5 if rest[2] == b':' => (digits(rest, 0, 2), digits(rest, 3, 2)),
                _ => (None, None),
            };
            let (Some(h), Some(m)) = (hours, minutes) else {
                return Err(TimeError::Format);
            };
            if h > 23 || m > 59 {
                return Err(TimeError::Field);
            }
            let offset = i64::from(h * 3600 + m * 60);
            Ok(if *sign == b'-' { -offset } else { offset })
        }
        _ => Err(TimeError::Format),
    }
}

/// The unit of an epoch-number time column, chosen from the largest magnitude in the column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum EpochUnit {
    /// Below 1e11 (before the year 5138 in seconds).
    Seconds,
    /// Below 1e14.
    Millis,
    /// Below 1e17.
    Micros,
    /// Anything larger.
    Nanos,
}

impl EpochUnit {
    /// The unit for a column whose largest absolute whole part is `max_abs`.
    pub(super) fn from_magnitude(max_abs: u128) -> Self {
        if max_abs < 100_000_000_000 {
            Self::Seconds
        } else if max_abs < 100_000_000_000_000 {
            Self::Millis
        } else if max_abs < 100_000_000_000_000_000 {
            Self::Micros
        } else {
            Self::Nanos
        }
    }

    /// Nanoseconds from a value given in this unit times 1e9 (see [`parse_epoch_e9`]).
    pub(super) fn nanos_from_e9(self, value_e9: i128) -> Option<i64> {
        let divisor: i128 = match self {
            Self::Seconds => 1,
            Self::Millis => 1_000,
            Self::Micros => 1_000_000,
            Self::Nanos => 1_000_000_000,
        };
        i64::try_from(value_e9 / divisor).ok()
    }
}

/// Parses an epoch number exactly: the value times 1e9, so that up to 9 fractional digits
/// are kept. Accepts an optional sign, digits, an optional fraction and an optional exponent.
pub(super) fn parse_epoch_e9(text: &str) -> Result<i128, TimeError> {
    let b = text.trim().as_bytes();
    if b.is_empty() {
        return Err(TimeError::Empty);
    }
    let (negative, b) = match b {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, b),
    };
    let mut mantissa: i128 = 0;
    let mut exponent: i32 = 0;
    let mut seen_digit = false;
    let mut i = 0;
    while let Some(&c) = b.get(i).filter(|c| c.is_ascii_digit()) {
        mantissa = mantissa
            .checked_mul(10)
            .and_then(|m| m.checked_add(i128::from(c - b'0')))
            .ok_or(TimeError::Range)?;
        seen_digit = true;
        i += 1;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while let Some(&c) = b.get(i).filter(|c| c.is_ascii_digit()) {
            if exponent > -18 {
                mantissa = mantissa * 10 + i128::from(c - b'0');
                exponent -= 1;
            }
            seen_digit = true;
            i += 1;
        }
    }
    if !seen_digit {
        return Err(TimeError::Format);
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let exp: i32 = std::str::from_utf8(&b[i + 1..])
            .ok()
            .and_then(|s| s.parse().ok())
            .filter(|e: &i32| e.abs() <= 40)
            .ok_or(TimeError::Format)?;
        exponent += exp;
        i = b.len();
    }
    if i != b.len() {
        return Err(TimeError::Format);
    }
    let shift = exponent + 9;
    let mut value = mantissa;
    if shift >= 0 {
        for _ in 0..shift {
            value = value.checked_mul(10).ok_or(TimeError::Range)?;
        }
    } else {
        for _ in 0..-shift {
            value /= 10;
        }
    }
    if value > i128::from(i64::MAX) * 1_000_000_000 {
        return Err(TimeError::Range);
    }
    Ok(if negative { -value } else { value })
}

/// True when `text` looks like date-time text (not a plain number), for content detection.
pub(super) fn looks_like_datetime(text: &str) -> bool {
    parse_datetime(text).is_ok()
}

/// Writes `nanos` as RFC 3339 UTC into `out` (cleared first): `YYYY-MM-DDTHH:MM:SS[.f]Z` with
/// 0, 3, 6 or 9 fractional digits, the fewest that are exact.
pub(super) fn format_rfc3339(nanos: i64, out: &mut String) {
    use std::fmt::Write as _;
    out.clear();
    let secs = nanos.div_euclid(NANOS_PER_SEC);
    let frac = nanos.rem_euclid(NANOS_PER_SEC);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    );
    if frac != 0 {
        if frac % 1_000_000 == 0 {
            let _ = write!(out, ".{:03}", frac / 1_000_000);
        } else if frac % 1_000 == 0 {
            let _ = write!(out, ".{:06}", frac / 1_000);
        } else {
            let _ = write!(out, ".{frac:09}");
        }
    }
    out.push('Z');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chrono_ns(text: &str) -> i64 {
        chrono::DateTime::parse_from_rfc3339(text)
            .unwrap()
            .timestamp_nanos_opt()
            .unwrap()
    }

    #[test]
    fn rfc3339_matches_chrono() {
        for text in [
            "2024-01-02T03:04:05Z",
            "1970-01-01T00:00:00Z",
            "1969-12-31T23:59:59.999999999Z",
            "2000-02-29T12:00:00+02:00",
            "2262-04-11T23:47:16.854775807Z",
            "1677-09-21T00:12:43.145224192Z",
            "2014-04-01T00:05:00-07:30",
        ] {
            assert_eq!(parse_datetime(text), Ok(chrono_ns(text)), "{text}");
        }
    }

    #[test]
    fn other_layouts() {
        let base = chrono_ns("2024-01-02T03:04:05Z");
        assert_eq!(parse_datetime("2024-01-02 03:04:05"), Ok(base));
        assert_eq!(parse_datetime("2024/01/02 03:04:05"), Ok(base));
        assert_eq!(parse_datetime(" 2024-01-02T03:04:05 "), Ok(base));
        assert_eq!(
            parse_datetime("2024-01-02T03:04:05.5"),
            Ok(base + 500_000_000)
        );
        assert_eq!(
            parse_datetime("2024-01-02T03:04:05,25Z"),
            Ok(base + 250_000_000)
        );
        assert_eq!(parse_datetime("2024-01-02T05:04:05+0200"), Ok(base));
        assert_eq!(parse_datetime("2024-01-02T05:04:05+02"), Ok(base));
        assert_eq!(parse_datetime("2024-01-02 03:04"), Ok(base - 5_000_000_000));
        assert_eq!(
            parse_datetime("2024-01-02"),
            Ok(base - (3 * 3600 + 4 * 60 + 5) * NANOS_PER_SEC)
        );
        assert_eq!(
            parse_datetime("2024-01-02T03:04:05.1234567891Z"),
            Ok(base + 123_456_789)
        );
    }

    #[test]
    fn rejects_bad_text() {
        assert_eq!(parse_datetime(""), Err(TimeError::Empty));
        assert_eq!(parse_datetime("yesterday"), Err(TimeError::Format));
        assert_eq!(parse_datetime("12:30:00"), Err(TimeError::Format));
        assert_eq!(parse_datetime("2024-13-01"), Err(TimeError::Field));
        assert_eq!(parse_datetime("2023-02-29"), Err(TimeError::Field));
        assert_eq!(parse_datetime("2024-01-01T24:00:00"), Err(TimeError::Field));
        assert_eq!(
            parse_datetime("2024-01-01T10:00:00 UTC"),
            Err(TimeError::Format)
        );
        assert_eq!(
            parse_datetime("2024-01-01T10:00:00."),
            Err(TimeError::Format)
        );
        assert_eq!(
            parse_datetime("2024-01-01X10:00:00"),
            Err(TimeError::Format)
        );
        assert_eq!(parse_datetime("2024-01/01"), Err(TimeError::Format));
        assert_eq!(
            parse_datetime("9999-01-01T00:00:00Z"),
            Err(TimeError::Range)
        );
        assert_eq!(parse_datetime("1234"), Err(TimeError::Format));
    }

    #[test]
    fn epoch_numbers_are_exact() {
        assert_eq!(parse_epoch_e9("1700000000"), Ok(1_700_000_000_000_000_000));
        assert_eq!(
            parse_epoch_e9("1700000000.123456789"),
            Ok(1_700_000_000_123_456_789)
        );
        assert_eq!(parse_epoch_e9("-1.5"), Ok(-1_500_000_000));
        assert_eq!(parse_epoch_e9("1.7e9"), Ok(1_700_000_000_000_000_000));
        assert_eq!(parse_epoch_e9("abc"), Err(TimeError::Format));
        assert_eq!(parse_epoch_e9("."), Err(TimeError::Format));
        assert_eq!(parse_epoch_e9("1e999"), Err(TimeError::Format));
        assert_eq!(parse_epoch_e9(""), Err(TimeError::Empty));
        assert_eq!(EpochUnit::from_magnitude(1_700_000_000), EpochUnit::Seconds);
        assert_eq!(
            EpochUnit::from_magnitude(1_700_000_000_000),
            EpochUnit::Millis
        );
        assert_eq!(
            EpochUnit::Millis.nanos_from_e9(1_700_000_000_123_000_000_000),
            Some(1_700_000_000_123_000_000)
        );
    }

    #[test]
    fn format_is_minimal_and_parses_back() {
        let mut s = String::new();
        for (ns, text) in [
            (0, "1970-01-01T00:00:00Z"),
            (1_500_000_000, "1970-01-01T00:00:01.500Z"),
            (1_000_001_000, "1970-01-01T00:00:01.000001Z"),
            (-1, "1969-12-31T23:59:59.999999999Z"),
            (i64::MAX, "2262-04-11T23:47:16.854775807Z"),
            (i64::MIN, "1677-09-21T00:12:43.145224192Z"),
        ] {
            format_rfc3339(ns, &mut s);
            assert_eq!(s, text);
            assert_eq!(parse_datetime(&s), Ok(ns));
        }
    }

    #[test]
    fn civil_round_trip() {
        for days in [-719_468, -1, 0, 1, 11_016, 19_723, 106_751] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
