//! Enough of Go's `time` for Sprig's date functions: UTC civil dates, Go reference layouts
//! (`2006-01-02T15:04:05Z07:00`), `time.Time.String()` and duration strings. The sandbox has
//! no clock, so "now" is the fixed time plumb gives the plugin (the commit time, else 0).

/// Days since 1970-01-01 to (year, month, day) — Howard Hinnant's civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = if m > 2 { m - 3 } else { m + 9 } as i64;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The hour on a 12-hour clock (12, 1, …, 11).
fn hour12(h: u32) -> u32 {
    match h % 12 {
        0 => 12,
        x => x,
    }
}

pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub min: u32,
    pub sec: u32,
    pub nanos: u32,
    pub weekday: u32,
    pub yday: u32,
}

pub fn civil(secs: i64, nanos: u32) -> Civil {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400) as u32;
    let (year, month, day) = civil_from_days(days);
    let weekday = ((days + 4).rem_euclid(7)) as u32; // 1970-01-01 was a Thursday
    let yday = (days - days_from_civil(year, 1, 1) + 1) as u32;
    Civil {
        year,
        month,
        day,
        hour: rem / 3600,
        min: rem % 3600 / 60,
        sec: rem % 60,
        nanos,
        weekday,
        yday,
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// `time.Time.Format(layout)` in UTC.
pub fn format(layout: &str, secs: i64, nanos: u32) -> String {
    let c = civil(secs, nanos);
    let mut out = String::new();
    let mut rest = layout;
    while !rest.is_empty() {
        let (tok, repl): (&str, String) = if rest.starts_with("January") {
            ("January", MONTHS[(c.month - 1) as usize].into())
        } else if rest.starts_with("Jan") {
            ("Jan", MONTHS[(c.month - 1) as usize][..3].into())
        } else if rest.starts_with("Monday") {
            ("Monday", DAYS[c.weekday as usize].into())
        } else if rest.starts_with("Mon") {
            ("Mon", DAYS[c.weekday as usize][..3].into())
        } else if rest.starts_with("MST") {
            ("MST", "UTC".into())
        } else if rest.starts_with("2006") {
            ("2006", format!("{:04}", c.year))
        } else if rest.starts_with("-07:00:00") {
            ("-07:00:00", "+00:00:00".into())
        } else if rest.starts_with("-0700") {
            ("-0700", "+0000".into())
        } else if rest.starts_with("-07:00") {
            ("-07:00", "+00:00".into())
        } else if rest.starts_with("-07") {
            ("-07", "+00".into())
        } else if rest.starts_with("Z07:00") {
            ("Z07:00", "Z".into())
        } else if rest.starts_with("Z0700") {
            ("Z0700", "Z".into())
        } else if rest.starts_with("Z07") {
            ("Z07", "Z".into())
        } else if rest.starts_with("002") {
            ("002", format!("{:03}", c.yday))
        } else if rest.starts_with("01") {
            ("01", format!("{:02}", c.month))
        } else if rest.starts_with("02") {
            ("02", format!("{:02}", c.day))
        } else if rest.starts_with("03") {
            ("03", format!("{:02}", hour12(c.hour)))
        } else if rest.starts_with("04") {
            ("04", format!("{:02}", c.min))
        } else if rest.starts_with("05") {
            ("05", format!("{:02}", c.sec))
        } else if rest.starts_with("06") {
            ("06", format!("{:02}", c.year.rem_euclid(100)))
        } else if rest.starts_with("15") {
            ("15", format!("{:02}", c.hour))
        } else if rest.starts_with("_2") {
            ("_2", format!("{:>2}", c.day))
        } else if rest.starts_with("PM") {
            ("PM", if c.hour >= 12 { "PM" } else { "AM" }.into())
        } else if rest.starts_with("pm") {
            ("pm", if c.hour >= 12 { "pm" } else { "am" }.into())
        } else if rest.starts_with(".000")
            || rest.starts_with(",000")
            || rest.starts_with(".999")
            || rest.starts_with(",999")
        {
            let digit = rest.as_bytes()[1];
            let n = rest[1..].bytes().take_while(|b| *b == digit).count();
            let frac = format!("{:09}", c.nanos);
            let mut f = frac[..n.min(9)].to_string();
            if digit == b'9' {
                f = f.trim_end_matches('0').to_string();
            }
            let tok = &rest[..n + 1];
            (
                tok,
                if f.is_empty() {
                    String::new()
                } else {
                    format!("{}{f}", &rest[..1])
                },
            )
        } else if rest.starts_with('1') {
            ("1", c.month.to_string())
        } else if rest.starts_with('2') {
            ("2", c.day.to_string())
        } else if rest.starts_with('3') {
            ("3", (hour12(c.hour)).to_string())
        } else if rest.starts_with('4') {
            ("4", c.min.to_string())
        } else if rest.starts_with('5') {
            ("5", c.sec.to_string())
        } else {
            let ch = rest.chars().next().unwrap_or(' ');
            out.push(ch);
            rest = &rest[ch.len_utf8()..];
            continue;
        };
        out.push_str(&repl);
        rest = &rest[tok.len()..];
    }
    out
}

/// `time.Time.String()` in UTC.
pub fn time_string(secs: i64, nanos: u32) -> String {
    let mut s = format("2006-01-02 15:04:05", secs, nanos);
    if nanos > 0 {
        s.push_str(format(".999999999", secs, nanos).as_str());
    }
    s.push_str(" +0000 UTC");
    s
}

/// `time.Duration.String()`.
pub fn duration_string(nanos: i128) -> String {
    if nanos == 0 {
        return "0s".into();
    }
    let neg = nanos < 0;
    let u = nanos.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        let (v, unit) = if u < 1_000 {
            (u as f64, "ns")
        } else if u < 1_000_000 {
            (u as f64 / 1e3, "µs")
        } else {
            (u as f64 / 1e6, "ms")
        };
        out.push_str(&crate::gofmt::float_v(v));
        out.push_str(unit);
    } else {
        let total_secs = u / 1_000_000_000;
        let frac = u % 1_000_000_000;
        let h = total_secs / 3600;
        let m = total_secs % 3600 / 60;
        let s = total_secs % 60;
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if h > 0 || m > 0 {
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&s.to_string());
        if frac > 0 {
            let f = format!("{frac:09}");
            out.push('.');
            out.push_str(f.trim_end_matches('0'));
        }
        out.push('s');
    }
    if neg { format!("-{out}") } else { out }
}

/// Go's `time.ParseDuration`, in nanoseconds.
pub fn parse_duration(s: &str) -> Result<i128, String> {
    let orig = s;
    let (neg, mut s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(format!(
            "time: invalid duration {}",
            crate::gofmt::quote(orig)
        ));
    }
    let mut total: f64 = 0.0;
    while !s.is_empty() {
        let n = s
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count();
        if n == 0 {
            return Err(format!(
                "time: invalid duration {}",
                crate::gofmt::quote(orig)
            ));
        }
        let num: f64 = s[..n]
            .parse()
            .map_err(|_| format!("time: invalid duration {}", crate::gofmt::quote(orig)))?;
        s = &s[n..];
        let u = s
            .bytes()
            .take_while(|b| !b.is_ascii_digit() && *b != b'.')
            .count();
        let unit = &s[..u];
        s = &s[u..];
        let mult = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => {
                return Err(format!(
                    "time: missing unit in duration {}",
                    crate::gofmt::quote(orig)
                ));
            }
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    crate::gofmt::quote(unit),
                    crate::gofmt::quote(orig)
                ));
            }
        };
        total += num * mult;
    }
    let v = total.round() as i128;
    Ok(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go() {
        assert_eq!(
            format("2006-01-02T15:04:05Z07:00", 0, 0),
            "1970-01-01T00:00:00Z"
        );
        assert_eq!(
            format("Jan 2, 2006 at 3:04pm (MST)", 1_700_000_000, 0),
            "Nov 14, 2023 at 10:13pm (UTC)"
        );
        assert_eq!(time_string(86_400, 0), "1970-01-02 00:00:00 +0000 UTC");
        assert_eq!(duration_string(90 * 1_000_000_000), "1m30s");
        assert_eq!(parse_duration("1h30m").unwrap(), 5_400_000_000_000);
    }
}
