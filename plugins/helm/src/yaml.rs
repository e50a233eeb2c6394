//! YAML as Helm reads and writes it: `sigs.k8s.io/yaml`, i.e. go-yaml v2 with YAML 1.1 scalar
//! rules (`yes`/`on` are booleans, `0644` is octal) followed by a JSON round trip (all numbers
//! become float64, keys become strings).
//!
//! Parsing uses granit-parser's events (the parser serde-saphyr is built on) and resolves
//! plain scalars with go-yaml v2's table (`plumb_goyaml::resolve`). Writing (`toYaml`) goes
//! through `plumb_goyaml`'s port of go-yaml's emitter, shared with plumb's kustomize output:
//! the same key order, quoting, literal blocks and the folding of long plain strings at column
//! 80, because rendered text is hashed (`sha256sum` checksums) and compared byte for byte with
//! Helm's.

use std::collections::BTreeMap;
use std::collections::HashMap;

use granit_parser::{Event, Parser, ScalarStyle};
use plumb_goyaml::{Node, Options, Resolved, emit, resolve, sort_entries};

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

/// go-yaml v2's `resolve("", s)` for a plain scalar, as decoded into `interface{}`.
pub fn resolve_plain(s: &str) -> YNode {
    match resolve(s) {
        Resolved::Null => YNode::Null,
        Resolved::Bool(b) => YNode::Bool(b),
        Resolved::Int(i) => YNode::Int(i),
        Resolved::Uint(u) => YNode::Uint(u),
        Resolved::Float(f) => YNode::Float(f),
        // go-yaml v2 keeps timestamps as strings when decoding into interface{}.
        Resolved::Timestamp | Resolved::Str => YNode::Str(s.to_string()),
    }
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

/// A value as go-yaml sees it: after `json.Marshal` and go-yaml v2's `Unmarshal` of that JSON
/// (`toYaml`), or straight from the Go value (`toYamlPretty`).
fn to_node(v: &Value, pretty: bool) -> Result<Node, String> {
    Ok(match v {
        Value::Invalid | Value::Nil => Node::Null,
        Value::Bool(b) => Node::Bool(*b),
        Value::Int(i, IntType::Uint64) => Node::Number((*i as u64).to_string()),
        Value::Int(i, _) => Node::Number(i.to_string()),
        Value::Float(f) if pretty => Node::Number(float_g(*f)),
        Value::Float(f) => {
            let text = crate::json::float_text(*f)?;
            match resolve_plain(&text) {
                YNode::Int(i) => Node::Number(i.to_string()),
                YNode::Uint(u) => Node::Number(u.to_string()),
                _ => Node::Number(float_g(text.parse::<f64>().unwrap_or(*f))),
            }
        }
        Value::Str(s) if pretty => Node::Str(s.to_string()),
        Value::Str(s) => Node::Str(read_json_string(s)),
        Value::Bytes(b) => {
            use base64::Engine as _;
            Node::Str(base64::engine::general_purpose::STANDARD.encode(b))
        }
        Value::List(items, _) => Node::Seq(
            items
                .iter()
                .map(|x| to_node(x, pretty))
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(m, _) => {
            let mut entries: Vec<(String, Node)> = m
                .borrow()
                .iter()
                .map(|(k, v)| {
                    let k = if pretty {
                        k.clone()
                    } else {
                        read_json_string(k)
                    };
                    Ok((k, to_node(v, pretty)?))
                })
                .collect::<Result<_, String>>()?;
            sort_entries(&mut entries);
            Node::Map(entries)
        }
        Value::Obj(o) => match &**o {
            Obj::Time(..) | Obj::SemVer(_) => {
                let j = crate::json::marshal(v, false)?;
                Node::Str(j.trim_matches('"').to_string())
            }
            _ => {
                let j = crate::json::marshal(v, false)?;
                let parsed = crate::json::parse_any(&j)?;
                to_node(&parsed, pretty)?
            }
        },
    })
}

/// A string as go-yaml v2 reads it back from Go's JSON text. JSON escapes every line break but
/// U+0085, which go-yaml then folds like a line break in a double-quoted scalar: one break and
/// the spaces around it become a space, further breaks become line feeds.
fn read_json_string(s: &str) -> String {
    if !s.contains('\u{85}') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while chars.peek().is_some() {
        while let Some(c) = chars.next_if(|&c| c != ' ' && c != '\u{85}') {
            out.push(c);
        }
        // A run of spaces and breaks (`yaml_parser_scan_flow_scalar`).
        let (mut spaces, mut leading_break, mut trailing_breaks) = (0, false, 0);
        while let Some(c) = chars.next_if(|&c| c == ' ' || c == '\u{85}') {
            match (c, leading_break) {
                (' ', false) => spaces += 1,
                (' ', true) => {}
                (_, false) => leading_break = true,
                (_, true) => trailing_breaks += 1,
            }
        }
        if !leading_break {
            out.extend(std::iter::repeat_n(' ', spaces));
        } else if trailing_breaks == 0 {
            out.push(' ');
        } else {
            out.extend(std::iter::repeat_n('\n', trailing_breaks));
        }
    }
    out
}

/// A float64 as go-yaml prints it: `strconv.FormatFloat(f, 'g', -1, 64)`, with YAML's
/// spellings of infinities and NaN.
fn float_g(f: f64) -> String {
    let s = crate::gofmt::format_float(f, 'g', None);
    match s.as_str() {
        "+Inf" => ".inf".to_string(),
        "-Inf" => "-.inf".to_string(),
        "NaN" => ".nan".to_string(),
        _ => s,
    }
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
    let opts = Options {
        pretty,
        escape_line_separators: false,
    };
    Ok(emit(&to_node(v, pretty)?, opts))
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

    /// Checked against `helm template` 4.1.4: `toYaml` reads back Go's JSON, where a raw
    /// U+0085 folds like a line break; `toYamlPretty` escapes it. A leading line break keeps
    /// its empty line, a leading U+FEFF escapes the whole string, U+2028 stays raw.
    #[test]
    fn marshals_special_characters_like_helm() {
        let m = |s: &str| {
            let mut m = BTreeMap::new();
            m.insert("k".to_string(), Value::str(s));
            Value::new_map(m)
        };
        for (s, yaml, pretty) in [
            ("a\u{85}b", "k: a b\n", "k: \"a\\Nb\"\n"),
            (
                "a \u{85} \u{85}b \u{85}",
                "k: \"a\\nb \"\n",
                "k: \"a \\N \\Nb \\N\"\n",
            ),
            ("\nx", "k: |2-\n\n  x\n", "k: |2-\n\n  x\n"),
            (
                "\u{feff}ab",
                "k: \"\\uFEFF\\x61\\x62\"\n",
                "k: \"\\uFEFF\\x61\\x62\"\n",
            ),
            ("x\u{2028}y", "k: 'x\u{2028}  y'\n", "k: 'x\u{2028}  y'\n"),
            (
                "2001-12-14  21:59:43",
                "k: \"2001-12-14  21:59:43\"\n",
                "k: \"2001-12-14  21:59:43\"\n",
            ),
            ("1e400", "k: 1e400\n", "k: 1e400\n"),
        ] {
            assert_eq!(marshal(&m(s)).unwrap(), yaml, "{s:?}");
            assert_eq!(marshal_pretty(&m(s)).unwrap(), pretty, "{s:?}");
        }
    }
}
