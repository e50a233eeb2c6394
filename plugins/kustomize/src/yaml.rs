//! Reading YAML the way Kustomize does.
//!
//! Kustomize decodes every document with go-yaml v3 into untyped Go values and re-encodes them,
//! so what a scalar *means* is decided by go-yaml's resolver, not by YAML 1.2: `0644` is the
//! octal integer 420, `1_000` is 1000, `yes` and `on` stay strings, an unquoted `2024-01-02`
//! becomes the string `2024-01-02T00:00:00Z`, and a float whose shortest `%g` spelling has no
//! fraction or exponent (`3.0`, `1e3`) comes out as an integer. Those rules need the scalar's
//! style (plain or quoted), which a serde data model hides, so documents are built here from the
//! events of serde-saphyr's parser (granit-parser).

use std::collections::HashMap;

use granit_parser::{Event, Parser, ScalarStyle, Tag};
use serde_json::{Map, Number, Value};

/// A YAML syntax or typing problem, with the 1-based line where it was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct YamlError {
    pub message: String,
    pub line: Option<u32>,
}

impl YamlError {
    fn at(message: impl Into<String>, line: usize) -> Self {
        YamlError {
            message: message.into(),
            line: Some(line as u32),
        }
    }
}

/// One document of a stream and the line it starts on.
#[derive(Debug, Clone)]
pub struct Document {
    pub value: Value,
    pub line: u32,
}

enum Frame {
    Seq(Vec<Value>, usize),
    Map(Map<String, Value>, Option<(String, bool)>, usize),
}

/// Parses every document of `text`. Empty documents come back as `Value::Null`.
pub fn parse_stream(text: &str) -> Result<Vec<Document>, YamlError> {
    let mut parser = Parser::new_from_str(text);
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Value> = HashMap::new();
    let mut root: Option<Value> = None;
    let mut doc_line = 1usize;
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| YamlError::at(e.info(), e.marker().line()))?;
        let line = span.start.line();
        let produced: Option<(Value, usize)> = match event {
            Event::StreamStart | Event::StreamEnd => None,
            Event::DocumentStart(..) => {
                anchors.clear();
                root = None;
                doc_line = line;
                None
            }
            Event::DocumentEnd => {
                docs.push(Document {
                    value: root.take().unwrap_or(Value::Null),
                    line: doc_line as u32,
                });
                None
            }
            Event::Alias(id) => match anchors.get(&id) {
                Some(v) => Some((v.clone(), 0)),
                None => return Err(YamlError::at("unknown anchor", line)),
            },
            Event::Scalar(text, style, anchor, tag) => {
                let v = resolve_scalar(&text, style, tag.as_deref(), line)?;
                Some((v, anchor))
            }
            Event::SequenceStart(_, anchor, _) => {
                stack.push(Frame::Seq(Vec::new(), anchor));
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq(items, anchor)) => Some((Value::Array(items), anchor)),
                _ => return Err(YamlError::at("unbalanced sequence", line)),
            },
            Event::MappingStart(_, anchor, _) => {
                stack.push(Frame::Map(Map::new(), None, anchor));
                None
            }
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map(map, _, anchor)) => Some((Value::Object(map), anchor)),
                _ => return Err(YamlError::at("unbalanced mapping", line)),
            },
            #[allow(unreachable_patterns)]
            _ => None,
        };
        let Some((value, anchor)) = produced else {
            continue;
        };
        if anchor != 0 {
            anchors.insert(anchor, value.clone());
        }
        match stack.last_mut() {
            None => root = Some(value),
            Some(Frame::Seq(items, _)) => items.push(value),
            Some(Frame::Map(map, pending, _)) => match pending.take() {
                None => {
                    let (key, is_merge) = map_key(&value, line)?;
                    *pending = Some((key, is_merge));
                }
                Some((_, true)) => merge_into(map, value, line)?,
                Some((key, false)) => {
                    if map.contains_key(&key) {
                        return Err(YamlError::at(
                            format!("mapping key {key:?} already defined"),
                            line,
                        ));
                    }
                    map.insert(key, value);
                }
            },
        }
    }
    Ok(docs)
}

/// Keys must be strings: go-yaml builds a `map[interface{}]interface{}` otherwise, which
/// Kustomize cannot turn into JSON. `<<` is a merge key.
fn map_key(value: &Value, line: usize) -> Result<(String, bool), YamlError> {
    match value {
        Value::String(s) if s == MERGE_KEY_MARK => Ok(("<<".into(), true)),
        Value::String(s) => Ok((s.clone(), false)),
        other => Err(YamlError::at(
            format!("json: unsupported type: map[interface {{}}]interface {{}} (key {other})"),
            line,
        )),
    }
}

/// Marks a plain `<<` key while the mapping is being built (a quoted "<<" is an ordinary key).
const MERGE_KEY_MARK: &str = "\u{0}<<merge>>";

fn merge_into(map: &mut Map<String, Value>, value: Value, line: usize) -> Result<(), YamlError> {
    let sources = match value {
        Value::Object(m) => vec![m],
        Value::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                match item {
                    Value::Object(m) => out.push(m),
                    _ => {
                        return Err(YamlError::at(
                            "map merge requires map or sequence of maps as the value",
                            line,
                        ));
                    }
                }
            }
            out
        }
        _ => {
            return Err(YamlError::at(
                "map merge requires map or sequence of maps as the value",
                line,
            ));
        }
    };
    for src in sources {
        for (k, v) in src {
            map.entry(k).or_insert(v);
        }
    }
    Ok(())
}

fn resolve_scalar(
    text: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
    line: usize,
) -> Result<Value, YamlError> {
    let core = tag
        .filter(|t| t.is_yaml_core_schema())
        .map(|t| t.suffix().to_string());
    match core.as_deref() {
        Some("str") => return Ok(Value::String(text.into())),
        Some("binary") => {
            use base64::Engine;
            let cleaned: String = text.chars().filter(|c| !c.is_whitespace()).collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(cleaned)
                .map_err(|e| {
                    YamlError::at(
                        format!("!!binary value contains invalid base64 data: {e}"),
                        line,
                    )
                })?;
            return Ok(Value::String(String::from_utf8_lossy(&bytes).into_owned()));
        }
        Some("null" | "bool" | "int" | "float" | "timestamp") => return resolve_plain(text, line),
        _ => {}
    }
    if style != ScalarStyle::Plain {
        return Ok(Value::String(text.into()));
    }
    if text == "<<" {
        return Ok(Value::String(MERGE_KEY_MARK.into()));
    }
    resolve_plain(text, line)
}

/// go-yaml v3's `resolve` for an untagged plain scalar, followed by the JSON/YAML re-encoding
/// Kustomize does (integral floats print without a fraction and read back as integers).
pub fn resolve_plain(text: &str, line: usize) -> Result<Value, YamlError> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Ok(Value::Null),
        "true" | "True" | "TRUE" => return Ok(Value::Bool(true)),
        "false" | "False" | "FALSE" => return Ok(Value::Bool(false)),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF"
        | ".nan" | ".NaN" | ".NAN" => {
            return Err(YamlError::at(
                format!("json: unsupported value: {text}"),
                line,
            ));
        }
        _ => {}
    }
    let first = text.as_bytes()[0];
    let numeric_hint = first.is_ascii_digit() || first == b'+' || first == b'-' || first == b'.';
    if !numeric_hint {
        return Ok(Value::String(text.into()));
    }
    if first == b'.' {
        return Ok(match text.parse::<f64>() {
            Ok(f) if is_go_float(text) => float_value(f),
            _ => Value::String(text.into()),
        });
    }
    if let Some(ts) = parse_timestamp(text) {
        return Ok(Value::String(ts));
    }
    let plain: String = text.chars().filter(|&c| c != '_').collect();
    if let Some(v) = go_parse_int(&plain) {
        return Ok(v);
    }
    if is_yaml_style_float(&plain)
        && let Ok(f) = plain.parse::<f64>()
    {
        return Ok(float_value(f));
    }
    for (prefix, radix, neg) in [
        ("0b", 2, false),
        ("-0b", 2, true),
        ("0o", 8, false),
        ("-0o", 8, true),
    ] {
        if let Some(rest) = plain.strip_prefix(prefix)
            && let Ok(n) = i64::from_str_radix(rest, radix)
        {
            return Ok(Value::from(if neg { -n } else { n }));
        }
    }
    Ok(Value::String(text.into()))
}

/// `strconv.ParseInt(s, 0, 64)` then `ParseUint(s, 0, 64)`.
fn go_parse_int(s: &str) -> Option<Value> {
    let (neg, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() {
        return None;
    }
    let (radix, digits) =
        if let Some(r) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            (16, r)
        } else if let Some(r) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
            (2, r)
        } else if let Some(r) = body.strip_prefix("0o").or_else(|| body.strip_prefix("0O")) {
            (8, r)
        } else if body.len() > 1 && body.starts_with('0') {
            (8, &body[1..])
        } else {
            (10, body)
        };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if neg {
        if magnitude <= i64::MAX as u64 + 1 {
            return Some(Value::from((magnitude as i128).wrapping_neg() as i64));
        }
        return None;
    }
    Some(Value::from(magnitude))
}

/// go-yaml's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let int_digits = i - int_start;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if int_digits == 0 && i == frac_start {
            return false;
        }
    } else if int_digits == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            i += 1;
        }
        let exp_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start {
            return false;
        }
    }
    i == b.len()
}

/// What Go's `strconv.ParseFloat` accepts for a value starting with `.` (e.g. `.5`, `.5e3`).
fn is_go_float(s: &str) -> bool {
    is_yaml_style_float(s)
}

/// A float as Kustomize prints it: Go's shortest `%g` uses plain digits for exponents -4..5, so
/// an integral value in that range prints (and reads back) as an integer.
pub fn float_value(f: f64) -> Value {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e6 {
        return Value::from(f as i64);
    }
    Number::from_f64(f)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

/// go-yaml v3's timestamp formats, rendered as JSON renders a Go `time.Time` (RFC 3339 with
/// the shortest fraction).
fn parse_timestamp(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return None;
    }
    let mut p = Cursor { s: b, i: 5 };
    let year: u32 = s[..4].parse().ok()?;
    let month = p.num(1, 2)?;
    p.expect(b'-')?;
    let day = p.num(1, 2)?;
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if p.done() {
        return Some(format!("{year:04}-{month:02}-{day:02}T00:00:00Z"));
    }
    let sep = p.next()?;
    let zoned = match sep {
        b'T' | b't' => true,
        b' ' => false,
        _ => return None,
    };
    let hour = p.num(1, 2)?;
    p.expect(b':')?;
    let minute = p.num(1, 2)?;
    p.expect(b':')?;
    let second = p.num(1, 2)?;
    if hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let mut frac = String::new();
    if p.peek() == Some(b'.') {
        p.i += 1;
        while let Some(c) = p.peek().filter(u8::is_ascii_digit) {
            frac.push(c as char);
            p.i += 1;
        }
        if frac.is_empty() || frac.len() > 9 {
            return None;
        }
    }
    let zone = if zoned {
        match p.next()? {
            b'Z' => "Z".to_string(),
            c @ (b'+' | b'-') => {
                let zh = p.num(2, 2)?;
                p.expect(b':')?;
                let zm = p.num(2, 2)?;
                if zh == 0 && zm == 0 {
                    "Z".into()
                } else {
                    format!("{}{zh:02}:{zm:02}", c as char)
                }
            }
            _ => return None,
        }
    } else {
        "Z".to_string()
    };
    if !p.done() {
        return None;
    }
    let frac = frac.trim_end_matches('0');
    let frac = if frac.is_empty() {
        String::new()
    } else {
        format!(".{frac}")
    };
    Some(format!(
        "{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{frac}{zone}"
    ))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn next(&mut self) -> Option<u8> {
        let c = self.peek()?;
        self.i += 1;
        Some(c)
    }
    fn done(&self) -> bool {
        self.i == self.s.len()
    }
    fn expect(&mut self, c: u8) -> Option<()> {
        (self.next()? == c).then_some(())
    }
    fn num(&mut self, min: usize, max: usize) -> Option<u32> {
        let start = self.i;
        while self.i - start < max && self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        if self.i - start < min {
            return None;
        }
        std::str::from_utf8(&self.s[start..self.i])
            .ok()?
            .parse()
            .ok()
    }
}

/// Parses one YAML document (for kustomization files and inline patches).
pub fn parse_one(text: &str) -> Result<Value, YamlError> {
    let docs = parse_stream(text)?;
    Ok(docs
        .into_iter()
        .map(|d| d.value)
        .find(|v| !v.is_null())
        .unwrap_or(Value::Null))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(s: &str) -> Value {
        parse_one(s).unwrap()
    }

    #[test]
    fn resolves_scalars_like_go_yaml_v3() {
        let v = one(
            "a: 0644\nb: 0o17\nc: 0x1F\nd: yes\ne: y\nf: 2024-01-02\ng: 1.10\nh: 1e3\ni: 1_000\nj: +12\nk: ~\nl: \"0644\"\nm: True\nn: 089\no: 3.0\np: 2001-12-14t21:59:43.10-05:00\nq: 12:30\nr: 6.02e23\ns: 0.000001\nt: 12345678901234567890\n",
        );
        assert_eq!(
            v,
            json!({"a": 420, "b": 15, "c": 31, "d": "yes", "e": "y", "f": "2024-01-02T00:00:00Z", "g": 1.1,
                   "h": 1000, "i": 1000, "j": 12, "k": null, "l": "0644", "m": true, "n": 89, "o": 3,
                   "p": "2001-12-14T21:59:43.1-05:00", "q": "12:30", "r": 6.02e23, "s": 0.000001,
                   "t": 12345678901234567890u64})
        );
    }

    #[test]
    fn anchors_merge_keys_and_documents() {
        let docs =
            parse_stream("a: &x {k: 1}\nb: *x\nc:\n  <<: *x\n  z: 2\n---\n---\nx: 1\n").unwrap();
        assert_eq!(docs.len(), 3);
        assert_eq!(
            docs[0].value,
            json!({"a": {"k": 1}, "b": {"k": 1}, "c": {"k": 1, "z": 2}})
        );
        assert!(docs[1].value.is_null());
        assert_eq!(docs[2].line, 7);
    }

    #[test]
    fn rejects_bad_yaml_and_non_string_keys() {
        let e = parse_stream("a: [1\nb: 2\n").unwrap_err();
        assert!(e.line.is_some());
        assert!(parse_stream("1: one\n").is_err());
        assert!(parse_stream("a: 1\na: 2\n").is_err());
    }
}
