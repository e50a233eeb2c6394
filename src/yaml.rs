//! YAML output in the style of `kubectl` and Kustomize (go-yaml v3): keys sorted, two-space
//! indent, sequences not indented under their key, strings quoted only when they would
//! otherwise read as something else, multi-line strings as literal blocks.

use serde_json::Value;

/// One object as a YAML document (without a `---` line).
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(m) if !m.is_empty() => write_map(&mut out, m, 0),
        Value::Array(a) if !a.is_empty() => write_seq(&mut out, a, 0),
        scalar => {
            write_scalar(&mut out, scalar, 0);
            out.push('\n');
        }
    }
    out
}

/// Objects as a multi-document stream: documents separated by `---` lines.
pub fn to_yaml_stream<'a>(values: impl IntoIterator<Item = &'a Value>) -> String {
    let mut out = String::new();
    for (i, v) in values.into_iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&to_yaml(v));
    }
    out
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

fn write_map(out: &mut String, m: &serde_json::Map<String, Value>, ind: usize) {
    let mut keys: Vec<&String> = m.keys().collect();
    keys.sort();
    for (i, k) in keys.into_iter().enumerate() {
        // The first key of a map that is a sequence item shares the "- " line.
        if i > 0 || !out.ends_with("- ") {
            indent(out, ind);
        }
        write_string(out, k, ind, true);
        out.push(':');
        write_value_after_key(out, &m[k], ind);
    }
}

fn write_value_after_key(out: &mut String, v: &Value, ind: usize) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            write_map(out, m, ind + 2);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            write_seq(out, a, ind);
        }
        scalar => {
            out.push(' ');
            write_scalar(out, scalar, ind);
            out.push('\n');
        }
    }
}

fn write_seq(out: &mut String, a: &[Value], ind: usize) {
    for v in a {
        if !out.ends_with("- ") {
            indent(out, ind);
        }
        out.push_str("- ");
        match v {
            Value::Object(m) if !m.is_empty() => write_map(out, m, ind + 2),
            Value::Array(inner) if !inner.is_empty() => write_seq(out, inner, ind + 2),
            scalar => {
                write_scalar(out, scalar, ind + 2);
                out.push('\n');
            }
        }
    }
}

fn write_scalar(out: &mut String, v: &Value, ind: usize) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_string(out, s, ind, false),
        Value::Object(_) => out.push_str("{}"),
        Value::Array(_) => out.push_str("[]"),
    }
}

fn write_string(out: &mut String, s: &str, ind: usize, is_key: bool) {
    if !is_key && s.contains('\n') && block_ok(s) {
        write_literal(out, s, ind);
    } else if plain_ok(s) {
        out.push_str(s);
    } else {
        write_double_quoted(out, s);
    }
}

/// A `|` block: content lines indented two more than the key.
fn write_literal(out: &mut String, s: &str, ind: usize) {
    let trailing = s.len() - s.trim_end_matches('\n').len();
    out.push('|');
    match trailing {
        0 => out.push('-'),
        1 => {}
        _ => out.push('+'),
    }
    out.push('\n');
    let body = if trailing == 1 {
        &s[..s.len() - 1]
    } else {
        s.trim_end_matches('\n')
    };
    for line in body.split('\n') {
        if !line.is_empty() {
            indent(out, ind + 2);
            out.push_str(line);
        }
        out.push('\n');
    }
    if trailing > 1 {
        for _ in 1..trailing {
            out.push('\n');
        }
    }
    // The caller appends the newline that ends the value; a block already ended with one.
    out.pop();
}

/// Whether a multi-line string can be a literal block without changing its value.
fn block_ok(s: &str) -> bool {
    let first = s.chars().next();
    !matches!(first, Some(' ') | Some('\t') | Some('\n'))
        && !s.split('\n').any(|l| l.ends_with(' ') || l.ends_with('\t'))
        && s.chars().all(|c| c == '\n' || c == '\t' || !c.is_control())
        && !s.contains('\r')
}

/// Whether `s` can be written unquoted and still read back as this same string.
fn plain_ok(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if s.starts_with(' ')
        || s.ends_with(' ')
        || s.contains('\n')
        || s.chars().any(|c| c.is_control() || c == '\u{feff}')
    {
        return false;
    }
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
        // "-x" and ":x" are plain, but "- x", "-", ":" are not; keep it simple and safe.
        let rest_ok = matches!(first, '-' | '?' | ':') && s.len() > 1 && !s[1..].starts_with(' ');
        if !rest_ok || s == "---" || s.starts_with("---") {
            return false;
        }
    }
    if s.contains(": ") || s.contains(" #") || s.ends_with(':') || s.contains('\t') {
        return false;
    }
    !resolves_to_non_string(s)
}

/// Strings that YAML 1.1 or 1.2 would read as null, bool, number or timestamp.
fn resolves_to_non_string(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    if matches!(
        lower.as_str(),
        "~" | "null"
            | "true"
            | "false"
            | "yes"
            | "no"
            | "on"
            | "off"
            | "y"
            | "n"
            | ".inf"
            | "-.inf"
            | "+.inf"
            | ".nan"
            | "<<"
            | "="
    ) {
        return true;
    }
    let t = s.strip_prefix(['-', '+']).unwrap_or(s);
    if t.is_empty() {
        return false;
    }
    let digits_us = |x: &str| !x.is_empty() && x.chars().all(|c| c.is_ascii_digit() || c == '_');
    // integers: decimal, 0x, 0o, 0b, legacy octal, 1.1 sexagesimal (1:30)
    if digits_us(t) {
        return true;
    }
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X"))
        && !h.is_empty()
        && h.chars().all(|c| c.is_ascii_hexdigit() || c == '_')
    {
        return true;
    }
    if let Some(o) = t.strip_prefix("0o").or_else(|| t.strip_prefix("0b"))
        && digits_us(o)
    {
        return true;
    }
    if t.contains(':') && t.split(':').all(digits_us) {
        return true;
    }
    // floats: 1.5, .5, 1., 1e3, 1.5e-3
    let (mantissa, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let mantissa_ok = {
        let mut parts = mantissa.splitn(2, '.');
        let int = parts.next().unwrap_or("");
        match parts.next() {
            Some(frac) => {
                (int.is_empty() || digits_us(int))
                    && (frac.is_empty() || digits_us(frac))
                    && !(int.is_empty() && frac.is_empty())
            }
            None => digits_us(int),
        }
    };
    let exp_ok = exp.is_none_or(|e| digits_us(e.strip_prefix(['-', '+']).unwrap_or(e)));
    if mantissa_ok && exp_ok {
        return true;
    }
    // timestamps: 2001-12-14, 2001-12-14t21:59:43.10-05:00 …
    let b = s.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5].is_ascii_digit()
        && (b[6] == b'-' || (b[6].is_ascii_digit() && b[7] == b'-'))
}

fn write_double_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || c == '\u{feff}' => {
                let n = c as u32;
                if n <= 0xff {
                    out.push_str(&format!("\\x{n:02X}"));
                } else {
                    out.push_str(&format!("\\u{n:04X}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_kubectl_style() {
        let v = json!({
            "kind": "Deployment", "apiVersion": "apps/v1",
            "metadata": {"name": "web", "labels": {"app": "web"}, "annotations": {}},
            "spec": {"replicas": 2, "template": {"spec": {"containers": [
                {"name": "c", "image": "nginx:1.27", "ports": [{"containerPort": 80}], "args": ["a", "b"]}
            ]}}}
        });
        assert_eq!(
            to_yaml(&v),
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  annotations: {}\n  labels:\n    app: web\n  name: web\nspec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n      - args:\n        - a\n        - b\n        image: nginx:1.27\n        name: c\n        ports:\n        - containerPort: 80\n"
        );
    }

    #[test]
    fn quotes_strings_that_would_change_type() {
        for s in [
            "true",
            "yes",
            "on",
            "null",
            "~",
            "1",
            "0123",
            "1.10",
            "1e3",
            "0x1F",
            ".inf",
            "2001-12-14",
            "",
            " x",
            "a: b",
            "- x",
            "#c",
            "*a",
            "1:30",
        ] {
            let out = to_yaml(&json!({"k": s}));
            let back: serde_json::Value = serde_saphyr::from_str(&out).unwrap();
            assert_eq!(back["k"], json!(s), "{s:?} round-trips through {out:?}");
            assert!(out.contains('"'), "{s:?} must be quoted: {out}");
        }
        for s in [
            "nginx:1.27",
            "hello world",
            "a-b",
            "-x",
            "x.y.z",
            "1.2.3",
            "v1",
        ] {
            assert_eq!(to_yaml(&json!({"k": s})), format!("k: {s}\n"));
        }
    }

    #[test]
    fn multi_line_strings_are_literal_blocks() {
        let v = json!({"a": "x\ny\n", "b": "x\ny", "c": "x\n\n", "d": "  lead\nx"});
        let out = to_yaml(&v);
        assert_eq!(
            out,
            "a: |\n  x\n  y\nb: |-\n  x\n  y\nc: |+\n  x\n\nd: \"  lead\\nx\"\n"
        );
        let back: serde_json::Value = serde_saphyr::from_str(&out).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn nested_sequences_and_empty_values_round_trip() {
        let v = json!({"a": [[1, 2], [], {}], "b": [{"x": [{"y": null}]}], "c": "ünïcode ✓"});
        let out = to_yaml(&v);
        let back: serde_json::Value = serde_saphyr::from_str(&out).unwrap();
        assert_eq!(back, v, "{out}");
    }
}
