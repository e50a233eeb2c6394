//! `values.schema.json` validation, as Helm runs it before rendering: the chart's schema over
//! its coalesced values, then each subchart's schema over its part of them.
//!
//! A small JSON Schema validator (drafts 4 to 2020-12, the keywords charts use: types, enums,
//! numbers, strings, arrays, objects, combinators, conditionals, local `$ref`s). It is written
//! here rather than pulled in because a general validator crate more than doubled the plugin's
//! size, and plumb loads the compiled plugin on every render. `format` is an annotation, not an
//! assertion, as in Helm's validator; a `$ref` to another document cannot be resolved offline
//! and fails, as it does for `helm template` without network.

use std::collections::HashMap;

use regex::Regex;
use serde_json::Value as Json;

use crate::chart::Chart;
use crate::value::Value;

fn to_json(v: &Value) -> Json {
    match v {
        Value::Invalid | Value::Nil => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i, _) => Json::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(Json::Number)
            .unwrap_or(Json::Null),
        Value::Str(s) => Json::String(s.to_string()),
        Value::List(items, _) => Json::Array(items.iter().map(to_json).collect()),
        Value::Map(m, _) => Json::Object(
            m.borrow()
                .iter()
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect(),
        ),
        other => crate::json::marshal(other, true)
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or(Json::Null),
    }
}

/// Validates `values` against the schemas of `chart` and its dependencies. Returns Helm's
/// report (`chart:\n- at '/x': …`) when anything fails.
pub fn validate(chart: &Chart, values: &Value) -> Result<(), String> {
    let mut report = String::new();
    if let Some(schema) = &chart.schema {
        let schema: Json = serde_json::from_slice(schema)
            .map_err(|e| format!("{}: invalid values.schema.json: {e}", chart.name()))?;
        let mut v = Validator {
            root: &schema,
            regexes: HashMap::new(),
            errors: Vec::new(),
            depth: 0,
        };
        v.validate(&schema, &to_json(values), "");
        let mut errors = v.errors;
        if !errors.is_empty() {
            errors.sort();
            errors.dedup();
            report.push_str(&format!("{}:\n", chart.name()));
            for e in errors {
                report.push_str(&e);
                report.push('\n');
            }
        }
    }
    for sub in &chart.dependencies {
        let raw = values
            .as_table()
            .and_then(|m| m.borrow().get(sub.name()).cloned());
        match raw {
            None | Some(Value::Nil) => continue,
            Some(v @ Value::Map(..)) => {
                if let Err(e) = validate(sub, &v) {
                    report.push_str(&e);
                }
            }
            Some(other) => {
                report.push_str(&format!(
                    "{}:\ninvalid type for values: expected object (map), got {}\n",
                    sub.name(),
                    other.type_name()
                ));
            }
        }
    }
    if report.is_empty() {
        Ok(())
    } else {
        Err(report)
    }
}

struct Validator<'a> {
    root: &'a Json,
    regexes: HashMap<String, Option<Regex>>,
    errors: Vec<String>,
    depth: usize,
}

fn type_name(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(n) => {
            if n.as_f64().is_some_and(|f| f.fract() == 0.0) {
                "integer"
            } else {
                "number"
            }
        }
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

fn has_type(v: &Json, t: &str) -> bool {
    match t {
        "number" => v.is_number(),
        "integer" => v.as_f64().is_some_and(|f| f.fract() == 0.0),
        other => type_name(v) == other,
    }
}

/// JSON equality with numbers compared by value (`1` equals `1.0`).
fn json_eq(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => x.as_f64() == y.as_f64(),
        (Json::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn pointer_escape(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

impl<'a> Validator<'a> {
    fn fail(&mut self, path: &str, msg: String) {
        self.errors.push(format!("- at '{path}': {msg}"));
    }

    fn regex(&mut self, pattern: &str) -> Option<Regex> {
        self.regexes
            .entry(pattern.to_string())
            .or_insert_with(|| Regex::new(pattern).ok())
            .clone()
    }

    fn resolve(&self, r: &str) -> Option<&'a Json> {
        let frag = r.strip_prefix('#')?;
        if frag.is_empty() {
            return Some(self.root);
        }
        self.root.pointer(frag).or_else(|| {
            // Percent-encoded pointers (`%24defs`).
            let decoded = frag.replace("%24", "$").replace("%25", "%");
            self.root.pointer(&decoded)
        })
    }

    /// Whether `v` is valid, without recording errors.
    fn is_valid(&mut self, schema: &'a Json, v: &Json, path: &str) -> bool {
        let before = self.errors.len();
        self.validate(schema, v, path);
        let ok = self.errors.len() == before;
        self.errors.truncate(before);
        ok
    }

    fn validate(&mut self, schema: &'a Json, v: &Json, path: &str) {
        let s = match schema {
            Json::Bool(true) => return,
            Json::Bool(false) => return self.fail(path, "false schema".into()),
            Json::Object(s) => s,
            _ => return,
        };
        if self.depth > 200 {
            return self.fail(path, "schema nesting too deep ($ref cycle?)".into());
        }
        if let Some(Json::String(r)) = s.get("$ref") {
            match self.resolve(r) {
                Some(target) => {
                    self.depth += 1;
                    self.validate(target, v, path);
                    self.depth -= 1;
                }
                None => self.fail(path, format!("cannot resolve $ref {r:?} (only references inside values.schema.json resolve offline)")),
            }
        }
        if let Some(t) = s.get("type") {
            let ok = match t {
                Json::String(t) => has_type(v, t),
                Json::Array(ts) => ts.iter().filter_map(Json::as_str).any(|t| has_type(v, t)),
                _ => true,
            };
            if !ok {
                let want = match t {
                    Json::String(t) => t.clone(),
                    other => other.to_string(),
                };
                self.fail(path, format!("got {}, want {want}", type_name(v)));
            }
        }
        if let Some(Json::Array(options)) = s.get("enum")
            && !options.iter().any(|o| json_eq(o, v))
        {
            self.fail(
                path,
                format!("value must be one of {}", Json::Array(options.clone())),
            );
        }
        if let Some(c) = s.get("const")
            && !json_eq(c, v)
        {
            self.fail(path, format!("value must be {c}"));
        }
        match v {
            Json::Number(n) => self.numbers(s, n.as_f64().unwrap_or(0.0), path),
            Json::String(st) => self.strings(s, st, path),
            Json::Array(items) => self.arrays(s, items, path),
            Json::Object(obj) => self.objects(s, obj, path),
            _ => {}
        }
        if let Some(Json::Array(all)) = s.get("allOf") {
            for sub in all {
                self.validate(sub, v, path);
            }
        }
        if let Some(Json::Array(any)) = s.get("anyOf")
            && !any.iter().any(|sub| self.is_valid(sub, v, path))
        {
            self.fail(path, "anyOf failed: no subschema matched".into());
        }
        if let Some(Json::Array(one)) = s.get("oneOf") {
            let n = one.iter().filter(|sub| self.is_valid(sub, v, path)).count();
            if n != 1 {
                self.fail(
                    path,
                    format!("oneOf failed: {n} subschemas matched, want exactly one"),
                );
            }
        }
        if let Some(not) = s.get("not")
            && self.is_valid(not, v, path)
        {
            self.fail(path, "not failed: the value matched the subschema".into());
        }
        if let Some(cond) = s.get("if") {
            if self.is_valid(cond, v, path) {
                if let Some(then) = s.get("then") {
                    self.validate(then, v, path);
                }
            } else if let Some(els) = s.get("else") {
                self.validate(els, v, path);
            }
        }
    }

    fn numbers(&mut self, s: &serde_json::Map<String, Json>, n: f64, path: &str) {
        let num = |k: &str| s.get(k).and_then(Json::as_f64);
        if let Some(m) = num("multipleOf")
            && m > 0.0
        {
            let q = n / m;
            if (q - q.round()).abs() > 1e-9 {
                self.fail(path, format!("{n} not multipleOf {m}"));
            }
        }
        let draft4_excl = |k: &str| matches!(s.get(k), Some(Json::Bool(true)));
        if let Some(max) = num("maximum") {
            if draft4_excl("exclusiveMaximum") {
                if n >= max {
                    self.fail(
                        path,
                        format!("maximum: got {}, want < {}", fmt_num(n), fmt_num(max)),
                    );
                }
            } else if n > max {
                self.fail(
                    path,
                    format!("maximum: got {}, want {}", fmt_num(n), fmt_num(max)),
                );
            }
        }
        if let Some(min) = num("minimum") {
            if draft4_excl("exclusiveMinimum") {
                if n <= min {
                    self.fail(
                        path,
                        format!("minimum: got {}, want > {}", fmt_num(n), fmt_num(min)),
                    );
                }
            } else if n < min {
                self.fail(
                    path,
                    format!("minimum: got {}, want {}", fmt_num(n), fmt_num(min)),
                );
            }
        }
        if let Some(x) = num("exclusiveMaximum")
            && n >= x
        {
            self.fail(
                path,
                format!(
                    "exclusiveMaximum: got {}, want < {}",
                    fmt_num(n),
                    fmt_num(x)
                ),
            );
        }
        if let Some(x) = num("exclusiveMinimum")
            && n <= x
        {
            self.fail(
                path,
                format!(
                    "exclusiveMinimum: got {}, want > {}",
                    fmt_num(n),
                    fmt_num(x)
                ),
            );
        }
    }

    fn strings(&mut self, s: &serde_json::Map<String, Json>, st: &str, path: &str) {
        let len = st.chars().count() as u64;
        if let Some(max) = s.get("maxLength").and_then(Json::as_u64)
            && len > max
        {
            self.fail(path, format!("maxLength: got {len}, want {max}"));
        }
        if let Some(min) = s.get("minLength").and_then(Json::as_u64)
            && len < min
        {
            self.fail(path, format!("minLength: got {len}, want {min}"));
        }
        if let Some(Json::String(p)) = s.get("pattern") {
            match self.regex(p) {
                Some(re) => {
                    if !re.is_match(st) {
                        self.fail(path, format!("{st:?} does not match pattern {p:?}"));
                    }
                }
                None => self.fail(path, format!("invalid pattern {p:?}")),
            }
        }
    }

    fn arrays(&mut self, s: &'a serde_json::Map<String, Json>, items: &[Json], path: &str) {
        let n = items.len() as u64;
        if let Some(max) = s.get("maxItems").and_then(Json::as_u64)
            && n > max
        {
            self.fail(path, format!("maxItems: got {n}, want {max}"));
        }
        if let Some(min) = s.get("minItems").and_then(Json::as_u64)
            && n < min
        {
            self.fail(path, format!("minItems: got {n}, want {min}"));
        }
        if matches!(s.get("uniqueItems"), Some(Json::Bool(true))) {
            for i in 0..items.len() {
                for j in i + 1..items.len() {
                    if json_eq(&items[i], &items[j]) {
                        self.fail(path, format!("items at {i} and {j} are equal"));
                    }
                }
            }
        }
        let mut first_unchecked = 0;
        if let Some(Json::Array(prefix)) = s.get("prefixItems") {
            for (i, (sub, item)) in prefix.iter().zip(items).enumerate() {
                self.validate(sub, item, &format!("{path}/{i}"));
            }
            first_unchecked = prefix.len();
        }
        match s.get("items") {
            Some(Json::Array(tuple)) => {
                for (i, (sub, item)) in tuple.iter().zip(items).enumerate() {
                    self.validate(sub, item, &format!("{path}/{i}"));
                }
                if let Some(extra) = s.get("additionalItems") {
                    for (i, item) in items.iter().enumerate().skip(tuple.len()) {
                        self.validate(extra, item, &format!("{path}/{i}"));
                    }
                }
            }
            Some(sub) => {
                for (i, item) in items.iter().enumerate().skip(first_unchecked) {
                    self.validate(sub, item, &format!("{path}/{i}"));
                }
            }
            None => {}
        }
        if let Some(c) = s.get("contains") {
            let matched = items.iter().filter(|it| self.is_valid(c, it, path)).count() as u64;
            let min = s.get("minContains").and_then(Json::as_u64).unwrap_or(1);
            if matched < min {
                self.fail(path, "no items match contains schema".into());
            }
            if let Some(max) = s.get("maxContains").and_then(Json::as_u64)
                && matched > max
            {
                self.fail(path, format!("maxContains: got {matched}, want {max}"));
            }
        }
    }

    fn objects(
        &mut self,
        s: &'a serde_json::Map<String, Json>,
        obj: &serde_json::Map<String, Json>,
        path: &str,
    ) {
        let n = obj.len() as u64;
        if let Some(max) = s.get("maxProperties").and_then(Json::as_u64)
            && n > max
        {
            self.fail(path, format!("maxProperties: got {n}, want {max}"));
        }
        if let Some(min) = s.get("minProperties").and_then(Json::as_u64)
            && n < min
        {
            self.fail(path, format!("minProperties: got {n}, want {min}"));
        }
        if let Some(Json::Array(req)) = s.get("required") {
            let missing: Vec<&str> = req
                .iter()
                .filter_map(Json::as_str)
                .filter(|k| !obj.contains_key(*k))
                .collect();
            if !missing.is_empty() {
                let list: Vec<String> = missing.iter().map(|m| format!("'{m}'")).collect();
                self.fail(path, format!("missing property {}", list.join(", ")));
            }
        }
        let props = s.get("properties").and_then(Json::as_object);
        let mut pattern_props: Vec<(Option<Regex>, &'a Json)> = Vec::new();
        if let Some(Json::Object(pp)) = s.get("patternProperties") {
            for (p, sub) in pp {
                pattern_props.push((self.regex(p), sub));
            }
        }
        let mut additional = Vec::new();
        for (k, val) in obj {
            let child = format!("{path}/{}", pointer_escape(k));
            let mut matched = false;
            if let Some(sub) = props.and_then(|p| p.get(k)) {
                matched = true;
                self.validate(sub, val, &child);
            }
            for (re, sub) in &pattern_props {
                if re.as_ref().is_some_and(|r| r.is_match(k)) {
                    matched = true;
                    self.validate(sub, val, &child);
                }
            }
            if !matched {
                additional.push(k.as_str());
                if let Some(ap) = s.get("additionalProperties")
                    && !matches!(ap, Json::Bool(false))
                {
                    self.validate(ap, val, &child);
                }
            }
            if let Some(names) = s.get("propertyNames") {
                self.validate(names, &Json::String(k.clone()), &child);
            }
        }
        if !additional.is_empty()
            && matches!(s.get("additionalProperties"), Some(Json::Bool(false)))
        {
            let list: Vec<String> = additional.iter().map(|k| format!("'{k}'")).collect();
            self.fail(
                path,
                format!("additional properties {} not allowed", list.join(", ")),
            );
        }
        if matches!(s.get("unevaluatedProperties"), Some(Json::Bool(false))) {
            // Properties declared anywhere in this schema's subschemas count as evaluated.
            let mut names = Vec::new();
            let mut patterns = Vec::new();
            self.declared(s, &mut names, &mut patterns, 0);
            let unknown: Vec<String> = obj
                .keys()
                .filter(|k| !names.contains(k) && !patterns.iter().any(|p: &Regex| p.is_match(k)))
                .map(|k| format!("'{k}'"))
                .collect();
            if !unknown.is_empty() {
                self.fail(
                    path,
                    format!("additional properties {} not allowed", unknown.join(", ")),
                );
            }
        }
        let deps = s.get("dependentRequired").or_else(|| s.get("dependencies"));
        if let Some(Json::Object(deps)) = deps {
            for (k, dep) in deps {
                if !obj.contains_key(k) {
                    continue;
                }
                match dep {
                    Json::Array(names) => {
                        for name in names.iter().filter_map(Json::as_str) {
                            if !obj.contains_key(name) {
                                self.fail(
                                    path,
                                    format!(
                                        "property '{name}' is required, if '{k}' property exists"
                                    ),
                                );
                            }
                        }
                    }
                    sub @ (Json::Object(_) | Json::Bool(_)) => {
                        self.validate(sub, &Json::Object(obj.clone()), path)
                    }
                    _ => {}
                }
            }
        }
        if let Some(Json::Object(deps)) = s.get("dependentSchemas") {
            for (k, sub) in deps {
                if obj.contains_key(k) {
                    self.validate(sub, &Json::Object(obj.clone()), path);
                }
            }
        }
    }
}

impl Validator<'_> {
    /// Property names and patterns a schema declares, through its combinators and `$ref`s.
    fn declared(
        &mut self,
        s: &serde_json::Map<String, Json>,
        names: &mut Vec<String>,
        patterns: &mut Vec<Regex>,
        depth: usize,
    ) {
        if depth > 20 {
            return;
        }
        if let Some(Json::Object(p)) = s.get("properties") {
            names.extend(p.keys().cloned());
        }
        if let Some(Json::Object(pp)) = s.get("patternProperties") {
            for p in pp.keys() {
                if let Some(r) = self.regex(p) {
                    patterns.push(r);
                }
            }
        }
        let mut subs: Vec<&Json> = Vec::new();
        for key in ["allOf", "anyOf", "oneOf"] {
            if let Some(Json::Array(a)) = s.get(key) {
                subs.extend(a.iter());
            }
        }
        for key in ["then", "else", "if"] {
            if let Some(x) = s.get(key) {
                subs.push(x);
            }
        }
        if let Some(Json::String(r)) = s.get("$ref")
            && let Some(t) = self.resolve(r)
        {
            subs.push(t);
        }
        for sub in subs {
            if let Json::Object(o) = sub {
                self.declared(o, names, patterns, depth + 1);
            }
        }
    }
}

fn fmt_num(n: f64) -> String {
    crate::gofmt::float_v(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn errors(schema: Json, v: Json) -> Vec<String> {
        let mut val = Validator {
            root: &schema,
            regexes: HashMap::new(),
            errors: Vec::new(),
            depth: 0,
        };
        val.validate(&schema, &v, "");
        val.errors
    }

    #[test]
    fn validates_the_usual_keywords() {
        let s = json!({
            "type": "object",
            "required": ["replicas"],
            "properties": {
                "replicas": {"type": "integer", "minimum": 1},
                "image": {"$ref": "#/$defs/image"},
                "mode": {"enum": ["a", "b"]},
                "list": {"type": "array", "items": {"type": "string"}, "maxItems": 2}
            },
            "additionalProperties": false,
            "$defs": {"image": {"type": "object", "properties": {"tag": {"type": ["string", "null"]}}}}
        });
        assert!(
            errors(
                s.clone(),
                json!({"replicas": 2.0, "image": {"tag": null}, "mode": "a", "list": ["x"]})
            )
            .is_empty()
        );
        let e = errors(
            s.clone(),
            json!({"replicas": 0, "extra": 1, "mode": "c", "list": ["x", 1, "z"]}),
        );
        assert_eq!(e.len(), 5, "{e:?}");
        assert!(errors(s, json!({"image": {"tag": 5}})).len() == 2);
        let one = json!({"oneOf": [{"type": "string"}, {"type": "integer"}]});
        assert!(errors(one.clone(), json!(1)).is_empty());
        assert_eq!(errors(one, json!(true)).len(), 1);
        let cond =
            json!({"if": {"properties": {"a": {"const": true}}}, "then": {"required": ["b"]}});
        assert_eq!(errors(cond.clone(), json!({"a": true})).len(), 1);
        assert!(errors(cond, json!({"a": false})).is_empty());
        assert_eq!(
            errors(json!({"$ref": "https://example.com/s.json"}), json!(1)).len(),
            1
        );
    }
}
