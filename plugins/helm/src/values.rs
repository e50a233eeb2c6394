//! Values as Helm computes them: user values (files, inline, `--set`), dependency
//! enabling (tags, conditions), `import-values`, and the coalescing of chart defaults, subchart
//! values and globals (`pkg/chart/common/util/coalesce.go`, `pkg/chart/v2/util/dependencies.go`).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

use crate::chart::Chart;
use crate::value::{MapRef, MapType, Value};

fn is_table(v: &Value) -> bool {
    matches!(v, Value::Map(_, MapType::Any | MapType::Values))
}

fn table(v: &Value) -> Option<MapRef> {
    match v {
        Value::Map(m, MapType::Any | MapType::Values) => Some(m.clone()),
        _ => None,
    }
}

fn new_map() -> MapRef {
    Rc::new(RefCell::new(BTreeMap::new()))
}

fn concat_prefix(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}.{b}")
    }
}

/// Helm's `MergeMaps`: `b` over `a`, maps merged recursively.
pub fn merge_maps(a: &Value, b: &Value) -> Value {
    let out: BTreeMap<String, Value> = a.as_map().map(|m| m.borrow().clone()).unwrap_or_default();
    let out = Rc::new(RefCell::new(out));
    if let Some(bm) = b.as_map() {
        for (k, v) in bm.borrow().iter() {
            if is_table(v) {
                let existing = out.borrow().get(k).cloned();
                if let Some(e) = existing
                    && is_table(&e)
                {
                    let merged = merge_maps(&e, v);
                    out.borrow_mut().insert(k.clone(), merged);
                    continue;
                }
            }
            out.borrow_mut().insert(k.clone(), v.clone());
        }
    }
    Value::Map(out, MapType::Any)
}

/// `CoalesceValues` (merge = false) / `MergeValues` (merge = true) of a chart and user values.
pub fn coalesce_chart(chart: &Chart, vals: &Value, merge: bool) -> Result<Value, String> {
    let dest = match vals.deep_copy() {
        Value::Map(m, _) => m,
        _ => new_map(),
    };
    coalesce(chart, &dest, "", merge)?;
    Ok(Value::Map(dest, MapType::Any))
}

fn coalesce(ch: &Chart, dest: &MapRef, prefix: &str, merge: bool) -> Result<(), String> {
    coalesce_values(ch, dest, prefix, merge);
    coalesce_deps(ch, dest, prefix, merge)
}

fn coalesce_deps(ch: &Chart, dest: &MapRef, prefix: &str, merge: bool) -> Result<(), String> {
    for sub in &ch.dependencies {
        let name = sub.name().to_string();
        let existing = dest.borrow().get(&name).cloned();
        let dvmap = match existing {
            None => {
                let m = new_map();
                dest.borrow_mut()
                    .insert(name.clone(), Value::Map(m.clone(), MapType::Any));
                m
            }
            Some(v) => match table(&v) {
                Some(m) => m,
                None => {
                    return Err(format!(
                        "type mismatch on {name}: %!t({}={})",
                        v.type_name(),
                        crate::gofmt::sprint_v(&v)
                    ));
                }
            },
        };
        let sub_prefix = concat_prefix(prefix, ch.name());
        coalesce_globals(&dvmap, dest);
        coalesce(sub, &dvmap, &sub_prefix, merge)?;
    }
    Ok(())
}

fn coalesce_globals(dest: &MapRef, src: &MapRef) {
    let dg = match dest.borrow().get("global").cloned() {
        None => new_map(),
        Some(v) => match table(&v) {
            Some(m) => m,
            None => return,
        },
    };
    let sg = match src.borrow().get("global").cloned() {
        None => new_map(),
        Some(v) => match table(&v) {
            Some(m) => m,
            None => return,
        },
    };
    let entries: Vec<(String, Value)> = sg
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, val) in entries {
        if let Some(vm) = table(&val) {
            let vv: MapRef = Rc::new(RefCell::new(vm.borrow().clone()));
            let destv = dg.borrow().get(&key).cloned();
            match destv {
                None => {
                    dg.borrow_mut().insert(key, Value::Map(vv, MapType::Any));
                }
                Some(d) => {
                    if let Some(dm) = table(&d) {
                        coalesce_tables(&vv, &dm, true);
                        dg.borrow_mut().insert(key, Value::Map(vv, MapType::Any));
                    }
                }
            }
        } else if dg.borrow().get(&key).is_some_and(is_table) {
            // A table in the destination is not replaced by a scalar.
        } else {
            dg.borrow_mut().insert(key, val);
        }
    }
    dest.borrow_mut()
        .insert("global".into(), Value::Map(dg, MapType::Any));
}

fn clean_nil_values(m: &MapRef) {
    let keys: Vec<String> = m.borrow().keys().cloned().collect();
    for k in keys {
        let v = m.borrow().get(&k).cloned();
        match v {
            Some(Value::Nil) | Some(Value::Invalid) => {
                m.borrow_mut().remove(&k);
            }
            Some(v) => {
                if let Some(sub) = table(&v) {
                    clean_nil_values(&sub);
                }
            }
            None => {}
        }
    }
}

fn coalesce_values(ch: &Chart, v: &MapRef, prefix: &str, merge: bool) {
    let vc = match ch.values.deep_copy() {
        Value::Map(m, _) => m,
        _ => new_map(),
    };
    let entries: Vec<(String, Value)> = vc
        .borrow()
        .iter()
        .map(|(k, x)| (k.clone(), x.clone()))
        .collect();
    for (key, val) in entries {
        let existing = v.borrow().get(&key).cloned();
        match existing {
            Some(value) => {
                if value.is_nil() && !merge {
                    v.borrow_mut().remove(&key);
                } else if let Some(dest) = table(&value)
                    && let Some(src) = table(&val)
                {
                    let merge2 = merge || ch.dependencies.iter().any(|d| d.name() == key);
                    if !merge2 && !prefix.is_empty() {
                        clean_nil_values(&src);
                    }
                    coalesce_tables(&dest, &src, merge2);
                }
            }
            None => {
                if !merge && !prefix.is_empty() {
                    if val.is_nil() {
                        continue;
                    }
                    if let Some(sub) = table(&val) {
                        clean_nil_values(&sub);
                    }
                }
                v.borrow_mut().insert(key, val);
            }
        }
    }
}

/// `coalesceTablesFullKey`: `dst` wins; with `merge` false a nil in `dst` removes the key.
pub fn coalesce_tables(dst: &MapRef, src: &MapRef, merge: bool) {
    if Rc::ptr_eq(dst, src) {
        return;
    }
    let src_non_nil: BTreeSet<String> = src
        .borrow()
        .iter()
        .filter(|(_, v)| !v.is_nil())
        .map(|(k, _)| k.clone())
        .collect();
    let dst_nils: Vec<String> = dst
        .borrow()
        .iter()
        .filter(|(_, v)| v.is_nil())
        .map(|(k, _)| k.clone())
        .collect();
    for k in dst_nils {
        src.borrow_mut().insert(k, Value::Nil);
    }
    let entries: Vec<(String, Value)> = src
        .borrow()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    for (key, val) in entries {
        let dv = dst.borrow().get(&key).cloned();
        match dv {
            Some(d) if !merge && d.is_nil() && src_non_nil.contains(&key) => {
                dst.borrow_mut().remove(&key);
            }
            None => {
                dst.borrow_mut().insert(key, val);
            }
            Some(d) => {
                if let Some(vm) = table(&val)
                    && let Some(dm) = table(&d)
                {
                    coalesce_tables(&dm, &vm, merge);
                }
            }
        }
    }
}

/// `Values.PathValue`: a non-table value at a dotted path.
pub fn path_value(vals: &Value, path: &str) -> Option<Value> {
    if path.is_empty() {
        return None;
    }
    let parts: Vec<&str> = path.split('.').collect();
    let mut cur = table(vals)?;
    for p in &parts[..parts.len() - 1] {
        let next = cur.borrow().get(*p).cloned()?;
        cur = table(&next)?;
    }
    let last = parts[parts.len() - 1];
    let v = cur.borrow().get(last).cloned()?;
    if is_table(&v) { None } else { Some(v) }
}

/// `Values.Table`: the table at a dotted path.
pub fn table_at(vals: &Value, path: &str) -> Option<MapRef> {
    let mut cur = table(vals)?;
    for p in path.split('.') {
        let next = cur.borrow().get(p).cloned()?;
        cur = table(&next)?;
    }
    Some(cur)
}

fn is_compatible_range(constraint: &str, version: &str) -> bool {
    let Ok(v) = crate::semver::Version::parse(version) else {
        return false;
    };
    let Ok(c) = crate::semver::Constraints::parse(constraint) else {
        return false;
    };
    c.check(&v)
}

/// `processDependencyEnabled`: resolves aliases, drops charts disabled by tags or conditions
/// (conditions see the chart's coalesced values, subchart defaults included).
pub fn process_dependency_enabled(c: &mut Chart, v: &Value, path: &str) -> Result<(), String> {
    if c.metadata.dependencies.is_empty() {
        return Ok(());
    }
    let mut chart_deps: Vec<Chart> = Vec::new();
    for existing in &c.dependencies {
        let declared = c.metadata.dependencies.iter().any(|req| {
            existing.name() == req.name
                && is_compatible_range(&req.version, &existing.metadata.version)
        });
        if !declared {
            chart_deps.push(existing.clone());
        }
    }
    for i in 0..c.metadata.dependencies.len() {
        let req = c.metadata.dependencies[i].clone();
        if let Some(found) = c.dependencies.iter().find(|d| {
            d.name() == req.name && is_compatible_range(&req.version, &d.metadata.version)
        }) {
            let mut out = found.clone();
            if !req.alias.is_empty() {
                out.metadata.name = req.alias.clone();
            }
            chart_deps.push(out);
        }
        if !req.alias.is_empty() {
            c.metadata.dependencies[i].name = req.alias.clone();
        }
    }
    c.dependencies = chart_deps;
    for d in &mut c.metadata.dependencies {
        d.enabled = true;
    }
    let cvals = coalesce_chart(c, v, false)?;
    // Tags.
    if let Some(tags) = table_at(&cvals, "tags") {
        let tags = tags.borrow();
        for r in &mut c.metadata.dependencies {
            let (mut has_true, mut has_false) = (false, false);
            for k in &r.tags {
                if let Some(Value::Bool(b)) = tags.get(k) {
                    if *b {
                        has_true = true;
                    } else {
                        has_false = true;
                    }
                }
            }
            if !has_true && has_false {
                r.enabled = false;
            } else if has_true || !has_false {
                r.enabled = true;
            }
        }
    }
    // Conditions.
    for r in &mut c.metadata.dependencies {
        for cond in r.condition.trim().split(',') {
            if cond.is_empty() {
                continue;
            }
            if let Some(Value::Bool(b)) = path_value(&cvals, &format!("{path}{cond}")) {
                r.enabled = b;
                break;
            }
        }
    }
    let removed: BTreeSet<String> = c
        .metadata
        .dependencies
        .iter()
        .filter(|r| !r.enabled)
        .map(|r| r.name.clone())
        .collect();
    c.dependencies.retain(|d| !removed.contains(d.name()));
    c.metadata
        .dependencies
        .retain(|r| !removed.contains(&r.name));
    for t in &mut c.dependencies {
        let sub = format!("{path}{}.", t.name());
        process_dependency_enabled(t, &cvals, &sub)?;
    }
    Ok(())
}

/// `processDependencyImportValues` with merge (what `helm template`/`install` use): children
/// first; imported tables become part of the parent's defaults, below its own values.
pub fn process_import_values(c: &mut Chart) -> Result<(), String> {
    for d in &mut c.dependencies {
        process_import_values(d)?;
    }
    if c.metadata.dependencies.is_empty() {
        return Ok(());
    }
    let cvals = coalesce_chart(c, &Value::empty_map(), true)?;
    let b = new_map();
    for r in &mut c.metadata.dependencies {
        let mut out_iv = Vec::new();
        for riv in &r.import_values {
            match riv {
                Value::Map(m, _) => {
                    let m = m.borrow();
                    let child = m
                        .get("child")
                        .map(crate::funcs::strval)
                        .unwrap_or_else(|| "<nil>".into());
                    let parent = m
                        .get("parent")
                        .map(crate::funcs::strval)
                        .unwrap_or_else(|| "<nil>".into());
                    let mut o = BTreeMap::new();
                    o.insert("child".to_string(), Value::str(child.as_str()));
                    o.insert("parent".to_string(), Value::str(parent.as_str()));
                    out_iv.push(Value::Map(Rc::new(RefCell::new(o)), MapType::Str));
                    let Some(vv) = table_at(&cvals, &format!("{}.{child}", r.name)) else {
                        continue;
                    };
                    let src = path_to_map(&parent, vv.borrow().clone());
                    coalesce_tables(&b, &src, true);
                }
                Value::Str(s) => {
                    let child = format!("exports.{s}");
                    let mut o = BTreeMap::new();
                    o.insert("child".to_string(), Value::str(child.as_str()));
                    o.insert("parent".to_string(), Value::str("."));
                    out_iv.push(Value::Map(Rc::new(RefCell::new(o)), MapType::Str));
                    let Some(vm) = table_at(&cvals, &format!("{}.{child}", r.name)) else {
                        continue;
                    };
                    let src: MapRef = Rc::new(RefCell::new(vm.borrow().clone()));
                    coalesce_tables(&b, &src, true);
                }
                _ => {}
            }
        }
        r.import_values = out_iv;
    }
    let cv = match cvals.deep_copy() {
        Value::Map(m, _) => m,
        _ => new_map(),
    };
    coalesce_tables(&cv, &b, true);
    c.values = Value::Map(cv, MapType::Any);
    Ok(())
}

/// `pathToMap`: `a.b` and a table become `{a: {b: table}}`; `.` is the table itself.
fn path_to_map(path: &str, data: BTreeMap<String, Value>) -> MapRef {
    if path == "." {
        return Rc::new(RefCell::new(data));
    }
    let parts: Vec<&str> = path.split('.').filter(|p| !p.is_empty()).collect();
    let mut cur = Value::Map(Rc::new(RefCell::new(data)), MapType::Any);
    for p in parts.iter().rev() {
        let mut m = BTreeMap::new();
        m.insert(p.to_string(), cur);
        cur = Value::Map(Rc::new(RefCell::new(m)), MapType::Any);
    }
    match cur {
        Value::Map(m, _) => m,
        _ => new_map(),
    }
}

// ---------------------------------------------------------------------------------------------
// --set parsing (`pkg/strvals`).

struct SetParser {
    chars: Vec<char>,
    pos: usize,
    string_only: bool,
}

const MAX_INDEX: i64 = 65536;
const MAX_NESTED: usize = 30;

enum Until {
    Stop(char),
    Eof,
}

impl SetParser {
    fn runes_until(&mut self, stop: &[char]) -> (String, Until) {
        let mut v = String::new();
        while self.pos < self.chars.len() {
            let r = self.chars[self.pos];
            self.pos += 1;
            if stop.contains(&r) {
                return (v, Until::Stop(r));
            }
            if r == '\\' {
                if self.pos >= self.chars.len() {
                    return (v, Until::Eof);
                }
                v.push(self.chars[self.pos]);
                self.pos += 1;
                continue;
            }
            v.push(r);
        }
        (v, Until::Eof)
    }

    fn typed(&self, v: &str) -> Value {
        if self.string_only {
            return Value::str(v);
        }
        if v.eq_ignore_ascii_case("true") {
            return Value::Bool(true);
        }
        if v.eq_ignore_ascii_case("false") {
            return Value::Bool(false);
        }
        if v.eq_ignore_ascii_case("null") {
            return Value::Nil;
        }
        if v == "0" {
            return Value::int64(0);
        }
        if !v.is_empty() && !v.starts_with('0') {
            let digits = v.strip_prefix(['+', '-']).unwrap_or(v);
            if !digits.is_empty()
                && digits.bytes().all(|b| b.is_ascii_digit())
                && let Ok(i) = v.parse::<i64>()
            {
                return Value::int64(i);
            }
        }
        Value::str(v)
    }

    /// Parses one `key=value` (or more, comma-separated) into `data`.
    fn key(&mut self, data: &MapRef, level: usize) -> Result<bool, String> {
        let (k, last) = self.runes_until(&['=', '[', ',', '.']);
        match last {
            Until::Eof => {
                if k.is_empty() {
                    return Ok(false);
                }
                Err(format!("key {k:?} has no value"))
            }
            Until::Stop('[') => {
                let i = self.key_index()?;
                let existing = data.borrow().get(&k).cloned();
                let list = match existing {
                    None => Vec::new(),
                    Some(Value::List(items, _)) => items.to_vec(),
                    Some(other) => {
                        return Err(format!(
                            "unable to parse key: interface conversion: interface {{}} is {}, not []interface {{}}",
                            other.type_name()
                        ));
                    }
                };
                let (list, r) = self.list_item(list, i, level);
                set(data, &k, Value::list(list));
                r.map(|_| true)
            }
            Until::Stop('=') => {
                match self.val_list()? {
                    Some(vl) => set(data, &k, Value::list(vl)),
                    None => {
                        let (v, _) = self.runes_until(&[',']);
                        let typed = self.typed(&v);
                        set(data, &k, typed);
                    }
                }
                Ok(self.pos < self.chars.len())
            }
            Until::Stop(',') => {
                set(data, &k, Value::str(""));
                Err(format!("key {k:?} has no value (cannot end with ,)"))
            }
            Until::Stop(_) => {
                // '.'
                if level + 1 > MAX_NESTED {
                    return Err(format!(
                        "value name nested level is greater than maximum supported nested level of {MAX_NESTED}"
                    ));
                }
                let existing = data.borrow().get(&k).cloned();
                let inner = match existing {
                    None => new_map(),
                    Some(v) => match table(&v) {
                        Some(m) => m,
                        None => {
                            return Err(format!(
                                "unable to parse key: interface conversion: interface {{}} is {}, not map[string]interface {{}}",
                                v.type_name()
                            ));
                        }
                    },
                };
                let r = self.key(&inner, level + 1);
                let empty = inner.borrow().is_empty();
                if r.is_ok() && empty {
                    return Err(format!("key map {k:?} has no value"));
                }
                if !empty {
                    set(data, &k, Value::Map(inner, MapType::Any));
                }
                r
            }
        }
    }

    fn key_index(&mut self) -> Result<i64, String> {
        let (v, last) = self.runes_until(&[']']);
        if matches!(last, Until::Eof) {
            return Err("error parsing index: EOF".into());
        }
        v.parse::<i64>().map_err(|_| {
            format!("error parsing index: strconv.Atoi: parsing {v:?}: invalid syntax")
        })
    }

    fn list_item(
        &mut self,
        mut list: Vec<Value>,
        i: i64,
        level: usize,
    ) -> (Vec<Value>, Result<(), String>) {
        if i < 0 {
            return (list, Err(format!("negative {i} index not allowed")));
        }
        let (k, last) = self.runes_until(&['[', '.', '=']);
        if !k.is_empty() {
            return (
                list,
                Err(format!("unexpected data at end of array index: {k:?}")),
            );
        }
        match last {
            Until::Eof => (list, Err("EOF".into())),
            Until::Stop('=') => {
                let v = match self.val_list() {
                    Err(e) => return (list, Err(e)),
                    Ok(Some(vl)) => Value::list(vl),
                    Ok(None) => {
                        let (v, _) = self.runes_until(&[',']);
                        self.typed(&v)
                    }
                };
                match set_index(list.clone(), i, v) {
                    Ok(l) => (l, Ok(())),
                    Err(e) => (list, Err(e)),
                }
            }
            Until::Stop('[') => {
                let next = match self.key_index() {
                    Ok(n) => n,
                    Err(e) => return (list, Err(e)),
                };
                let crt = match list.get(i as usize) {
                    Some(Value::List(items, _)) => items.to_vec(),
                    _ => Vec::new(),
                };
                let (l2, r) = self.list_item(crt, next, level);
                if let Err(e) = r {
                    return (list, Err(e));
                }
                match set_index(list.clone(), i, Value::list(l2)) {
                    Ok(l) => (l, Ok(())),
                    Err(e) => (list, Err(e)),
                }
            }
            Until::Stop(_) => {
                // '.'
                let inner = match list.get(i as usize).and_then(table) {
                    Some(m) => m,
                    None => {
                        let m = new_map();
                        if (i as usize) < list.len() {
                            list[i as usize] = Value::Map(m.clone(), MapType::Any);
                        }
                        m
                    }
                };
                if let Err(e) = self.key(&inner, level) {
                    return (list, Err(e));
                }
                match set_index(list.clone(), i, Value::Map(inner, MapType::Any)) {
                    Ok(l) => (l, Ok(())),
                    Err(e) => (list, Err(e)),
                }
            }
        }
    }

    /// `{a,b}` list syntax; `None` when the value is not a list.
    fn val_list(&mut self) -> Result<Option<Vec<Value>>, String> {
        if self.pos >= self.chars.len() {
            return Ok(None);
        }
        if self.chars[self.pos] != '{' {
            return Ok(None);
        }
        self.pos += 1;
        let mut list = Vec::new();
        loop {
            let (rs, last) = self.runes_until(&[',', '}']);
            match last {
                Until::Eof => return Err("list must terminate with '}'".into()),
                Until::Stop('}') => {
                    if self.pos < self.chars.len() && self.chars[self.pos] == ',' {
                        self.pos += 1;
                    }
                    list.push(self.typed(&rs));
                    return Ok(Some(list));
                }
                Until::Stop(_) => list.push(self.typed(&rs)),
            }
        }
    }
}

fn set(data: &MapRef, key: &str, v: Value) {
    if key.is_empty() {
        return;
    }
    data.borrow_mut().insert(key.to_string(), v);
}

fn set_index(mut list: Vec<Value>, i: i64, v: Value) -> Result<Vec<Value>, String> {
    if i < 0 {
        return Err(format!("negative {i} index not allowed"));
    }
    if i > MAX_INDEX {
        return Err(format!(
            "index of {i} is greater than maximum supported index of {MAX_INDEX}"
        ));
    }
    let i = i as usize;
    if list.len() <= i {
        list.resize(i + 1, Value::Nil);
    }
    list[i] = v;
    Ok(list)
}

/// `strvals.ParseInto` / `ParseIntoString`.
pub fn parse_set(s: &str, into: &Value, string_only: bool) -> Result<(), String> {
    let Some(data) = table(into) else {
        return Err("values are not a map".into());
    };
    let mut p = SetParser {
        chars: s.chars().collect(),
        pos: 0,
        string_only,
    };
    loop {
        match p.key(&data, 0) {
            Ok(true) => continue,
            Ok(false) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set_str(s: &str) -> String {
        let v = Value::empty_map();
        parse_set(s, &v, false).unwrap();
        crate::gofmt::sprint_v(&v)
    }

    #[test]
    fn parses_set_like_helm() {
        assert_eq!(set_str("a.b=c,d=1"), "map[a:map[b:c] d:1]");
        assert_eq!(set_str("a[0].b=x,a[1]=y"), "map[a:[map[b:x] y]]");
        assert_eq!(set_str("l={a,b,3}"), "map[l:[a b 3]]");
        assert_eq!(
            set_str("x=1.5,y=true,z=null,w=012"),
            "map[w:012 x:1.5 y:true z:<nil>]"
        );
        assert_eq!(set_str(r"a\.b=c"), "map[a.b:c]");
    }
}
