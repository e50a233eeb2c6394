//! Name references (Kustomize's `nameReferenceTransformer`, run once after every rename and
//! hash suffix is known) and the deprecated `vars`.

use serde_json::{Map, Value};

use crate::Error;
use crate::config::{Create, NameBackRef, apply_field_spec};
use crate::kustomization::Var;
use crate::model::{Gvk, ResId, Resource, scalar_text};

/// What selection needs to know about a possible referral.
struct Cand {
    prev: Vec<ResId>,
    cur: ResId,
    org: ResId,
    /// Effective namespaces (cluster scope looked up once).
    cur_ns: String,
    org_ns: String,
    cur_cluster: bool,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
}

impl Cand {
    fn of(r: &Resource) -> Cand {
        let (cur, org) = (r.cur_id(), r.org_id());
        Cand {
            prev: r.prev_ids.clone(),
            cur_ns: cur.effective_namespace().to_string(),
            org_ns: org.effective_namespace().to_string(),
            cur_cluster: cur.gvk.is_cluster_scoped(),
            cur,
            org,
            prefixes: r.prefixes.clone(),
            suffixes: r.suffixes.clone(),
        }
    }
}

/// `utils.SameEndingSubSlice`.
fn same_ending(a: &[String], b: &[String]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let diff = long.len() - short.len();
    if short.is_empty() {
        return diff == 0;
    }
    short.iter().enumerate().all(|(i, s)| &long[i + diff] == s)
}

fn affixes_equal(a: &Cand, b: &Cand, allow_empty: bool) -> bool {
    if allow_empty {
        let p =
            a.prefixes.is_empty() || b.prefixes.is_empty() || same_ending(&a.prefixes, &b.prefixes);
        let s =
            a.suffixes.is_empty() || b.suffixes.is_empty() || same_ending(&a.suffixes, &b.suffixes);
        p && s
    } else {
        same_ending(&a.prefixes, &b.prefixes) && same_ending(&a.suffixes, &b.suffixes)
    }
}

struct Ctx<'a> {
    referrer: &'a Cand,
    target: &'a Gvk,
    role_ref: Option<Gvk>,
    all: &'a [Cand],
    subset: &'a [usize],
}

impl Ctx<'_> {
    fn select(
        &self,
        old: &str,
        candidates: Vec<usize>,
        with_namespace: bool,
    ) -> Result<Option<usize>, String> {
        let all = self.all;
        let mut c: Vec<usize> = candidates
            .into_iter()
            .filter(|&i| all[i].prev.iter().any(|id| id.name == old))
            .filter(|&i| all[i].prev.iter().any(|id| id.gvk.is_selected(self.target)))
            .collect();
        if let Some(rr) = &self.role_ref {
            c.retain(|&i| all[i].prev.iter().any(|id| id.gvk.is_selected(rr)));
        }
        if !self.referrer.cur_cluster {
            c.retain(|&i| {
                all[i].cur_cluster
                    || all[i].cur.gvk.kind == "ServiceAccount"
                    || self.referrer.cur_ns == all[i].cur_ns
            });
        }
        if c.len() == 1 {
            return Ok(Some(c[0]));
        }
        c.retain(|&i| affixes_equal(&all[i], self.referrer, true));
        if c.len() == 1 {
            return Ok(Some(c[0]));
        }
        c.retain(|&i| affixes_equal(&all[i], self.referrer, false));
        if c.len() == 1 {
            return Ok(Some(c[0]));
        }
        let Some(&first) = c.first() else {
            return Ok(None);
        };
        let same = c.iter().all(|&i| {
            all[i].cur.name == all[first].cur.name
                && (!with_namespace || all[i].cur.namespace == all[first].cur.namespace)
        });
        if same {
            return Ok(Some(first));
        }
        let ids: Vec<String> = c.iter().map(|&i| all[i].cur.to_string()).collect();
        Err(format!(
            "found multiple possible referrals: [{}]",
            ids.join(" ")
        ))
    }

    fn set_scalar(&self, node: &mut Value) -> Result<(), String> {
        let Value::String(old) = node else {
            return Ok(());
        };
        if let Some(i) = self.select(old, self.subset.to_vec(), false)? {
            let name = &self.all[i].cur.name;
            if name != old {
                *old = name.clone();
            }
        }
        Ok(())
    }

    fn set_mapping(&self, m: &mut Map<String, Value>) -> Result<(), String> {
        let Some(name) = m.get("name") else {
            return Err("path config error; no 'name' field in node".into());
        };
        let old = scalar_text(name);
        let candidates: Vec<usize> = match m.get("namespace") {
            None => self.subset.to_vec(),
            Some(ns) => {
                let ns = scalar_text(ns);
                let by_org: Vec<usize> = self
                    .subset
                    .iter()
                    .copied()
                    .filter(|&i| self.all[i].org_ns == ns)
                    .collect();
                let any_org = self.subset.iter().any(|&i| self.all[i].org_ns == ns);
                if any_org {
                    by_org
                } else {
                    self.subset
                        .iter()
                        .copied()
                        .filter(|&i| self.all[i].cur_ns == ns)
                        .collect()
                }
            }
        };
        let Some(i) = self.select(&old, candidates, true)? else {
            return Ok(());
        };
        let cur = &self.all[i].cur;
        if cur.name == old && cur.namespace.is_empty() {
            return Ok(());
        }
        m.insert("name".into(), Value::String(cur.name.clone()));
        if !cur.namespace.is_empty() {
            m.insert("namespace".into(), Value::String(cur.namespace.clone()));
        }
        Ok(())
    }

    fn set(&self, node: &mut Value) -> Result<(), String> {
        match node {
            Value::Null => Ok(()),
            Value::Object(m) => self.set_mapping(m),
            Value::Array(items) => {
                for item in items {
                    match item {
                        Value::Object(m) => self.set_mapping(m)?,
                        other => self.set_scalar(other)?,
                    }
                }
                Ok(())
            }
            other => self.set_scalar(other),
        }
    }
}

/// `SubsetThatCouldBeReferencedByResource`.
fn subset_for(all: &[Cand], referrer: &Resource, me: &Cand) -> Vec<usize> {
    if me.cur_cluster {
        return (0..all.len()).collect();
    }
    let mut rb_namespaces: Vec<String> = Vec::new();
    if referrer.kind() == "RoleBinding"
        && let Some(Value::Array(subjects)) = referrer.obj.get("subjects")
    {
        for s in subjects {
            if s.get("kind").and_then(Value::as_str) == Some("ServiceAccount")
                && let Some(ns) = s.get("namespace").and_then(Value::as_str)
            {
                rb_namespaces.push(ns.to_string());
            }
        }
    }
    (0..all.len())
        .filter(|&i| {
            all[i].cur_cluster
                || all[i].cur_ns == me.cur_ns
                || rb_namespaces.iter().any(|n| n == &all[i].cur.namespace)
        })
        .collect()
}

fn role_ref_gvk(r: &Resource) -> Option<Gvk> {
    let rr = r.obj.get("roleRef")?;
    let group = rr.get("apiGroup")?.as_str()?.to_string();
    let kind = rr.get("kind")?.as_str()?.to_string();
    Some(Gvk {
        group,
        version: String::new(),
        kind,
    })
}

/// Updates every name reference to a renamed resource.
pub fn fix_back_references(
    resources: &mut [Resource],
    backrefs: &[NameBackRef],
) -> Result<(), Error> {
    let all: Vec<Cand> = resources.iter().map(Cand::of).collect();
    for i in 0..resources.len() {
        let org_gvk = all[i].org.gvk.clone();
        let mut subset: Option<Vec<usize>> = None;
        for b in backrefs {
            for fs in &b.field_specs {
                if !org_gvk.is_selected(&fs.gvk) {
                    continue;
                }
                let subset = subset.get_or_insert_with(|| subset_for(&all, &resources[i], &all[i]));
                let role_ref = if fs.path.ends_with("roleRef/name") {
                    role_ref_gvk(&resources[i])
                } else {
                    None
                };
                let ctx = Ctx {
                    referrer: &all[i],
                    target: &b.gvk,
                    role_ref,
                    all: &all,
                    subset,
                };
                let r = &mut resources[i];
                let mut obj = Value::Object(std::mem::take(&mut r.obj));
                let res = apply_field_spec(&mut obj, &fs.clone_no_create(), Create::No, &mut |n| {
                    ctx.set(n)
                });
                if let Value::Object(m) = obj {
                    r.obj = m;
                }
                res.map_err(|e| {
                    Error::msg(format!(
                        "updating name reference in {} field {}: {e}",
                        all[i].cur, fs.path
                    ))
                })?;
            }
        }
    }
    Ok(())
}

impl crate::config::FieldSpec {
    fn clone_no_create(&self) -> crate::config::FieldSpec {
        crate::config::FieldSpec {
            gvk: self.gvk.clone(),
            path: self.path.clone(),
            create: false,
        }
    }
}

// ---------------------------------------------------------------- vars

fn var_id(v: &Var) -> ResId {
    let mut gvk = if v.objref.api_version.is_empty() {
        Gvk {
            group: v.objref.group.clone(),
            version: v.objref.version.clone(),
            kind: String::new(),
        }
    } else {
        Gvk::from_api_version(&v.objref.api_version, "")
    };
    gvk.kind = v.objref.kind.clone();
    ResId {
        gvk,
        name: v.objref.name.clone(),
        namespace: v.objref.namespace.clone(),
    }
}

fn var_matches(target: &ResId, id: &ResId) -> bool {
    let gvk_ok = id.gvk.is_selected(&target.gvk);
    let name_ok = id.name == target.name;
    if !target.namespace.is_empty() || target.gvk.is_cluster_scoped() {
        gvk_ok && name_ok && id.is_ns_equal(target)
    } else {
        gvk_ok && name_ok
    }
}

/// Checks a level's vars against its resources (`ResAccumulator.MergeVars`).
pub fn check_vars(resources: &[Resource], vars: &[Var]) -> Result<(), Error> {
    for v in vars {
        let id = var_id(v);
        let n = resources
            .iter()
            .filter(|r| r.all_ids().iter().any(|x| var_matches(&id, x)))
            .count();
        if n > 1 {
            return Err(Error::msg(format!(
                "found {n} resId matches for var {} (unable to disambiguate)",
                v.name
            )));
        }
    }
    Ok(())
}

/// Replaces `$(NAME)` in the `varReference` fields. Returns the names of vars never used.
pub fn resolve_vars(
    resources: &mut [Resource],
    vars: &[Var],
    specs: &[crate::config::FieldSpec],
) -> Result<Vec<String>, Error> {
    if vars.is_empty() {
        return Ok(Vec::new());
    }
    let mut values: Vec<(String, Value)> = Vec::new();
    for v in vars {
        let id = var_id(v);
        let matched: Vec<&Resource> = resources
            .iter()
            .filter(|r| r.all_ids().iter().any(|x| var_matches(&id, x)))
            .collect();
        if matched.len() > 1 {
            return Err(Error::msg(format!(
                "found {} resId matches for var {} (unable to disambiguate)",
                matched.len(),
                v.name
            )));
        }
        let Some(r) = matched.first() else {
            return Err(Error::msg(format!(
                "var '{}' cannot be mapped to a field in the set of known resources",
                v.name
            )));
        };
        let fp = if v.fieldref.field_path.is_empty() {
            "metadata.name"
        } else {
            &v.fieldref.field_path
        };
        let obj = Value::Object(r.obj.clone());
        let path = crate::transform::split_field_path(fp);
        let Some(val) = crate::transform::lookup(&obj, &path) else {
            return Err(Error::msg(format!(
                "field specified in var '{}' not found in corresponding resource",
                v.name
            )));
        };
        values.push((v.name.clone(), val.clone()));
    }
    let mut used = vec![false; values.len()];
    for r in resources.iter_mut() {
        let gvk = r.gvk();
        let mut obj = Value::Object(std::mem::take(&mut r.obj));
        let mut result = Ok(());
        for fs in specs {
            if !gvk.is_selected(&fs.gvk) {
                continue;
            }
            let mut set = |node: &mut Value| -> Result<(), String> {
                match node {
                    Value::String(_) => expand_node(node, &values, &mut used),
                    Value::Object(m) => {
                        for v in m.values_mut() {
                            if v.is_string() {
                                expand_node(v, &values, &mut used);
                            }
                        }
                    }
                    Value::Array(items) => {
                        for v in items.iter_mut() {
                            if !v.is_string() {
                                return Err("invalid value type expect a string".into());
                            }
                            expand_node(v, &values, &mut used);
                        }
                    }
                    _ => {}
                }
                Ok(())
            };
            if let Err(e) = apply_field_spec(&mut obj, fs, Create::No, &mut set) {
                result = Err(e);
                break;
            }
        }
        if let Value::Object(m) = obj {
            r.obj = m;
        }
        result.map_err(Error::msg)?;
    }
    Ok(values
        .iter()
        .zip(used)
        .filter(|(_, u)| !u)
        .map(|((n, _), _)| n.clone())
        .collect())
}

fn expand_node(node: &mut Value, values: &[(String, Value)], used: &mut [bool]) {
    let Value::String(s) = node else { return };
    if let Some(name) = s.strip_prefix("$(").and_then(|r| r.strip_suffix(')'))
        && !name.contains(')')
        && let Some(i) = values.iter().position(|(n, _)| n == name)
    {
        used[i] = true;
        *node = values[i].1.clone();
        return;
    }
    *s = expand(s, values, used);
}

/// Kubernetes' `$(VAR)` expansion: `$$` is a literal `$`, unknown variables stay as written.
fn expand(input: &str, values: &[(String, Value)], used: &mut [bool]) -> String {
    let b = input.as_bytes();
    let mut out = String::new();
    let mut checkpoint = 0;
    let mut cursor = 0;
    while cursor < b.len() {
        if b[cursor] == b'$' && cursor + 1 < b.len() {
            out.push_str(&input[checkpoint..cursor]);
            let rest = &input[cursor + 1..];
            let advance;
            match rest.as_bytes()[0] {
                b'$' => {
                    out.push('$');
                    advance = 1;
                }
                b'(' => match rest.find(')') {
                    Some(close) => {
                        let name = &rest[1..close];
                        match values.iter().position(|(n, _)| n == name) {
                            Some(i) => {
                                used[i] = true;
                                out.push_str(&scalar_text(&values[i].1));
                            }
                            None => out.push_str(&format!("$({name})")),
                        }
                        advance = close + 1;
                    }
                    None => {
                        out.push_str("$(");
                        advance = 1;
                    }
                },
                _ => {
                    let c = rest.chars().next().unwrap_or(' ');
                    out.push('$');
                    out.push(c);
                    advance = c.len_utf8();
                }
            }
            cursor += advance;
            checkpoint = cursor + 1;
        }
        cursor += 1;
    }
    if checkpoint < input.len() {
        out.push_str(&input[checkpoint..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn expands_vars() {
        let vals = vec![("A".to_string(), json!("x")), ("N".to_string(), json!(3))];
        let mut used = vec![false; 2];
        assert_eq!(
            expand("a-$(A)-$(B)-$$(A)", &vals, &mut used),
            "a-x-$(B)-$(A)"
        );
        let mut v = json!("$(N)");
        expand_node(&mut v, &vals, &mut used);
        assert_eq!(v, json!(3));
    }

    #[test]
    fn same_ending_sub_slices() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(same_ending(&s(&["a", "b", "c"]), &s(&["b", "c"])));
        assert!(!same_ending(&s(&["a", "b", "c"]), &s(&["a", "b"])));
        assert!(!same_ending(&s(&[]), &s(&["a"])));
    }
}
