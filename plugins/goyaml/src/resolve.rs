//! go-yaml v2's resolution of plain scalars (`resolve("", s)` in resolve.go): what a plain
//! `s` reads back as. The emitter quotes strings that would read as anything but a string; the
//! Helm renderer's parser uses it for the values it reads.

/// What go-yaml v2 makes of a plain scalar.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Resolved {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    /// A date or date-time (`2001-12-14`), which go-yaml v2 decodes as a string into
    /// `interface{}` but still quotes when writing a string.
    Timestamp,
    Str,
}

/// go-yaml v2 `resolve("", s)`.
pub fn resolve(s: &str) -> Resolved {
    let Some(&first) = s.as_bytes().first() else {
        return Resolved::Null;
    };
    let hint = match first {
        b'+' | b'-' => b'S',
        b'0'..=b'9' => b'D',
        b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~' => b'M',
        b'.' => b'.',
        _ => return Resolved::Str,
    };
    match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Resolved::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Resolved::Bool(false);
        }
        "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        _ => {}
    }
    match hint {
        b'M' => Resolved::Str,
        b'.' => go_parse_float_dot(s).map_or(Resolved::Str, Resolved::Float),
        _ => {
            if parse_timestamp(s) {
                return Resolved::Timestamp;
            }
            let plain: String = s.chars().filter(|&c| c != '_').collect();
            if let Some(i) = go_parse_int(&plain, None) {
                return Resolved::Int(i);
            }
            if let Some(u) = go_parse_uint(&plain, None) {
                return Resolved::Uint(u);
            }
            if yaml_style_float(&plain)
                && let Some(f) = parse_finite(&plain)
            {
                return Resolved::Float(f);
            }
            if let Some(rest) = plain.strip_prefix("0b") {
                if let Some(i) = go_parse_int(rest, Some(2)) {
                    return Resolved::Int(i);
                }
                if let Some(u) = go_parse_uint(rest, Some(2)) {
                    return Resolved::Uint(u);
                }
            } else if let Some(rest) = plain.strip_prefix("-0b")
                && let Some(i) = go_parse_int(&format!("-{rest}"), Some(2))
            {
                return Resolved::Int(i);
            }
            // An integer too large for 64 bits is a string: go-yaml v2 has no big integers
            // (kubectl and Helm write `0xFFFFFFFFFFFFFFFFFF` plain).
            Resolved::Str
        }
    }
}

/// Whether go-yaml v2's encoder writes `s` quoted rather than plain (`stringv`): plain text
/// that would read back as another type (null, bool, int, float, timestamp) or as a YAML 1.1
/// base-60 number (`1:30`).
pub fn needs_quotes(s: &str) -> bool {
    resolve(s) != Resolved::Str || is_base60_float(s)
}

/// The base of an unsigned number and its digits, as Go's `strconv.ParseUint` with base 0
/// reads it: `0b`, `0o`, `0x` prefixes, or a leading `0` for octal.
fn base_and_digits(s: &str) -> (u64, &str) {
    let b = s.as_bytes();
    if b.first() != Some(&b'0') {
        return (10, s);
    }
    match b.get(1).map(u8::to_ascii_lowercase) {
        Some(b'b') if b.len() >= 3 => (2, &s[2..]),
        Some(b'o') if b.len() >= 3 => (8, &s[2..]),
        Some(b'x') if b.len() >= 3 => (16, &s[2..]),
        _ => (8, &s[1..]),
    }
}

fn digit_value(c: u8) -> Option<u64> {
    match c {
        b'0'..=b'9' => Some(u64::from(c - b'0')),
        c if c.is_ascii_alphabetic() => Some(u64::from(c.to_ascii_lowercase() - b'a' + 10)),
        _ => None,
    }
}

/// Go's `strconv.ParseUint(s, base, 64)` (base `None`: 0, prefixes allowed); `None` when it
/// fails. Underscores have already been removed by the caller.
fn go_parse_uint(s: &str, base: Option<u64>) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let (base, digits) = match base {
        Some(b) => (b, s),
        None => base_and_digits(s),
    };
    let mut n: u64 = 0;
    for &c in digits.as_bytes() {
        let d = digit_value(c).filter(|&d| d < base)?;
        n = n.checked_mul(base)?.checked_add(d)?;
    }
    Some(n)
}

/// Go's `strconv.ParseInt(s, base, 64)`.
fn go_parse_int(s: &str, base: Option<u64>) -> Option<i64> {
    let (neg, rest) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let un = go_parse_uint(rest, base)?;
    let cutoff = 1u64 << 63;
    if (!neg && un >= cutoff) || (neg && un > cutoff) {
        return None;
    }
    Some(if neg {
        (un as i64).wrapping_neg()
    } else {
        un as i64
    })
}

/// go-yaml's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn yaml_style_float(s: &str) -> bool {
    let digits = |t: &str| t.len() - t.trim_start_matches(|c: char| c.is_ascii_digit()).len();
    let t = s.strip_prefix(['-', '+']).unwrap_or(s);
    let rest = if let Some(frac) = t.strip_prefix('.') {
        let n = digits(frac);
        if n == 0 {
            return false;
        }
        &frac[n..]
    } else {
        let n = digits(t);
        if n == 0 {
            return false;
        }
        match t[n..].strip_prefix('.') {
            Some(frac) => &frac[digits(frac)..],
            None => &t[n..],
        }
    };
    if rest.is_empty() {
        return true;
    }
    let Some(exp) = rest.strip_prefix(['e', 'E']) else {
        return false;
    };
    let exp = exp.strip_prefix(['-', '+']).unwrap_or(exp);
    !exp.is_empty() && digits(exp) == exp.len()
}

/// A decimal float that does not overflow (Go's `ParseFloat` fails on overflow).
fn parse_finite(s: &str) -> Option<f64> {
    s.strip_prefix('+')
        .unwrap_or(s)
        .parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
}

/// Go's `strconv.ParseFloat(s, 64)` for a string starting with `.`: digits, an optional
/// exponent, underscores only between digits.
fn go_parse_float_dot(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let underscores_ok = b.iter().enumerate().all(|(i, &c)| {
        c != b'_'
            || (i > 0 && b[i - 1].is_ascii_digit() && b.get(i + 1).is_some_and(u8::is_ascii_digit))
    });
    let plain: String = s.chars().filter(|&c| c != '_').collect();
    if underscores_ok && plain.starts_with('.') && yaml_style_float(&plain) {
        parse_finite(&plain)
    } else {
        None
    }
}

/// go-yaml's `isBase60Float`: `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`, which
/// YAML 1.1 reads as a sexagesimal number (`1:30`).
pub fn is_base60_float(s: &str) -> bool {
    let b = s.strip_prefix(['-', '+']).unwrap_or(s).as_bytes();
    if !b.first().is_some_and(u8::is_ascii_digit) || !b.contains(&b':') {
        return false;
    }
    let mut i = 1;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while i < b.len() && b[i] == b':' {
        i += 1;
        if i + 1 < b.len() && (b'0'..=b'5').contains(&b[i]) && b[i + 1].is_ascii_digit() {
            i += 2;
        } else if i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        } else {
            return false;
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// go-yaml's `parseTimestamp`: a `YYYY-` prefix and one of the layouts
/// `2006-1-2T15:4:5.999999999Z07:00` (also with `t`), `2006-1-2 15:4:5.999999999`,
/// `2006-1-2`, with Go's `time.Parse` rules (one- or two-digit fields, ranges checked).
fn parse_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let year_digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if year_digits != 4 || b.get(4) != Some(&b'-') {
        return false;
    }
    [Some(b'T'), Some(b't'), Some(b' '), None]
        .into_iter()
        .any(|sep| go_time_parse(b, sep))
}

/// Go's `getnum`: one digit, or two when the second is a digit.
fn getnum(v: &[u8]) -> Option<(u32, &[u8])> {
    let d0 = *v.first().filter(|c| c.is_ascii_digit())?;
    match v.get(1).filter(|c| c.is_ascii_digit()) {
        Some(&d1) => Some((u32::from(d0 - b'0') * 10 + u32::from(d1 - b'0'), &v[2..])),
        None => Some((u32::from(d0 - b'0'), &v[1..])),
    }
}

fn go_time_parse(b: &[u8], sep: Option<u8>) -> bool {
    fn lit(v: &[u8], c: u8) -> Option<&[u8]> {
        v.strip_prefix(&[c][..])
    }
    fn two_digits(d: &[u8]) -> Option<u32> {
        (d.len() == 2 && d.iter().all(u8::is_ascii_digit))
            .then(|| u32::from(d[0] - b'0') * 10 + u32::from(d[1] - b'0'))
    }
    let year: u32 = b[..4].iter().fold(0, |y, &d| y * 10 + u32::from(d - b'0'));
    let parsed = (|| {
        let (month, v) = getnum(lit(&b[4..], b'-')?)?;
        let (day, mut v) = getnum(lit(v, b'-')?)?;
        if let Some(sep) = sep {
            v = if sep == b' ' {
                lit(v, b' ')?;
                let spaces = v.iter().take_while(|&&c| c == b' ').count();
                &v[spaces..]
            } else {
                lit(v, sep)?
            };
            let (hour, v1) = getnum(v)?;
            let (min, v2) = getnum(lit(v1, b':')?)?;
            let (sec, v3) = getnum(lit(v2, b':')?)?;
            if hour >= 24 || min >= 60 || sec >= 60 {
                return None;
            }
            v = v3;
            if v.len() >= 2 && (v[0] == b'.' || v[0] == b',') && v[1].is_ascii_digit() {
                v = &v[1 + v[1..].iter().take_while(|c| c.is_ascii_digit()).count()..];
            }
            if sep != b' ' {
                if let Some(rest) = lit(v, b'Z') {
                    v = rest;
                } else {
                    if v.len() < 6 || v[3] != b':' || !matches!(v[0], b'+' | b'-') {
                        return None;
                    }
                    let (h, m) = (two_digits(&v[1..3])?, two_digits(&v[4..6])?);
                    if h > 24 || m > 60 {
                        return None;
                    }
                    v = &v[6..];
                }
            }
        }
        v.is_empty().then_some((month, day))
    })();
    let Some((month, day)) = parsed else {
        return false;
    };
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_like_go_yaml_v2() {
        for (s, want) in [
            ("", Resolved::Null),
            ("~", Resolved::Null),
            ("yes", Resolved::Bool(true)),
            ("Off", Resolved::Bool(false)),
            ("0644", Resolved::Int(420)),
            ("0o17", Resolved::Int(15)),
            ("0b101", Resolved::Int(5)),
            ("-0x1F", Resolved::Int(-31)),
            ("1_000", Resolved::Int(1000)),
            ("18446744073709551615", Resolved::Uint(u64::MAX)),
            ("0xFFFFFFFFFFFFFFFFFF", Resolved::Str),
            (
                "-0b11111111111111111111111111111111111111111111111111111111111111111",
                Resolved::Str,
            ),
            ("1.5", Resolved::Float(1.5)),
            (".5_0", Resolved::Float(0.5)),
            ("-.inf", Resolved::Float(f64::NEG_INFINITY)),
            ("2001-12-14", Resolved::Timestamp),
            ("2001-12-14  21:59:43", Resolved::Timestamp),
            ("1e400", Resolved::Str),
            ("1:30", Resolved::Str),
            ("yES", Resolved::Str),
            ("<<", Resolved::Str),
        ] {
            assert_eq!(resolve(s), want, "{s:?}");
        }
        assert!(matches!(resolve(".nan"), Resolved::Float(f) if f.is_nan()));
        assert!(is_base60_float("1:30") && needs_quotes("1:30"));
        assert!(!needs_quotes("1:60") && !needs_quotes("1.2.3"));
    }
}
