//! configMapGenerator / secretGenerator and the content hash Kustomize appends to generated
//! names (`api/hasher`: sha256 over a Go-`json.Marshal`ed summary, first 10 hex digits with
//! some letters swapped so the suffix never looks like a number).

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::kustomization::{GeneratorArgs, GeneratorOptions};

/// A key/value source could not be read (the caller names the file).
pub trait KvLoader {
    fn load(&self, path: &str) -> Result<Vec<u8>, crate::Error>;
}

/// Local options win over `generatorOptions`; labels and annotations are merged.
pub fn merge_options(
    local: Option<&GeneratorOptions>,
    global: Option<&GeneratorOptions>,
) -> GeneratorOptions {
    let mut out = local.cloned().unwrap_or_default();
    if let Some(g) = global {
        for (k, v) in &g.labels {
            out.labels.entry(k.clone()).or_insert_with(|| v.clone());
        }
        for (k, v) in &g.annotations {
            out.annotations
                .entry(k.clone())
                .or_insert_with(|| v.clone());
        }
        out.disable_name_suffix_hash |= g.disable_name_suffix_hash;
        out.immutable |= g.immutable;
    }
    out
}

fn remove_quotes(s: &str) -> &str {
    let b = s.as_bytes();
    if b.len() < 2 || b[0] != b[b.len() - 1] {
        return s;
    }
    if b[0] == b'"' || b[0] == b'\'' {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

fn is_valid_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 253
        && k != "."
        && k != ".."
        && !k.starts_with("..")
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

fn is_env_var_name(k: &str) -> bool {
    let mut chars = k.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == '-' || c == '.')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

/// The key/value pairs of a generator: env files, then literals, then files.
fn pairs(args: &GeneratorArgs, ldr: &dyn KvLoader) -> Result<Vec<(String, Vec<u8>)>, crate::Error> {
    let mut out = Vec::new();
    let mut envs = args.envs.clone();
    if !args.env.is_empty() {
        envs.push(args.env.clone());
    }
    for path in &envs {
        let content = ldr.load(path)?;
        let text = String::from_utf8_lossy(&content).into_owned();
        for (n, raw) in text.split('\n').enumerate() {
            let mut line = raw.strip_suffix('\r').unwrap_or(raw);
            if n == 0 {
                line = line.strip_prefix('\u{feff}').unwrap_or(line);
            }
            let line = line.trim_start();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = match line.split_once('=') {
                Some((k, v)) => (k, v),
                None => (line, ""),
            };
            if !is_env_var_name(key) {
                return Err(crate::Error::msg(format!(
                    "{path}: invalid key {key:?} on line {}: a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit",
                    n + 1
                )));
            }
            out.push((key.to_string(), value.as_bytes().to_vec()));
        }
    }
    for lit in &args.literals {
        if lit.starts_with('=') {
            return Err(crate::Error::msg(format!(
                "invalid literal source {lit}, expected key=value"
            )));
        }
        let Some((k, v)) = lit.split_once('=') else {
            return Err(crate::Error::msg(format!(
                "invalid literal source {lit}, expected key=value"
            )));
        };
        out.push((k.to_string(), remove_quotes(v).as_bytes().to_vec()));
    }
    for src in &args.files {
        let (key, path) = match src.matches('=').count() {
            0 => (
                src.rsplit('/').next().unwrap_or(src).to_string(),
                src.as_str(),
            ),
            1 if src.starts_with('=') => {
                return Err(crate::Error::msg(format!(
                    "key name for file path {} missing",
                    &src[1..]
                )));
            }
            1 if src.ends_with('=') => {
                return Err(crate::Error::msg(format!(
                    "file path for key name {} missing",
                    &src[..src.len() - 1]
                )));
            }
            1 => match src.split_once('=') {
                Some((k, p)) => (k.to_string(), p),
                None => (src.clone(), src.as_str()),
            },
            _ => {
                return Err(crate::Error::msg(
                    "key names or file paths cannot contain '='",
                ));
            }
        };
        out.push((key, ldr.load(path)?));
    }
    Ok(out)
}

/// Base64 broken into 70-character lines (with a final newline) once longer than a line, as
/// Kustomize writes Secret data and ConfigMap binaryData.
pub fn encode_base64(data: &[u8]) -> String {
    const LINE: usize = 70;
    let enc = base64::engine::general_purpose::STANDARD.encode(data);
    let lines = enc.len() / LINE + 1;
    if lines <= 1 {
        return enc;
    }
    let mut out = String::with_capacity(enc.len() + lines);
    for chunk in enc.as_bytes().chunks(LINE) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out
}

/// Builds the ConfigMap or Secret of one generator entry.
pub fn generate(
    kind: &str,
    args: &GeneratorArgs,
    options: &GeneratorOptions,
    ldr: &dyn KvLoader,
) -> Result<Map<String, Value>, crate::Error> {
    let mut known: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for (k, v) in pairs(args, ldr)? {
        if !is_valid_key(&k) {
            return Err(crate::Error::msg(format!(
                "{k:?} is not a valid key name for a {kind}: a valid config key must consist of alphanumeric characters, '-', '_' or '.'"
            )));
        }
        if known.contains_key(&k) {
            return Err(crate::Error::msg(format!(
                "{} {} illegally repeats the key `{k}`",
                kind.to_lowercase(),
                args.name
            )));
        }
        known.insert(k, v);
    }
    let mut meta = Map::new();
    meta.insert("name".into(), Value::String(args.name.clone()));
    if !args.namespace.is_empty() {
        meta.insert("namespace".into(), Value::String(args.namespace.clone()));
    }
    if !options.labels.is_empty() {
        meta.insert("labels".into(), string_map(&options.labels));
    }
    if !options.annotations.is_empty() {
        meta.insert("annotations".into(), string_map(&options.annotations));
    }
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), Value::String("v1".into()));
    obj.insert("kind".into(), Value::String(kind.into()));
    obj.insert("metadata".into(), Value::Object(meta));
    let mut data = Map::new();
    let mut binary = Map::new();
    for (k, v) in known {
        if kind == "Secret" {
            data.insert(k, Value::String(encode_base64(&v)));
        } else {
            match String::from_utf8(v) {
                Ok(s) => {
                    data.insert(k, Value::String(s));
                }
                Err(e) => {
                    binary.insert(k, Value::String(encode_base64(e.as_bytes())));
                }
            }
        }
    }
    if !data.is_empty() {
        obj.insert("data".into(), Value::Object(data));
    }
    if !binary.is_empty() {
        obj.insert("binaryData".into(), Value::Object(binary));
    }
    if kind == "Secret" {
        let t = if args.kind.is_empty() {
            "Opaque"
        } else {
            &args.kind
        };
        obj.insert("type".into(), Value::String(t.into()));
    }
    if options.immutable {
        obj.insert("immutable".into(), Value::Bool(true));
    }
    Ok(obj)
}

fn string_map(m: &BTreeMap<String, String>) -> Value {
    Value::Object(
        m.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// The name suffix Kustomize computes for a ConfigMap or Secret (or any object).
pub fn hash(obj: &Map<String, Value>) -> String {
    // Kustomize looks the name up with `yaml.Lookup("metadata/name")`, a single field literally
    // named `metadata/name`, which never exists: the name in the hash input is always "".
    let name = Value::String(String::new());
    let field = |k: &str| match obj.get(k) {
        None => Value::String(String::new()),
        Some(v @ Value::Object(_)) => v.clone(),
        Some(v) => Value::String(crate::model::scalar_text(v)),
    };
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let encoded = match kind {
        "ConfigMap" => {
            let mut m = Map::new();
            m.insert("kind".into(), Value::String("ConfigMap".into()));
            m.insert("name".into(), name);
            m.insert("data".into(), field("data"));
            if let Some(b @ Value::Object(_)) = obj.get("binaryData") {
                m.insert("binaryData".into(), b.clone());
            }
            go_json(&Value::Object(m))
        }
        "Secret" => {
            let mut m = Map::new();
            m.insert("kind".into(), Value::String("Secret".into()));
            m.insert("type".into(), field("type"));
            m.insert("name".into(), name);
            m.insert("data".into(), field("data"));
            if let Some(s @ Value::Object(_)) = obj.get("stringData") {
                m.insert("stringData".into(), s.clone());
            }
            go_json(&Value::Object(m))
        }
        _ => go_json(&Value::Object(obj.clone())),
    };
    let digest = Sha256::digest(encoded.as_bytes());
    let hex: String = digest.iter().take(5).map(|b| format!("{b:02x}")).collect();
    hex.chars()
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            c => c,
        })
        .collect()
}

/// Go's `json.Marshal`: keys sorted, HTML-safe escaping, no spaces.
pub fn go_json(v: &Value) -> String {
    let mut out = String::new();
    write_go_json(v, &mut out);
    out
}

fn write_go_json(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_string(k, out);
                out.push(':');
                write_go_json(&m[k], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_go_json(x, out);
            }
            out.push(']');
        }
        Value::String(s) => write_go_string(s, out),
        other => out.push_str(&other.to_string()),
    }
}

fn write_go_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
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
    fn splits_long_base64() {
        assert_eq!(encode_base64(b"admin"), "YWRtaW4=");
        let long = encode_base64(&[b'x'; 60]);
        assert_eq!(long.lines().next().unwrap().len(), 70);
        assert!(long.ends_with('\n'));
    }

    #[test]
    fn go_json_escapes_like_go() {
        assert_eq!(
            go_json(&json!({"b": "<&>", "a": 1})),
            r#"{"a":1,"b":"\u003c\u0026\u003e"}"#
        );
    }
}
