//! YAML as Helm reads and writes it: `sigs.k8s.io/yaml`, i.e. go-yaml v2 with YAML 1.1 scalar
//! rules (`yes`/`on` are booleans, `0644` is octal) followed by a JSON round trip (all numbers
//! become float64, keys become strings).
//!
//! Parsing uses granit-parser's events (the parser serde-saphyr is built on) and resolves
//! plain scalars with go-yaml v2's table. Writing (`toYaml`) ports go-yaml v2's emitter for
//! block mappings and sequences: the same key order, quoting, literal blocks and the folding of
//! long plain strings at column 80, because rendered text is hashed (`sha256sum` checksums) and
//! compared byte for byte with Helm's.

use std::collections::BTreeMap;
use std::collections::HashMap;
use std::sync::OnceLock;

use granit_parser::{Event, Parser, ScalarStyle};
use regex::Regex;

use crate::value::{IntType, Obj, Value};

/// A YAML node after go-yaml v2's resolution, before the JSON round trip.
#[derive(Clone, Debug)]
pub enum YNode {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str(String),
    Seq(Vec<YNode>),
    Map(Vec<(YNode, YNode)>),
}

#[derive(Debug, Clone)]
pub struct YamlError {
    pub message: String,
    pub line: Option<usize>,
}

impl std::fmt::Display for YamlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "yaml: line {l}: {}", self.message),
            None => write!(f, "yaml: {}", self.message),
        }
    }
}

fn res() -> &'static (Regex, Regex, Regex, Regex) {
    static R: OnceLock<(Regex, Regex, Regex, Regex)> = OnceLock::new();
    R.get_or_init(|| {
        (
            Regex::new(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$").expect("constant regex"),
            Regex::new(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$").expect("constant regex"),
            Regex::new(r"^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})$").expect("constant regex"),
            Regex::new(
                r"^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:[Tt]([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:\.[0-9]+)?(?:Z|[+-][0-9]{2}:[0-9]{2})| ([0-9]{1,2}):([0-9]{1,2}):([0-9]{1,2})(?:\.[0-9]+)?)$",
            )
            .expect("constant regex"),
        )
    })
}

fn valid_date(y: &str, m: &str, d: &str) -> bool {
    let (Ok(y), Ok(m), Ok(d)) = (y.parse::<i64>(), m.parse::<u32>(), d.parse::<u32>()) else {
        return false;
    };
    if !(1..=12).contains(&m) || d == 0 {
        return false;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    d <= days[(m - 1) as usize]
}

fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let (_, _, date, datetime) = res();
    if let Some(c) = date.captures(s) {
        return valid_date(&c[1], &c[2], &c[3]);
    }
    if let Some(c) = datetime.captures(s) {
        let time_ok = |h: Option<regex::Match>,
                       m: Option<regex::Match>,
                       sec: Option<regex::Match>| {
            let p = |x: Option<regex::Match>| x.and_then(|x| x.as_str().parse::<u32>().ok());
            matches!((p(h), p(m), p(sec)), (Some(h), Some(m), Some(s)) if h < 24 && m < 60 && s < 60)
        };
        let ok = if c.get(4).is_some() {
            time_ok(c.get(4), c.get(5), c.get(6))
        } else {
            time_ok(c.get(7), c.get(8), c.get(9))
        };
        return ok && valid_date(&c[1], &c[2], &c[3]);
    }
    false
}

pub fn is_base60_float(s: &str) -> bool {
    let Some(c) = s.bytes().next() else {
        return false;
    };
    if !(c == b'+' || c == b'-' || c.is_ascii_digit()) || !s.contains(':') {
        return false;
    }
    res().1.is_match(s)
}

/// go-yaml v2's `resolve("", s)` for a plain scalar.
pub fn resolve_plain(s: &str) -> YNode {
    let hint = match s.bytes().next() {
        None => b'N',
        Some(b'+' | b'-') => b'S',
        Some(b'0'..=b'9') => b'D',
        Some(b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~') => b'M',
        Some(b'.') => b'.',
        _ => 0,
    };
    if hint == 0 {
        return YNode::Str(s.to_string());
    }
    match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return YNode::Bool(true);
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return YNode::Bool(false);
        }
        "" | "~" | "null" | "Null" | "NULL" => return YNode::Null,
        ".nan" | ".NaN" | ".NAN" => return YNode::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return YNode::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return YNode::Float(f64::NEG_INFINITY),
        _ => {}
    }
    match hint {
        b'.' => {
            if let Some(f) = crate::funcs::conv_parse_float(s) {
                return YNode::Float(f);
            }
        }
        b'D' | b'S' => {
            if is_timestamp(s) {
                // go-yaml v2 keeps timestamps as strings when decoding into interface{}.
                return YNode::Str(s.to_string());
            }
            let plain = s.replace('_', "");
            if let Some(i) = crate::funcs::conv_parse_int(&plain) {
                return YNode::Int(i);
            }
            if let Some(u) = parse_uint_base0(&plain) {
                return YNode::Uint(u);
            }
            if res().0.is_match(&plain)
                && let Ok(f) = plain.parse::<f64>()
            {
                return YNode::Float(f);
            }
        }
        _ => {}
    }
    YNode::Str(s.to_string())
}

fn parse_uint_base0(s: &str) -> Option<u64> {
    let s = s.strip_prefix('+').unwrap_or(s);
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        return u64::from_str_radix(h, 16).ok();
    }
    if s.bytes().all(|b| b.is_ascii_digit()) && !s.is_empty() {
        return s.parse().ok();
    }
    None
}

/// Parses the first document of `text` (what go-yaml's `Unmarshal` reads).
pub fn parse(text: &str) -> Result<YNode, YamlError> {
    let mut parser = Parser::new_from_str(text);
    let mut b = Builder {
        anchors: HashMap::new(),
        stack: Vec::new(),
        result: None,
        started: false,
        done: false,
    };
    while let Some(ev) = parser.next_event() {
        let (ev, span) = ev.map_err(|e| YamlError {
            message: e.info().to_string(),
            line: Some(e.marker().line()),
        })?;
        b.event(ev, span.start.line())?;
        if b.done {
            break;
        }
    }
    Ok(b.result.unwrap_or(YNode::Null))
}

enum Frame {
    Seq(Vec<YNode>, usize),
    Map(Vec<(YNode, YNode)>, Option<(YNode, bool)>, usize),
}

struct Builder {
    anchors: HashMap<usize, YNode>,
    stack: Vec<Frame>,
    result: Option<YNode>,
    started: bool,
    done: bool,
}

impl Builder {
    fn event(&mut self, ev: Event<'_>, line: usize) -> Result<(), YamlError> {
        match ev {
            Event::DocumentStart(..) => self.started = true,
            Event::DocumentEnd if self.started => self.done = true,
            Event::Scalar(v, style, anchor, tag) => {
                let node = scalar(&v, style, tag.as_deref());
                if anchor != 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.push(node, false, line)?;
            }
            Event::Alias(id) => {
                let node = self.anchors.get(&id).cloned().ok_or_else(|| YamlError {
                    message: "unknown anchor referenced".into(),
                    line: Some(line),
                })?;
                self.push(node, true, line)?;
            }
            Event::SequenceStart(_, anchor, _) => self.stack.push(Frame::Seq(Vec::new(), anchor)),
            Event::MappingStart(_, anchor, _) => {
                self.stack.push(Frame::Map(Vec::new(), None, anchor))
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq(items, anchor)) = self.stack.pop() {
                    let node = YNode::Seq(items);
                    if anchor != 0 {
                        self.anchors.insert(anchor, node.clone());
                    }
                    self.push(node, false, line)?;
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map(entries, _, anchor)) = self.stack.pop() {
                    let node = YNode::Map(entries);
                    if anchor != 0 {
                        self.anchors.insert(anchor, node.clone());
                    }
                    self.push(node, false, line)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn push(&mut self, node: YNode, _alias: bool, line: usize) -> Result<(), YamlError> {
        match self.stack.last_mut() {
            None => self.result = Some(node),
            Some(Frame::Seq(items, _)) => items.push(node),
            Some(Frame::Map(entries, pending, _)) => match pending.take() {
                None => {
                    let is_merge = matches!(&node, YNode::Str(s) if s == "<<");
                    *pending = Some((node, is_merge));
                }
                Some((key, is_merge)) => {
                    if is_merge && matches!(node, YNode::Map(_) | YNode::Seq(_)) {
                        match node {
                            YNode::Map(m) => entries.extend(m),
                            YNode::Seq(items) => {
                                // Earlier maps take precedence: apply them last.
                                for item in items.into_iter().rev() {
                                    match item {
                                        YNode::Map(m) => entries.extend(m),
                                        _ => {
                                            return Err(YamlError {
                                                message: "map merge requires map or sequence of maps as the value".into(),
                                                line: Some(line),
                                            });
                                        }
                                    }
                                }
                            }
                            _ => {}
                        }
                    } else if is_merge {
                        return Err(YamlError {
                            message: "map merge requires map or sequence of maps as the value"
                                .into(),
                            line: Some(line),
                        });
                    } else {
                        entries.push((key, node));
                    }
                }
            },
        }
        Ok(())
    }
}

fn scalar(v: &str, style: ScalarStyle, tag: Option<&granit_parser::Tag>) -> YNode {
    if let Some(t) = tag {
        let suffix = t.suffix();
        let core = t.handle() == "tag:yaml.org,2002:" || t.handle() == "!!";
        if core {
            match suffix {
                "str" => return YNode::Str(v.to_string()),
                "binary" => {
                    use base64::Engine as _;
                    let clean: String = v.chars().filter(|c| !c.is_whitespace()).collect();
                    if let Ok(d) = base64::engine::general_purpose::STANDARD.decode(clean) {
                        return YNode::Str(String::from_utf8_lossy(&d).into_owned());
                    }
                    return YNode::Str(v.to_string());
                }
                "int" | "float" | "bool" | "null" => {
                    let r = resolve_plain(v);
                    if let ("float", YNode::Int(i)) = (suffix, &r) {
                        return YNode::Float(*i as f64);
                    }
                    return r;
                }
                _ => {}
            }
        } else {
            return YNode::Str(v.to_string());
        }
    }
    match style {
        ScalarStyle::Plain => resolve_plain(v),
        _ => YNode::Str(v.to_string()),
    }
}

/// The string key sigs.k8s.io/yaml makes of a non-string key.
fn key_string(k: &YNode) -> Result<String, String> {
    Ok(match k {
        YNode::Str(s) => s.clone(),
        YNode::Int(i) => i.to_string(),
        YNode::Uint(u) => u.to_string(),
        YNode::Float(f) => {
            let s = float32_g(*f);
            match s.as_str() {
                "+Inf" => ".inf".into(),
                "-Inf" => "-.inf".into(),
                "NaN" => ".nan".into(),
                _ => s,
            }
        }
        YNode::Bool(b) => b.to_string(),
        YNode::Null => return Err("unsupported map key of type: <nil>".into()),
        YNode::Seq(_) | YNode::Map(_) => return Err("unsupported map key: a collection".into()),
    })
}

/// `strconv.FormatFloat(f, 'g', -1, 32)`: shortest digits that round-trip as float32.
pub fn float32_g(f: f64) -> String {
    crate::gofmt::format_float32_g(f)
}

/// The value Helm sees after `sigs.k8s.io/yaml.Unmarshal` into `map[string]interface{}`:
/// JSON semantics, so every number is a float64.
pub fn to_value(n: &YNode) -> Result<Value, String> {
    Ok(match n {
        YNode::Null => Value::Nil,
        YNode::Bool(b) => Value::Bool(*b),
        YNode::Int(i) => Value::Float(*i as f64),
        YNode::Uint(u) => Value::Float(*u as f64),
        YNode::Float(f) => {
            if !f.is_finite() {
                return Err(format!(
                    "json: unsupported value: {}",
                    crate::gofmt::float_v(*f)
                ));
            }
            Value::Float(*f)
        }
        YNode::Str(s) => Value::str(s.as_str()),
        YNode::Seq(items) => {
            Value::list(items.iter().map(to_value).collect::<Result<Vec<_>, _>>()?)
        }
        YNode::Map(entries) => {
            let mut m = BTreeMap::new();
            for (k, v) in entries {
                m.insert(key_string(k)?, to_value(v)?);
            }
            Value::new_map(m)
        }
    })
}

/// `sigs.k8s.io/yaml.Unmarshal(text, &map[string]interface{})`: an empty or null document is
/// an empty map; anything but a mapping is an error.
pub fn parse_map(text: &str) -> Result<Value, String> {
    let node = parse(text).map_err(|e| format!("error converting YAML to JSON: {e}"))?;
    match &node {
        YNode::Null => Ok(Value::empty_map()),
        YNode::Map(_) => to_value(&node).map_err(|e| format!("error converting YAML to JSON: {e}")),
        other => Err(format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
            json_kind(other)
        )),
    }
}

fn json_kind(n: &YNode) -> &'static str {
    match n {
        YNode::Seq(_) => "array",
        YNode::Str(_) => "string",
        YNode::Bool(_) => "bool",
        YNode::Int(_) | YNode::Uint(_) | YNode::Float(_) => "number",
        YNode::Map(_) => "object",
        YNode::Null => "null",
    }
}

// ---------------------------------------------------------------------------------------------
// Emitting (toYaml).

/// A value after `json.Marshal` and go-yaml v2's `Unmarshal` of that JSON.
#[derive(Debug)]
enum Ev {
    Null,
    Bool(bool),
    Int(String),
    Float(f64),
    Str(String),
    Seq(Vec<Ev>),
    Map(Vec<(String, Ev)>),
}

fn to_ev(v: &Value, pretty: bool) -> Result<Ev, String> {
    Ok(match v {
        Value::Invalid | Value::Nil => Ev::Null,
        Value::Bool(b) => Ev::Bool(*b),
        Value::Int(i, IntType::Uint64) => Ev::Int((*i as u64).to_string()),
        Value::Int(i, _) => Ev::Int(i.to_string()),
        Value::Float(f) if pretty => Ev::Float(*f),
        Value::Float(f) => {
            let text = crate::json::float_text(*f)?;
            match resolve_plain(&text) {
                YNode::Int(i) => Ev::Int(i.to_string()),
                YNode::Uint(u) => Ev::Int(u.to_string()),
                _ => Ev::Float(text.parse::<f64>().unwrap_or(*f)),
            }
        }
        Value::Str(s) => Ev::Str(s.to_string()),
        Value::Bytes(b) => {
            use base64::Engine as _;
            Ev::Str(base64::engine::general_purpose::STANDARD.encode(b))
        }
        Value::List(items, _) => Ev::Seq(
            items
                .iter()
                .map(|x| to_ev(x, pretty))
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(m, _) => {
            let mut entries: Vec<(String, Ev)> = m
                .borrow()
                .iter()
                .map(|(k, v)| Ok((k.clone(), to_ev(v, pretty)?)))
                .collect::<Result<_, String>>()?;
            entries.sort_by(|a, b| key_order(&a.0, &b.0));
            Ev::Map(entries)
        }
        Value::Obj(o) => match &**o {
            Obj::Time(..) | Obj::SemVer(_) => {
                let j = crate::json::marshal(v, false)?;
                Ev::Str(j.trim_matches('"').to_string())
            }
            _ => {
                let j = crate::json::marshal(v, false)?;
                let parsed = crate::json::parse_any(&j)?;
                to_ev(&parsed, pretty)?
            }
        },
    })
}

/// go-yaml v2's key order (`keyList.Less`): letters sort after other characters, and runs of
/// digits compare as numbers.
pub fn key_order(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let mut i = 0;
    while i < ar.len() && i < br.len() {
        if ar[i] == br[i] {
            i += 1;
            continue;
        }
        let al = ar[i].is_alphabetic();
        let bl = br[i].is_alphabetic();
        if al && bl {
            return ar[i].cmp(&br[i]);
        }
        if al || bl {
            return if bl { Less } else { Greater };
        }
        let (mut an, mut bn): (i64, i64) = (0, 0);
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i;
            while j > 0 && ar[j - 1].is_ascii_digit() {
                j -= 1;
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && ar[ai].is_ascii_digit() {
            an = an.wrapping_mul(10).wrapping_add(ar[ai] as i64 - '0' as i64);
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && br[bi].is_ascii_digit() {
            bn = bn.wrapping_mul(10).wrapping_add(br[bi] as i64 - '0' as i64);
            bi += 1;
        }
        if an != bn {
            return an.cmp(&bn);
        }
        if ai != bi {
            return ai.cmp(&bi);
        }
        return ar[i].cmp(&br[i]);
    }
    ar.len().cmp(&br.len())
}

/// `sigs.k8s.io/yaml.Marshal(v)` (go-yaml v2 after a JSON round trip).
pub fn marshal(v: &Value) -> Result<String, String> {
    marshal_with(v, false)
}

/// Helm's `toYamlPretty`: go-yaml v3's encoder with a 2-space indent, straight from the Go
/// values (no JSON round trip), sequences indented under their key, no line folding.
pub fn marshal_pretty(v: &Value) -> Result<String, String> {
    marshal_with(v, true)
}

fn marshal_with(v: &Value, pretty: bool) -> Result<String, String> {
    let ev = to_ev(v, pretty)?;
    let mut e = Emitter {
        pretty,
        width: if pretty { usize::MAX } else { BEST_WIDTH },
        out: String::new(),
        column: 0,
        indent: -1,
        whitespace: true,
        indention: true,
        indents: Vec::new(),
    };
    e.node(&ev, Ctx::Root)?;
    e.write_indent();
    Ok(e.out)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Root,
    MapKey,
    MapValue,
    SeqItem,
}

const BEST_INDENT: i32 = 2;
const BEST_WIDTH: usize = 80;

struct Emitter {
    pretty: bool,
    width: usize,
    out: String,
    column: usize,
    indent: i32,
    whitespace: bool,
    indention: bool,
    indents: Vec<i32>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

struct Analysis {
    multiline: bool,
    flow_plain: bool,
    block_plain: bool,
    single: bool,
    block: bool,
}

fn is_printable(c: char) -> bool {
    let u = c as u32;
    u == 0x0A
        || (0x20..=0x7E).contains(&u)
        || u == 0x85
        || (0xA0..=0xD7FF).contains(&u)
        || ((0xE000..=0xFFFD).contains(&u) && u != 0xFEFF)
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

fn analyze(value: &str) -> Analysis {
    if value.is_empty() {
        return Analysis {
            multiline: false,
            flow_plain: false,
            block_plain: true,
            single: true,
            block: false,
        };
    }
    let chars: Vec<char> = value.chars().collect();
    let (mut block_ind, mut flow_ind, mut line_breaks, mut special) = (false, false, false, false);
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break, mut prev_space, mut prev_break) =
        (false, false, false, false);
    if value.starts_with("---") || value.starts_with("...") {
        block_ind = true;
        flow_ind = true;
    }
    let mut preceded_by_ws = true;
    let n = chars.len();
    for i in 0..n {
        let c = chars[i];
        let followed_by_ws =
            i + 1 >= n || matches!(chars[i + 1], ' ' | '\t') || is_break(chars[i + 1]);
        if i == 0 {
            match c {
                '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"'
                | '%' | '@' | '`' => {
                    flow_ind = true;
                    block_ind = true;
                }
                '?' | ':' => {
                    flow_ind = true;
                    if followed_by_ws {
                        block_ind = true;
                    }
                }
                '-' if followed_by_ws => {
                    flow_ind = true;
                    block_ind = true;
                }
                _ => {}
            }
        } else {
            match c {
                ',' | '?' | '[' | ']' | '{' | '}' => flow_ind = true,
                ':' => {
                    flow_ind = true;
                    if followed_by_ws {
                        block_ind = true;
                    }
                }
                '#' if preceded_by_ws => {
                    flow_ind = true;
                    block_ind = true;
                }
                _ => {}
            }
        }
        if !is_printable(c) {
            special = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if i + 1 == n {
                trailing_space = true;
            }
            if prev_break {
                break_space = true;
            }
            prev_space = true;
            prev_break = false;
        } else if is_break(c) {
            line_breaks = true;
            if i == 0 {
                leading_break = true;
            }
            if i + 1 == n {
                trailing_break = true;
            }
            if prev_space {
                space_break = true;
            }
            prev_space = false;
            prev_break = true;
        } else {
            prev_space = false;
            prev_break = false;
        }
        preceded_by_ws = matches!(c, ' ' | '\t') || is_break(c);
    }
    let mut a = Analysis {
        multiline: line_breaks,
        flow_plain: true,
        block_plain: true,
        single: true,
        block: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.flow_plain = false;
        a.block_plain = false;
    }
    if trailing_space {
        a.block = false;
    }
    if break_space {
        a.flow_plain = false;
        a.block_plain = false;
        a.single = false;
    }
    if space_break || special {
        a.flow_plain = false;
        a.block_plain = false;
        a.single = false;
        a.block = false;
    }
    if line_breaks {
        a.flow_plain = false;
        a.block_plain = false;
    }
    if flow_ind {
        a.flow_plain = false;
    }
    if block_ind {
        a.block_plain = false;
    }
    a
}

impl Emitter {
    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
        self.indention = true;
    }

    fn write_indent(&mut self) {
        let indent = self.indent.max(0) as usize;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(&mut self, ind: &str, need_ws: bool, is_ws: bool, is_indention: bool) {
        if need_ws && !self.whitespace {
            self.put(' ');
        }
        for c in ind.chars() {
            self.put(c);
        }
        self.whitespace = is_ws;
        self.indention = self.indention && is_indention;
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { BEST_INDENT } else { 0 };
        } else if !indentless {
            self.indent += BEST_INDENT;
        }
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    fn node(&mut self, ev: &Ev, ctx: Ctx) -> Result<(), String> {
        match ev {
            Ev::Seq(items) if !items.is_empty() => {
                let indentless = !self.pretty && ctx == Ctx::MapValue && !self.indention;
                self.increase_indent(false, indentless);
                for item in items {
                    self.write_indent();
                    self.write_indicator("-", true, false, true);
                    self.node(item, Ctx::SeqItem)?;
                }
                self.pop_indent();
            }
            Ev::Map(entries) if !entries.is_empty() => {
                self.increase_indent(false, false);
                for (k, v) in entries {
                    self.write_indent();
                    let simple = k.len() <= 128 && !k.chars().any(is_break);
                    if simple {
                        self.scalar_str(k, Ctx::MapKey);
                        self.write_indicator(":", false, false, false);
                    } else {
                        self.write_indicator("?", true, false, true);
                        self.scalar_str(k, Ctx::MapValue);
                        self.write_indent();
                        self.write_indicator(":", true, false, true);
                    }
                    self.node(v, Ctx::MapValue)?;
                }
                self.pop_indent();
            }
            Ev::Seq(_) => self.write_indicator("[]", true, false, false),
            Ev::Map(_) => self.write_indicator("{}", true, false, false),
            Ev::Null => self.plain_scalar("null", ctx),
            Ev::Bool(b) => self.plain_scalar(if *b { "true" } else { "false" }, ctx),
            Ev::Int(s) => self.plain_scalar(s, ctx),
            Ev::Float(f) => {
                let s = crate::gofmt::format_float(*f, 'g', None);
                let s = match s.as_str() {
                    "+Inf" => ".inf".to_string(),
                    "-Inf" => "-.inf".to_string(),
                    "NaN" => ".nan".to_string(),
                    _ => s,
                };
                self.plain_scalar(&s, ctx)
            }
            Ev::Str(s) => self.scalar_str(s, ctx),
        }
        Ok(())
    }

    fn plain_scalar(&mut self, s: &str, ctx: Ctx) {
        self.increase_indent(true, false);
        self.write_plain(s, ctx != Ctx::MapKey);
        self.pop_indent();
    }

    fn scalar_str(&mut self, s: &str, ctx: Ctx) {
        let simple_key = ctx == Ctx::MapKey;
        let can_plain =
            matches!(resolve_plain(s), YNode::Str(_)) && !is_timestamp(s) && !is_base60_float(s);
        let mut style = if s.contains('\n') {
            Style::Literal
        } else if can_plain {
            Style::Plain
        } else {
            Style::Double
        };
        let a = analyze(s);
        if simple_key && a.multiline {
            style = Style::Double;
        }
        if style == Style::Plain && (!a.block_plain || (s.is_empty() && simple_key)) {
            style = Style::Single;
        }
        if style == Style::Single && !a.single {
            style = Style::Double;
        }
        if style == Style::Literal && (!a.block || simple_key) {
            style = Style::Double;
        }
        self.increase_indent(true, false);
        match style {
            Style::Plain => self.write_plain(s, !simple_key),
            Style::Single => self.write_single(s, !simple_key),
            Style::Double => self.write_double(s, !simple_key),
            Style::Literal => self.write_literal(s),
        }
        self.pop_indent();
    }

    fn write_plain(&mut self, value: &str, allow_breaks: bool) {
        if !value.is_empty() && !self.whitespace {
            self.put(' ');
        }
        let chars: Vec<char> = value.chars().collect();
        let (mut spaces, mut breaks) = (false, false);
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > self.width
                    && chars.get(i + 1) != Some(&' ')
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.put_break();
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
            i += 1;
        }
        if !value.is_empty() {
            self.whitespace = false;
        }
        self.indention = false;
    }

    fn write_single(&mut self, value: &str, allow_breaks: bool) {
        self.write_indicator("'", true, false, false);
        let chars: Vec<char> = value.chars().collect();
        let (mut spaces, mut breaks) = (false, false);
        let n = chars.len();
        for i in 0..n {
            let c = chars[i];
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > self.width
                    && i > 0
                    && i < n - 1
                    && chars[i + 1] != ' '
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.put_break();
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double(&mut self, value: &str, allow_breaks: bool) {
        let mut spaces = false;
        self.write_indicator("\"", true, false, false);
        let chars: Vec<char> = value.chars().collect();
        let n = chars.len();
        for i in 0..n {
            let c = chars[i];
            if !is_printable(c) || c == '\u{FEFF}' || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                let u = c as u32;
                match u {
                    0x00 => self.put('0'),
                    0x07 => self.put('a'),
                    0x08 => self.put('b'),
                    0x09 => self.put('t'),
                    0x0A => self.put('n'),
                    0x0B => self.put('v'),
                    0x0C => self.put('f'),
                    0x0D => self.put('r'),
                    0x1B => self.put('e'),
                    0x22 => self.put('"'),
                    0x5C => self.put('\\'),
                    0x85 => self.put('N'),
                    0xA0 => self.put('_'),
                    0x2028 => self.put('L'),
                    0x2029 => self.put('P'),
                    _ => {
                        let (ind, w) = if u <= 0xFF {
                            ('x', 2)
                        } else if u <= 0xFFFF {
                            ('u', 4)
                        } else {
                            ('U', 8)
                        };
                        self.put(ind);
                        for k in (0..w).rev() {
                            let d = (u >> (k * 4)) & 0xF;
                            self.put(char::from_digit(d, 16).unwrap_or('0').to_ascii_uppercase());
                        }
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks && !spaces && self.column > self.width && i > 0 && i < n - 1 {
                    self.write_indent();
                    if chars.get(i + 1) == Some(&' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_literal(&mut self, value: &str) {
        self.write_indicator("|", true, false, false);
        // Block scalar hints.
        let first = value.chars().next();
        if first.is_some_and(|c| c == ' ' || is_break(c)) {
            self.write_indicator(&BEST_INDENT.to_string(), false, false, false);
        }
        let chars: Vec<char> = value.chars().collect();
        let chomp = match chars.last() {
            None => Some('-'),
            Some(&l) if !is_break(l) => Some('-'),
            Some(_) if chars.len() == 1 => Some('+'),
            Some(_) => {
                if is_break(chars[chars.len() - 2]) {
                    Some('+')
                } else {
                    None
                }
            }
        };
        if let Some(c) = chomp {
            self.write_indicator(&c.to_string(), false, false, false);
        }
        self.whitespace = true;
        let mut breaks = true;
        for c in chars {
            if is_break(c) {
                self.put_break();
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn y(text: &str) -> Value {
        parse_map(text).unwrap()
    }

    #[test]
    fn resolves_like_go_yaml_v2() {
        assert!(matches!(resolve_plain("yes"), YNode::Bool(true)));
        assert!(matches!(resolve_plain("0644"), YNode::Int(420)));
        assert!(matches!(resolve_plain("1.5"), YNode::Float(_)));
        assert!(matches!(resolve_plain("2023-01-02"), YNode::Str(_)));
        assert!(matches!(resolve_plain("1:20"), YNode::Str(_)));
        assert!(matches!(resolve_plain("~"), YNode::Null));
        let v = y("a: 1\nb: [x, 2]\nc:\n  d: true\n");
        assert_eq!(crate::gofmt::sprint_v(&v), "map[a:1 b:[x 2] c:map[d:true]]");
    }

    #[test]
    fn merges_anchors() {
        let v = y("base: &b\n  x: 1\n  z: 2\nderived:\n  <<: *b\n  z: 3\n");
        assert_eq!(
            crate::gofmt::sprint_v(&v),
            "map[base:map[x:1 z:2] derived:map[x:1 z:3]]"
        );
        // go-yaml v2 reads a bare `y` as true.
        assert_eq!(crate::gofmt::sprint_v(&y("y: 1\n")), "map[true:1]");
    }

    #[test]
    fn marshals_like_go_yaml_v2() {
        let v = y(
            "b: 1\na:\n  - x\n  - k: v\n    j: 10\nc: {}\nd: []\ne: 'true'\nf: \"line1\\nline2\\n\"\ng: ''\nh: 1.5\n",
        );
        let out = marshal(&v).unwrap();
        assert_eq!(
            out,
            "a:\n- x\n- j: 10\n  k: v\nb: 1\nc: {}\nd: []\ne: \"true\"\nf: |\n  line1\n  line2\ng: \"\"\nh: 1.5\n"
        );
    }

    #[test]
    fn key_order_is_natural() {
        let mut keys = vec!["a10", "a9", "b", "A", "_x", "a"];
        keys.sort_by(|a, b| key_order(a, b));
        assert_eq!(keys, ["_x", "A", "a", "a9", "a10", "b"]);
    }
}
