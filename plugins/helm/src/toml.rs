//! TOML for Helm's `toToml`/`fromToml`, in the style of BurntSushi/toml's encoder: plain keys
//! first, then `[tables]` indented two spaces per level, floats always with a decimal point.

use std::collections::BTreeMap;

use crate::value::Value;

fn quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\u{:04X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        quote(k)
    }
}

fn scalar(v: &Value) -> Result<String, String> {
    Ok(match v {
        Value::Bool(b) => b.to_string(),
        Value::Int(i, _) => i.to_string(),
        Value::Float(f) => {
            if f.is_nan() {
                "nan".into()
            } else if f.is_infinite() {
                if *f > 0.0 {
                    "inf".into()
                } else {
                    "-inf".into()
                }
            } else {
                let s = crate::gofmt::format_float(*f, 'f', None);
                if s.contains('.') { s } else { format!("{s}.0") }
            }
        }
        Value::Str(s) => quote(s),
        Value::List(items, _) => {
            let parts: Result<Vec<String>, String> =
                items.iter().filter(|x| !x.is_nil()).map(scalar).collect();
            format!("[{}]", parts?.join(", "))
        }
        Value::Map(m, _) => {
            let m = m.borrow();
            let parts: Result<Vec<String>, String> = m
                .iter()
                .filter(|(_, x)| !x.is_nil())
                .map(|(k, x)| Ok(format!("{} = {}", key(k), scalar(x)?)))
                .collect();
            format!("{{{}}}", parts?.join(", "))
        }
        other => quote(&super::funcs::strval(other)),
    })
}

fn is_table(v: &Value) -> bool {
    matches!(v, Value::Map(..))
}

fn is_table_array(v: &Value) -> bool {
    matches!(v, Value::List(items, _) if !items.is_empty() && items.iter().all(is_table))
}

fn encode_map(
    out: &mut String,
    m: &BTreeMap<String, Value>,
    path: &[String],
) -> Result<(), String> {
    let indent = "  ".repeat(path.len());
    for (k, v) in m {
        if v.is_nil() || is_table(v) || is_table_array(v) {
            continue;
        }
        out.push_str(&format!("{indent}{} = {}\n", key(k), scalar(v)?));
    }
    for (k, v) in m {
        let mut p = path.to_vec();
        p.push(k.clone());
        let name: Vec<String> = p.iter().map(|x| key(x)).collect();
        let hdr_indent = "  ".repeat(p.len() - 1);
        if let Value::Map(sub, _) = v {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&format!("{hdr_indent}[{}]\n", name.join(".")));
            encode_map(out, &sub.borrow(), &p)?;
        } else if is_table_array(v)
            && let Value::List(items, _) = v
        {
            for item in items.iter() {
                if let Value::Map(sub, _) = item {
                    if !out.is_empty() {
                        out.push('\n');
                    }
                    out.push_str(&format!("{hdr_indent}[[{}]]\n", name.join(".")));
                    encode_map(out, &sub.borrow(), &p)?;
                }
            }
        }
    }
    Ok(())
}

pub fn encode(v: &Value) -> Result<String, String> {
    match v {
        Value::Map(m, _) => {
            let mut out = String::new();
            encode_map(&mut out, &m.borrow(), &[])?;
            Ok(out)
        }
        _ => Err("toml: top-level values must be Go maps or structs".into()),
    }
}

/// A small TOML reader: `key = value` lines, `[table]` and `[[array]]` headers, strings,
/// numbers (read as int64 or float64), booleans and one-line arrays.
pub fn decode(text: &str) -> Result<Value, String> {
    let root = Value::empty_map();
    let mut current = root.clone();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let err = |m: &str| format!("toml: line {}: {m}", n + 1);
        if let Some(h) = line.strip_prefix("[[").and_then(|l| l.strip_suffix("]]")) {
            let (parent, last) = walk(&root, h)?;
            let item = Value::empty_map();
            let mut pm = parent.borrow_mut();
            let list = match pm.get(&last) {
                Some(Value::List(items, _)) => {
                    let mut v = items.to_vec();
                    v.push(item.clone());
                    v
                }
                _ => vec![item.clone()],
            };
            pm.insert(last, Value::list(list));
            current = item;
        } else if let Some(h) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let (parent, last) = walk(&root, h)?;
            let t = parent
                .borrow_mut()
                .entry(last)
                .or_insert_with(Value::empty_map)
                .clone();
            current = t;
        } else {
            let (k, v) = line
                .split_once('=')
                .ok_or_else(|| err("expected key = value"))?;
            let value = parse_value(v.trim()).ok_or_else(|| err("invalid value"))?;
            if let Some(m) = current.as_map() {
                m.borrow_mut()
                    .insert(k.trim().trim_matches('"').to_string(), value);
            }
        }
    }
    Ok(root)
}

fn walk(root: &Value, path: &str) -> Result<(crate::value::MapRef, String), String> {
    let parts: Vec<String> = path
        .split('.')
        .map(|p| p.trim().trim_matches('"').to_string())
        .collect();
    let mut cur = root.as_map().cloned().ok_or("toml: internal error")?;
    for p in &parts[..parts.len() - 1] {
        let next = {
            let mut b = cur.borrow_mut();
            let e = b.entry(p.clone()).or_insert_with(Value::empty_map);
            match e {
                Value::Map(m, _) => m.clone(),
                Value::List(items, _) => items
                    .last()
                    .and_then(|x| x.as_map().cloned())
                    .ok_or("toml: not a table")?,
                _ => return Err(format!("toml: key {p} is not a table")),
            }
        };
        cur = next;
    }
    Ok((cur, parts[parts.len() - 1].clone()))
}

fn parse_value(v: &str) -> Option<Value> {
    if let Some(s) = v.strip_prefix('"').and_then(|x| x.strip_suffix('"')) {
        return Some(Value::str(
            s.replace("\\\"", "\"")
                .replace("\\\\", "\\")
                .replace("\\n", "\n"),
        ));
    }
    if let Some(s) = v.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')) {
        return Some(Value::str(s));
    }
    match v {
        "true" => return Some(Value::Bool(true)),
        "false" => return Some(Value::Bool(false)),
        _ => {}
    }
    if let Some(inner) = v.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
        let items: Option<Vec<Value>> = inner
            .split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(parse_value)
            .collect();
        return items.map(Value::list);
    }
    let clean = v.replace('_', "");
    if let Ok(i) = clean.parse::<i64>() {
        return Some(Value::int64(i));
    }
    clean.parse::<f64>().ok().map(Value::Float)
}
