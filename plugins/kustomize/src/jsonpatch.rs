//! RFC 6902 JSON patches, with the semantics of the library Kustomize uses (evanphx/json-patch):
//! `add` to an array index inserts (`-` appends), `replace`/`remove` of a missing path fail,
//! `test` compares values, `move`/`copy` take `from`.

use serde_json::Value;

/// One operation, as written in a patch.
#[derive(Debug, Clone)]
pub struct Op {
    pub op: String,
    pub path: String,
    pub from: Option<String>,
    pub value: Option<Value>,
}

/// Decodes a patch (a JSON array of operations).
pub fn decode(v: &Value) -> Result<Vec<Op>, String> {
    let Value::Array(items) = v else {
        return Err("json: cannot unmarshal object into Go value of type jsonpatch.Patch".into());
    };
    let mut ops = Vec::new();
    for item in items {
        let Value::Object(m) = item else {
            return Err("a JSON patch operation must be an object".into());
        };
        let s = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_string);
        let op = s("op").ok_or("JSON patch operation has no \"op\"")?;
        let path = s("path").unwrap_or_default();
        ops.push(Op {
            op,
            path,
            from: s("from"),
            value: m.get("value").cloned(),
        });
    }
    Ok(ops)
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn split(path: &str) -> Result<Vec<String>, String> {
    if path.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = path.strip_prefix('/') else {
        return Err(format!("invalid JSON pointer {path:?}"));
    };
    Ok(rest.split('/').map(unescape).collect())
}

fn parent_mut<'a>(
    doc: &'a mut Value,
    parts: &[String],
    path: &str,
) -> Result<&'a mut Value, String> {
    let mut cur = doc;
    for p in parts {
        cur = match cur {
            Value::Object(m) => m
                .get_mut(p)
                .ok_or_else(|| format!("doc is missing path: {path:?}"))?,
            Value::Array(a) => {
                let i: usize = p
                    .parse()
                    .map_err(|_| format!("invalid array index {p:?} in {path:?}"))?;
                a.get_mut(i)
                    .ok_or_else(|| format!("doc is missing path: {path:?}"))?
            }
            _ => return Err(format!("doc is missing path: {path:?}")),
        };
    }
    Ok(cur)
}

fn get<'a>(doc: &'a Value, path: &str) -> Result<&'a Value, String> {
    let mut cur = doc;
    for p in split(path)? {
        cur = match cur {
            Value::Object(m) => m
                .get(&p)
                .ok_or_else(|| format!("doc is missing path: {path:?}"))?,
            Value::Array(a) => {
                let i: usize = p
                    .parse()
                    .map_err(|_| format!("invalid array index {p:?}"))?;
                a.get(i)
                    .ok_or_else(|| format!("doc is missing path: {path:?}"))?
            }
            _ => return Err(format!("doc is missing path: {path:?}")),
        };
    }
    Ok(cur)
}

fn add(doc: &mut Value, path: &str, value: Value) -> Result<(), String> {
    let mut parts = split(path)?;
    let Some(last) = parts.pop() else {
        *doc = value;
        return Ok(());
    };
    match parent_mut(doc, &parts, path)? {
        Value::Object(m) => {
            m.insert(last, value);
            Ok(())
        }
        Value::Array(a) => {
            if last == "-" {
                a.push(value);
                return Ok(());
            }
            let i: usize = last
                .parse()
                .map_err(|_| format!("invalid array index {last:?}"))?;
            if i > a.len() {
                return Err(format!(
                    "add operation does not apply: index {i} out of bounds for {path:?}"
                ));
            }
            a.insert(i, value);
            Ok(())
        }
        _ => Err(format!(
            "add operation does not apply: doc is missing path: {path:?}"
        )),
    }
}

fn remove(doc: &mut Value, path: &str) -> Result<Value, String> {
    let mut parts = split(path)?;
    let Some(last) = parts.pop() else {
        return Err("cannot remove the whole document".into());
    };
    match parent_mut(doc, &parts, path)? {
        Value::Object(m) => m
            .remove(&last)
            .ok_or_else(|| format!("remove operation does not apply: doc is missing key: {path}")),
        Value::Array(a) => {
            let i: usize = last
                .parse()
                .map_err(|_| format!("invalid array index {last:?}"))?;
            if i >= a.len() {
                return Err(format!(
                    "remove operation does not apply: doc is missing key: {path}"
                ));
            }
            Ok(a.remove(i))
        }
        _ => Err(format!(
            "remove operation does not apply: doc is missing key: {path}"
        )),
    }
}

fn replace(doc: &mut Value, path: &str, value: Value) -> Result<(), String> {
    let parts = split(path)?;
    if parts.is_empty() {
        *doc = value;
        return Ok(());
    }
    let target = parent_mut(doc, &parts, path)
        .map_err(|_| format!("replace operation does not apply: doc is missing key: {path}"))?;
    *target = value;
    Ok(())
}

/// Applies `ops` to `doc` in order.
pub fn apply(doc: &mut Value, ops: &[Op]) -> Result<(), String> {
    for op in ops {
        let value = || {
            op.value
                .clone()
                .ok_or_else(|| format!("{} operation has no value", op.op))
        };
        match op.op.as_str() {
            "add" => add(doc, &op.path, value()?)?,
            "remove" => {
                remove(doc, &op.path)?;
            }
            "replace" => replace(doc, &op.path, value()?)?,
            "move" => {
                let from = op.from.as_deref().ok_or("move operation has no from")?;
                let v = remove(doc, from)?;
                add(doc, &op.path, v)?;
            }
            "copy" => {
                let from = op.from.as_deref().ok_or("copy operation has no from")?;
                let v = get(doc, from)?.clone();
                add(doc, &op.path, v)?;
            }
            "test" => {
                let want = value()?;
                let got = get(doc, &op.path)?;
                if *got != want {
                    return Err(format!("testing value {} failed: test failed", op.path));
                }
            }
            other => return Err(format!("unexpected kind of JSON patch operation {other:?}")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn applies_operations() {
        let mut doc = json!({"a": [1, 2], "b": {"c": 1}});
        let ops = decode(&json!([
            {"op": "add", "path": "/a/1", "value": 9},
            {"op": "add", "path": "/a/-", "value": 3},
            {"op": "replace", "path": "/b/c", "value": 2},
            {"op": "copy", "from": "/b", "path": "/d"},
            {"op": "remove", "path": "/b"},
            {"op": "test", "path": "/d/c", "value": 2}
        ]))
        .unwrap();
        apply(&mut doc, &ops).unwrap();
        assert_eq!(doc, json!({"a": [1, 9, 2, 3], "d": {"c": 2}}));
        let bad = decode(&json!([{"op": "replace", "path": "/x/y", "value": 1}])).unwrap();
        assert!(apply(&mut doc, &bad).is_err());
    }
}
