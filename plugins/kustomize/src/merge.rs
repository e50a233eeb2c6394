//! Strategic merge patches as Kustomize applies them (kyaml `merge2` walking `[dest, patch]`
//! with list-prepend): maps merge field by field; `null` deletes; `$patch: delete|replace|merge`
//! directives; a list is merged element by element only when the OpenAPI schema gives it a merge
//! strategy (by its merge key, or by value for lists of scalars such as `finalizers`), and then
//! the patch's elements come first, followed by the original elements the patch did not name;
//! every other list (including every list of a custom resource, which has no schema) is
//! replaced by the patch's.

use serde_json::{Map, Value};

use crate::model::{FieldSchema, scalar_text, schema};

/// Merges `patch` into the resource `target` (both whole objects). `None` means the patch
/// deleted the resource (`$patch: delete`).
pub fn merge_resource(target: &Value, patch: &Value) -> Result<Option<Value>, String> {
    let api_version = target
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let kind = target.get("kind").and_then(Value::as_str).unwrap_or("");
    let def = schema().for_type(api_version, kind);
    let root = FieldSchema {
        r: def.map(str::to_string),
        ..FieldSchema::default()
    };
    merge(Some(target), Some(patch), Some(&root), &[])
}

fn is_missing_or_null(v: Option<&Value>) -> bool {
    v.is_none_or(Value::is_null)
}

fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Object(_) => "MappingNode",
        Value::Array(_) => "SequenceNode",
        _ => "ScalarNode",
    }
}

fn merge(
    dest: Option<&Value>,
    patch: Option<&Value>,
    field: Option<&FieldSchema>,
    path: &[&str],
) -> Result<Option<Value>, String> {
    // The node kind comes from the first source that is not empty (null counts as empty).
    let lead = [dest, patch].into_iter().flatten().find(|v| !v.is_null());
    match lead {
        None => {
            // Both missing or null: a null in the patch clears, a null in the target stays.
            if patch.is_some() {
                Ok(None)
            } else {
                Ok(dest.cloned())
            }
        }
        Some(Value::Object(_)) => {
            check_kinds(dest, patch, "MappingNode", path)?;
            merge_map(dest, patch, field.and_then(|f| f.r.as_deref()), path)
        }
        Some(Value::Array(_)) => {
            check_kinds(dest, patch, "SequenceNode", path)?;
            merge_list(dest, patch, field, path)
        }
        Some(_) => {
            check_kinds(dest, patch, "ScalarNode", path)?;
            match patch {
                Some(Value::Null) => Ok(None),
                Some(p) => Ok(Some(p.clone())),
                None => Ok(dest.cloned()),
            }
        }
    }
}

fn check_kinds(
    dest: Option<&Value>,
    patch: Option<&Value>,
    want: &str,
    path: &[&str],
) -> Result<(), String> {
    for v in [dest, patch].into_iter().flatten() {
        if !v.is_null() && kind_name(v) != want {
            return Err(format!(
                "wrong node kind: expected {want} but got {}: node contents:\n{} (at {})",
                kind_name(v),
                v,
                path.join(".")
            ));
        }
    }
    Ok(())
}

enum Directive {
    None,
    Delete,
    Replace,
}

fn map_directive(patch: &Map<String, Value>) -> Result<Directive, String> {
    match patch.get("$patch") {
        None => Ok(Directive::None),
        Some(Value::String(s)) if s == "delete" => Ok(Directive::Delete),
        Some(Value::String(s)) if s == "replace" => Ok(Directive::Replace),
        Some(Value::String(s)) if s == "merge" => Ok(Directive::None),
        Some(other) => Err(format!("unknown patch strategy {}", scalar_text(other))),
    }
}

fn merge_map(
    dest: Option<&Value>,
    patch: Option<&Value>,
    def: Option<&str>,
    path: &[&str],
) -> Result<Option<Value>, String> {
    let patch_map = patch.and_then(Value::as_object);
    if is_missing_or_null(dest) {
        // Adding a map that the target does not have: directives still apply, and the map is
        // walked against itself so that nested directives are honoured.
        let Some(p) = patch_map else {
            return Ok(dest.cloned());
        };
        if let Directive::Delete = map_directive(p)? {
            return Ok(None);
        }
        let copy = Value::Object(p.clone());
        return merge_map(Some(&copy), Some(&copy), def, path);
    }
    if matches!(patch, Some(Value::Null)) {
        return Ok(None);
    }
    let Some(Value::Object(d)) = dest else {
        return Ok(dest.cloned());
    };
    let mut p = patch_map.cloned().unwrap_or_default();
    match map_directive(&p)? {
        Directive::Delete => return Ok(None),
        Directive::Replace => {
            p.remove("$patch");
            return Ok(Some(Value::Object(p)));
        }
        Directive::None => {
            p.remove("$patch");
        }
    }
    let mut names: Vec<&String> = d.keys().chain(p.keys()).collect();
    names.sort();
    names.dedup();
    let mut out = Map::new();
    for name in names {
        let child = def.and_then(|def| schema().field(def, name));
        let mut sub: Vec<&str> = path.to_vec();
        sub.push(name);
        let patch_value = if patch.is_some() {
            p.get(name.as_str())
        } else {
            None
        };
        if let Some(v) = merge(d.get(name.as_str()), patch_value, child, &sub)? {
            out.insert(name.clone(), v);
        }
    }
    Ok(Some(Value::Object(out)))
}

/// The merge keys of an associative list (`x-kubernetes-list-map-keys`, else the patch merge
/// key; none for a list of scalars), or `None` when the list is replaced as a whole.
fn associative_keys(field: Option<&FieldSchema>) -> Option<Vec<String>> {
    let f = field?;
    let s = f.s.as_deref()?;
    if !s.split(',').any(|p| p == "merge") {
        return None;
    }
    if let Some(l) = f.l.as_ref().filter(|l| !l.is_empty()) {
        return Some(l.clone());
    }
    Some(f.k.iter().cloned().collect())
}

/// A YAML node's `Value`: the text of a scalar, empty for collections.
fn node_text(v: &Value) -> String {
    match v {
        Value::Object(_) | Value::Array(_) => String::new(),
        Value::Null => "null".into(),
        other => scalar_text(other),
    }
}

fn is_empty_map(v: &Value) -> bool {
    matches!(v, Value::Object(m) if m.is_empty())
}

/// kyaml `FieldMatcher{Name, StringValue}`: an empty value only asks for the field to exist.
fn field_matches(elem: &Value, name: &str, value: &str) -> bool {
    if elem.is_null() {
        return false;
    }
    if name.is_empty() {
        return !elem.is_object() && !elem.is_array() && node_text(elem) == value;
    }
    match elem.get(name) {
        Some(v) => value.is_empty() || node_text(v) == value,
        None => false,
    }
}

/// kyaml `ElementSetter`: replaces (in place) every element matching all `keys`/`values` with
/// `element`, deletes them when `element` is `None`, appends `element` when nothing matched.
/// Elements that are null or empty maps are dropped on the way, and with no values at all every
/// non-matching element is dropped too (both as kyaml does).
fn element_setter(
    list: &mut Vec<Value>,
    element: Option<&Value>,
    keys: &[String],
    values: &[String],
) {
    let keys: Vec<String> = if keys.is_empty() {
        vec![String::new()]
    } else {
        keys.to_vec()
    };
    let mapping_setter = !keys[0].is_empty() && values.first().is_some_and(|v| !v.is_empty());
    let mut out = Vec::with_capacity(list.len() + 1);
    let mut matched = false;
    for elem in list.drain(..) {
        if elem.is_null() || is_empty_map(&elem) {
            continue;
        }
        if !elem.is_object() && mapping_setter {
            out.push(elem);
            continue;
        }
        let mut found = true;
        let mut last = false;
        for (j, key) in keys.iter().enumerate() {
            if let Some(v) = values.get(j) {
                last = if key.is_empty() && elem.is_object() {
                    false
                } else {
                    field_matches(&elem, key, v)
                };
            }
            if !last {
                found = false;
                break;
            }
        }
        if !found {
            if !values.is_empty() {
                out.push(elem);
            }
            continue;
        }
        matched = true;
        if let Some(e) = element {
            out.push(e.clone());
        }
    }
    *list = out;
    if let Some(e) = element
        && !matched
        && !e.is_null()
    {
        list.push(e.clone());
    }
}

/// kyaml `MatchElementList`: the first element whose fields equal all `values`.
fn find_element(list: &[Value], keys: &[String], values: &[String]) -> Option<usize> {
    if keys.is_empty() || keys[0].is_empty() {
        let want = values.first().map(String::as_str).unwrap_or("");
        return list.iter().position(|e| node_text(e) == want);
    }
    list.iter().position(|e| {
        e.is_object()
            && keys
                .iter()
                .zip(values)
                .all(|(k, v)| e.get(k.as_str()).is_some_and(|x| node_text(x) == *v))
    })
}

/// kyaml `validateKeys`: only the keys some element has a value for.
fn validate_keys(
    all: &[Vec<String>],
    values: &[String],
    keys: &[String],
) -> (Vec<String>, Vec<String>) {
    let used: Vec<bool> = (0..keys.len())
        .map(|i| {
            all.iter()
                .any(|vs| vs.get(i).is_some_and(|v| !v.is_empty()))
        })
        .collect();
    if !used.iter().any(|u| *u) {
        return (keys.to_vec(), values.to_vec());
    }
    let vk = keys
        .iter()
        .zip(&used)
        .filter(|(_, u)| **u)
        .map(|(k, _)| k.clone())
        .collect();
    let vv = values
        .iter()
        .zip(&used)
        .filter(|(_, u)| **u)
        .map(|(v, _)| v.clone())
        .collect();
    (vk, vv)
}

/// kyaml `mergeValues`: tuples that agree wherever both have a value are the same element.
fn merge_values(list: &mut [Vec<String>]) {
    for i in 0..list.len() {
        let v1 = list[i].clone();
        for j in 0..list.len() {
            let v2 = list[j].clone();
            if v1.len() != v2.len() {
                continue;
            }
            let mut common = false;
            let mut res = Vec::with_capacity(v1.len());
            let mut ok = true;
            for (a, b) in v1.iter().zip(&v2) {
                if a == b {
                    common = true;
                    res.push(a.clone());
                } else if !a.is_empty() && !b.is_empty() {
                    ok = false;
                    break;
                } else if !a.is_empty() {
                    res.push(a.clone());
                } else {
                    res.push(b.clone());
                }
            }
            if ok && common {
                list[i] = res.clone();
                list[j] = res;
            }
        }
    }
}

/// kyaml `appendListNode` (prepend direction: the target's elements go after the patch's).
fn append_list_node(dst: &mut Vec<Value>, src: &[Value], keys: &[String]) {
    for elem in src {
        if keys.first().is_none_or(|k| k.is_empty()) {
            element_setter(dst, Some(elem), &[String::new()], &[node_text(elem)]);
            continue;
        }
        let mut v = Vec::new();
        for key in keys {
            match elem.get(key.as_str()) {
                None => dst.push(elem.clone()),
                Some(x) => v.push(node_text(x)),
            }
        }
        if keys.len() > 1 {
            element_setter(dst, None, keys, &v);
        }
        element_setter(dst, Some(elem), keys, &v);
    }
}

fn merge_list(
    dest: Option<&Value>,
    patch: Option<&Value>,
    field: Option<&FieldSchema>,
    path: &[&str],
) -> Result<Option<Value>, String> {
    let Some(keys) = associative_keys(field) else {
        // Not associative: the patch's list (if any) replaces the target's.
        return Ok(match patch {
            Some(Value::Null) => None,
            Some(p) => Some(p.clone()),
            None => dest.cloned(),
        });
    };
    if matches!(patch, Some(Value::Null)) && !is_missing_or_null(dest) {
        return Ok(None);
    }
    let mut patch_items: Option<Vec<Value>> = patch.and_then(Value::as_array).cloned();
    if let Some(items) = patch_items.as_mut() {
        // `$patch: replace` as an element replaces the whole list; `delete` is refused.
        let mut replace = false;
        let mut kept = Vec::with_capacity(items.len());
        for item in items.drain(..) {
            match item.get("$patch").and_then(Value::as_str) {
                Some("replace") => replace = true,
                Some("delete") if item.as_object().is_some_and(|m| m.len() == 1) => {
                    return Err("smp directive delete invalid on lists".into());
                }
                _ => kept.push(item),
            }
        }
        if replace && !is_missing_or_null(dest) {
            return Ok(Some(Value::Array(kept)));
        }
        *items = kept;
    }
    let mut dest_items: Vec<Value> = match dest.and_then(Value::as_array) {
        Some(d) => d.clone(),
        None => match &patch_items {
            Some(p) => p.clone(),
            None => return Ok(dest.cloned()),
        },
    };
    let item_schema = FieldSchema {
        r: field.and_then(|f| f.i.clone()),
        ..FieldSchema::default()
    };
    let keys: Vec<String> = if keys.is_empty() {
        vec![String::new()]
    } else {
        keys
    };
    let primitive = keys[0].is_empty();
    // Every element's key values, the patch's first.
    let mut values: Vec<Vec<String>> = Vec::new();
    for list in [patch_items.as_deref(), Some(dest_items.as_slice())]
        .into_iter()
        .flatten()
    {
        for item in list {
            let tuple: Vec<String> = if primitive {
                vec![node_text(item)]
            } else {
                keys.iter()
                    .map(|k| match item.get(k.as_str()) {
                        None | Some(Value::Null) => String::new(),
                        Some(Value::Object(m)) if m.is_empty() => String::new(),
                        Some(Value::Array(a)) if a.is_empty() => String::new(),
                        Some(v) => node_text(v),
                    })
                    .collect()
            };
            if !values.contains(&tuple) {
                values.push(tuple);
            }
        }
    }
    if keys.len() > 1 {
        merge_values(&mut values);
    }
    let mut items: Vec<Value> = Vec::new();
    let mut valid_keys = keys.clone();
    for tuple in values.clone() {
        if tuple.is_empty() {
            continue;
        }
        let (vk, vv) = validate_keys(&values, &tuple, &keys);
        valid_keys = vk.clone();
        let (ek, ev) = validate_keys(std::slice::from_ref(&vv), &vv, &vk);
        let di = find_element(&dest_items, &ek, &ev);
        let pi = patch_items
            .as_deref()
            .and_then(|p| find_element(p, &ek, &ev));
        let d = di.map(|i| dest_items[i].clone());
        let p = pi.and_then(|i| patch_items.as_ref().map(|items| items[i].clone()));
        let val = merge(d.as_ref(), p.as_ref(), Some(&item_schema), path)?;
        let deleted = match &val {
            None | Some(Value::Null) => true,
            Some(v) => is_empty_map(v),
        };
        if deleted {
            element_setter(&mut dest_items, None, &vk, &vv);
            continue;
        }
        let Some(mut val) = val else { continue };
        // The target's element is merged in place unless the patch replaced it.
        let replaced = p
            .as_ref()
            .and_then(|p| p.get("$patch"))
            .and_then(Value::as_str)
            == Some("replace");
        if let (Some(i), false) = (di, replaced) {
            dest_items[i] = val.clone();
        }
        if let Value::Object(m) = &mut val {
            for (k, v) in vk.iter().zip(&vv) {
                if !k.is_empty() && !v.is_empty() && !m.contains_key(k) {
                    m.insert(
                        k.clone(),
                        crate::yaml::resolve_plain(v, 0).unwrap_or(Value::String(v.clone())),
                    );
                }
            }
        }
        element_setter(&mut items, Some(&val), &vk, &vv);
    }
    if !values.is_empty() {
        append_list_node(&mut items, &dest_items, &valid_keys);
    }
    if items.is_empty() {
        return Ok(None);
    }
    Ok(Some(Value::Array(items)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merges_containers_by_name_patch_first() {
        let target = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a"},
            "spec": {"template": {"metadata": {"finalizers": ["a", "b"]}, "spec": {
                "containers": [{"name": "main", "image": "m:1", "ports": [{"containerPort": 8080}]}],
                "tolerations": [{"key": "k1"}],
                "volumes": [{"name": "v1", "emptyDir": {}}, {"name": "v2", "emptyDir": {}}]}}}});
        let patch = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a"},
            "spec": {"template": {"metadata": {"finalizers": ["c", "a"]}, "spec": {
                "containers": [{"name": "main", "ports": [{"containerPort": 9090}]}, {"name": "side", "image": "s"}],
                "tolerations": [{"key": "k2"}],
                "volumes": [{"name": "v1", "$patch": "delete"}]}}}});
        let out = merge_resource(&target, &patch).unwrap().unwrap();
        let spec = &out["spec"]["template"]["spec"];
        assert_eq!(
            out["spec"]["template"]["metadata"]["finalizers"],
            json!(["c", "a", "b"])
        );
        assert_eq!(
            spec["containers"][0]["ports"],
            json!([{"containerPort": 9090}, {"containerPort": 8080}])
        );
        assert_eq!(spec["containers"][1]["name"], "side");
        assert_eq!(spec["tolerations"], json!([{"key": "k2"}]));
        assert_eq!(spec["volumes"], json!([{"name": "v2", "emptyDir": {}}]));
    }

    #[test]
    fn custom_resources_replace_lists_and_null_deletes() {
        let target = json!({"apiVersion": "x/v1", "kind": "Foo", "spec": {"items": [{"name": "a"}], "x": 1, "y": 2}});
        let patch = json!({"apiVersion": "x/v1", "kind": "Foo", "spec": {"items": [{"name": "b"}], "x": null}});
        let out = merge_resource(&target, &patch).unwrap().unwrap();
        assert_eq!(out["spec"], json!({"items": [{"name": "b"}], "y": 2}));
        let del = json!({"apiVersion": "x/v1", "kind": "Foo", "$patch": "delete"});
        assert!(merge_resource(&target, &del).unwrap().is_none());
    }

    fn service_ports(dest: Value, patch: Value) -> Value {
        let target = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"ports": dest}});
        let p = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"ports": patch}});
        merge_resource(&target, &p).unwrap().unwrap()["spec"]["ports"].clone()
    }

    #[test]
    fn list_map_keys_behave_like_kyaml() {
        // Full keys: new elements first, then the target's in their order, merged in place.
        let out = service_ports(
            json!([{"port": 1, "protocol": "TCP"}, {"port": 2, "protocol": "TCP"}, {"port": 3, "protocol": "TCP"}]),
            json!([{"port": 3, "protocol": "TCP", "name": "x"}, {"port": 4, "protocol": "TCP", "name": "y"}]),
        );
        let ports: Vec<i64> = out
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["port"].as_i64().unwrap())
            .collect();
        assert_eq!(ports, [4, 1, 2, 3]);
        assert_eq!(out[3]["name"], "x");
        // A patch element lacking a key the target has is dropped, as kyaml drops it.
        let out = service_ports(
            json!([{"port": 443, "protocol": "TCP"}]),
            json!([{"port": 443, "name": "x"}]),
        );
        assert_eq!(out, json!([{"port": 443, "protocol": "TCP"}]));
        // Only the primary key in use: the patch's elements come first.
        let out = service_ports(
            json!([{"port": 80}, {"port": 443}]),
            json!([{"port": 443, "name": "x"}]),
        );
        assert_eq!(out, json!([{"port": 443, "name": "x"}, {"port": 80}]));
    }
}
