//! JSON as Go's `encoding/json` writes and reads it (Helm's `toJson`/`fromJson`, and the JSON
//! round trip inside `toYaml`): keys sorted, `<`, `>`, `&` escaped as `\u003c`…, floats in
//! ES6 style (`1e+21`, `0.000001`), every number read back as float64.

use std::collections::BTreeMap;

use crate::value::{IntType, Obj, Value};

/// Go's float encoding: `'f'` format unless the magnitude is below 1e-6 or at least 1e21.
pub fn float_text(f: f64) -> Result<String, String> {
    if !f.is_finite() {
        return Err(format!(
            "json: unsupported value: {}",
            crate::gofmt::float_v(f)
        ));
    }
    let abs = f.abs();
    let mut s = if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        crate::gofmt::format_float(f, 'e', None)
    } else {
        crate::gofmt::format_float(f, 'f', None)
    };
    // e-07 → e-7
    let n = s.len();
    if n >= 4 && &s[n - 4..n - 2] == "e-" && s.as_bytes()[n - 2] == b'0' {
        s.remove(n - 2);
    }
    Ok(s)
}

fn string(out: &mut String, s: &str, escape_html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' if escape_html => out.push_str(&format!("\\u00{:02x}", c as u32)),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u00{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// A JSON-shaped view of objects Go would marshal as structs.
fn object_json(o: &Obj) -> Value {
    let mut m = BTreeMap::new();
    match o {
        Obj::Caps(c) => {
            m.insert("KubeVersion".into(), Value::Obj(c.kube_version.clone()));
            m.insert(
                "APIVersions".into(),
                Value::List(c.api_versions.clone(), crate::value::ListType::Str),
            );
            m.insert(
                "HelmVersion".into(),
                Value::Obj(std::rc::Rc::new(Obj::HelmVersion)),
            );
        }
        Obj::KubeVersion(k) => {
            m.insert("Version".into(), Value::str(k.version.as_str()));
            m.insert("Major".into(), Value::str(k.major.as_str()));
            m.insert("Minor".into(), Value::str(k.minor.as_str()));
        }
        Obj::HelmVersion => {
            m.insert("version".into(), Value::str(crate::value::HELM_VERSION));
            m.insert(
                "git_commit".into(),
                Value::str(crate::value::HELM_GIT_COMMIT),
            );
            m.insert("git_tree_state".into(), Value::str("clean"));
            m.insert(
                "go_version".into(),
                Value::str(crate::value::HELM_GO_VERSION),
            );
            m.insert(
                "kube_client_version".into(),
                Value::str(crate::value::HELM_KUBE_CLIENT_VERSION),
            );
        }
        Obj::Files(f) => {
            for (k, d) in f.entries() {
                m.insert(k.clone(), Value::Bytes(d.clone()));
            }
        }
        Obj::SemVer(v) => return Value::str(v.to_string()),
        Obj::Time(s, n) => {
            return Value::str(crate::gotime::format(
                "2006-01-02T15:04:05.999999999Z07:00",
                *s,
                *n,
            ));
        }
    }
    Value::new_map(m)
}

fn write(
    out: &mut String,
    v: &Value,
    escape_html: bool,
    indent: Option<&str>,
    depth: usize,
) -> Result<(), String> {
    let newline = |out: &mut String, d: usize| {
        if let Some(ind) = indent {
            out.push('\n');
            for _ in 0..d {
                out.push_str(ind);
            }
        }
    };
    match v {
        Value::Invalid | Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i, IntType::Uint64) => out.push_str(&(*i as u64).to_string()),
        Value::Int(i, _) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&float_text(*f)?),
        Value::Str(s) => string(out, s, escape_html),
        Value::Bytes(b) => {
            use base64::Engine as _;
            string(
                out,
                &base64::engine::general_purpose::STANDARD.encode(b),
                escape_html,
            )
        }
        Value::List(items, _) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                write(out, x, escape_html, indent, depth + 1)?;
            }
            if !items.is_empty() {
                newline(out, depth);
            }
            out.push(']');
        }
        Value::Map(m, _) => {
            let m = m.borrow();
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                string(out, k, escape_html);
                out.push(':');
                if indent.is_some() {
                    out.push(' ');
                }
                write(out, x, escape_html, indent, depth + 1)?;
            }
            if !m.is_empty() {
                newline(out, depth);
            }
            out.push('}');
        }
        Value::Obj(o) => write(out, &object_json(o), escape_html, indent, depth)?,
    }
    Ok(())
}

/// `json.Marshal(v)` (with `escape_html`), or with `SetEscapeHTML(false)`.
pub fn marshal(v: &Value, raw: bool) -> Result<String, String> {
    let mut out = String::new();
    write(&mut out, v, !raw, None, 0)?;
    Ok(out)
}

/// `json.MarshalIndent(v, "", "  ")`.
pub fn marshal_indent(v: &Value) -> Result<String, String> {
    let mut out = String::new();
    write(&mut out, v, true, Some("  "), 0)?;
    Ok(out)
}

fn from_serde(v: serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(b),
        serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
        serde_json::Value::String(s) => Value::str(s),
        serde_json::Value::Array(a) => Value::list(a.into_iter().map(from_serde).collect()),
        serde_json::Value::Object(o) => {
            Value::new_map(o.into_iter().map(|(k, v)| (k, from_serde(v))).collect())
        }
    }
}

/// `json.Unmarshal(text, &interface{})`.
pub fn parse_any(text: &str) -> Result<Value, String> {
    serde_json::from_str::<serde_json::Value>(text)
        .map(from_serde)
        .map_err(|e| go_json_error(&e))
}

fn go_json_error(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Eof => "unexpected end of JSON input".into(),
        _ => format!(
            "invalid character in JSON at line {} column {}",
            e.line(),
            e.column()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marshals_like_go() {
        let v = parse_any(r#"{"b":1,"a":"<x&y>","c":[1.5,1e21,0.0000001]}"#).unwrap();
        assert_eq!(
            marshal(&v, false).unwrap(),
            r#"{"a":"\u003cx\u0026y\u003e","b":1,"c":[1.5,1e+21,1e-7]}"#
        );
        assert_eq!(marshal_indent(&v).unwrap().lines().count(), 9);
        assert_eq!(float_text(10485760.0).unwrap(), "10485760");
    }
}
