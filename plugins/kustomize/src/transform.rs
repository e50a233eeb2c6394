//! The built-in transformers, in the order a kustomization runs them: patchesStrategicMerge,
//! patches, namespace, namePrefix, nameSuffix, labels/commonLabels, commonAnnotations,
//! patchesJson6902, replicas, images, replacements. Each follows the Kustomize v5.7.1 plugin of
//! the same name.

use regex::Regex;
use serde_json::{Map, Value};

use crate::Error;
use crate::config::{Create, FieldSpec, apply_field_spec};
use crate::kustomization::{Image, Replica, Selector};
use crate::model::{Gvk, ResId, Resource, scalar_text};

type Res = Result<(), Error>;

fn fs_err(r: &Resource, e: String) -> Error {
    Error::msg(format!("{e} (in {})", r.cur_id()))
}

/// Applies `set` at every field spec selecting the resource's current GVK.
fn apply_specs(
    r: &mut Resource,
    specs: &[FieldSpec],
    create: Create,
    set: &mut dyn FnMut(&mut Value) -> Result<(), String>,
) -> Res {
    let gvk = r.gvk();
    let mut obj = Value::Object(std::mem::take(&mut r.obj));
    let mut result = Ok(());
    for fs in specs {
        if !gvk.is_selected(&fs.gvk) {
            continue;
        }
        if let Err(e) = apply_field_spec(&mut obj, fs, create, set) {
            result = Err(e);
            break;
        }
    }
    if let Value::Object(m) = obj {
        r.obj = m;
    }
    result.map_err(|e| fs_err(r, e))
}

// ---------------------------------------------------------------- namespace

/// `NamespaceTransformer`: sets `metadata.namespace` on namespaced resources, renames Namespace
/// objects, and moves ServiceAccount subjects named `default` of (Cluster)RoleBindings.
pub fn namespace(resources: &mut [Resource], ns: &str, specs: &[FieldSpec]) -> Res {
    if ns.is_empty() {
        return Ok(());
    }
    for r in resources.iter_mut() {
        if r.is_empty() {
            continue;
        }
        r.store_previous_id();
        let gvk = r.gvk();
        if !gvk.is_cluster_scoped() {
            r.set_namespace(ns);
        }
        if (gvk.kind == "RoleBinding" || gvk.kind == "ClusterRoleBinding")
            && let Some(Value::Array(subjects)) = r.obj.get_mut("subjects")
        {
            for s in subjects.iter_mut() {
                let Value::Object(m) = s else { continue };
                let is_sa = m.get("kind").and_then(Value::as_str) == Some("ServiceAccount");
                let is_default = m.get("name").and_then(Value::as_str) == Some("default");
                if is_sa && is_default {
                    m.insert("namespace".into(), Value::String(ns.into()));
                }
            }
        }
        let value = ns.to_string();
        apply_specs(r, specs, Create::Scalar, &mut |node| {
            if node.is_object() || node.is_array() {
                return Err("namespace field specs must target scalar nodes".into());
            }
            *node = Value::String(value.clone());
            Ok(())
        })?;
    }
    // Kustomize checks after each resource; a clash seen midway remains at the end (every
    // namespaced resource ends in the same namespace), so one check at the end is the same.
    let mut seen = std::collections::HashSet::new();
    for r in resources.iter() {
        let id = r.cur_id();
        let key = (
            id.gvk.clone(),
            id.name.clone(),
            id.effective_namespace().to_string(),
        );
        if !seen.insert(key) {
            return Err(Error::msg(format!(
                "namespace transformation produces ID conflict: {id}"
            )));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- prefix / suffix

fn skips_rename(id: &ResId) -> bool {
    let k = id.gvk.kind.as_str();
    k == "CustomResourceDefinition"
        || k == "Namespace"
        || (k == "APIService" && id.gvk.group == "apiregistration.k8s.io")
}

/// `PrefixTransformer` / `SuffixTransformer`.
pub fn prefix_suffix(
    resources: &mut [Resource],
    affix: &str,
    is_prefix: bool,
    specs: &[FieldSpec],
) -> Res {
    if affix.is_empty() {
        return Ok(());
    }
    for r in resources.iter_mut() {
        let org = r.org_id();
        if skips_rename(&org) {
            continue;
        }
        for fs in specs {
            if !org.gvk.is_selected(&fs.gvk) {
                continue;
            }
            if fs.path == "metadata/name" {
                if is_prefix {
                    r.prefixes.push(affix.to_string());
                } else {
                    r.suffixes.push(affix.to_string());
                }
                r.store_previous_id();
            }
            let a = affix.to_string();
            apply_specs(r, std::slice::from_ref(fs), Create::No, &mut |node| {
                if let Value::String(s) = node {
                    *s = if is_prefix {
                        format!("{a}{s}")
                    } else {
                        format!("{s}{a}")
                    };
                } else if !node.is_null() {
                    let s = scalar_text(node);
                    *node = Value::String(if is_prefix {
                        format!("{a}{s}")
                    } else {
                        format!("{s}{a}")
                    });
                }
                Ok(())
            })?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- labels / annotations

/// `LabelTransformer` / `AnnotationsTransformer`: sets each pair (in key order) at every field spec.
pub fn set_map_entries(
    resources: &mut [Resource],
    pairs: &[(String, String)],
    specs: &[FieldSpec],
) -> Res {
    if pairs.is_empty() {
        return Ok(());
    }
    for r in resources.iter_mut() {
        apply_specs(r, specs, Create::Map, &mut |node| {
            if node.is_null() {
                *node = Value::Object(Map::new());
            }
            let Value::Object(m) = node else {
                return Err("wrong node kind: expected MappingNode".into());
            };
            for (k, v) in pairs {
                m.insert(k.clone(), Value::String(v.clone()));
            }
            Ok(())
        })?;
    }
    Ok(())
}

// ---------------------------------------------------------------- images

/// `image.IsImageMatched`: the image reference is `name`, optionally followed by a `:tag` and
/// an `@sha256:` digest. Kustomize builds a regular expression from the name, so a `.` in it matches any
/// character; that is kept.
fn image_matches(value: &str, name: &str) -> bool {
    let mut pattern = String::from("^");
    for c in name.chars() {
        if c == '.' {
            pattern.push('.');
        } else {
            pattern.push_str(&regex::escape(&c.to_string()));
        }
    }
    pattern.push_str("(:[a-zA-Z0-9_.{}-]*)?(@sha256:[a-zA-Z0-9_.{}-]*)?$");
    Regex::new(&pattern).is_ok_and(|re| re.is_match(value))
}

/// `image.Split`: name, tag and digest of an image reference.
fn split_image(image: &str) -> (String, String, String) {
    let (search, offset) = match image.find('/') {
        Some(i) if i > 0 => (&image[i..], i),
        _ => (image, 0),
    };
    let id = search.find('@');
    let ic = search.find(':');
    match (ic, id) {
        (None, None) => (image.to_string(), String::new(), String::new()),
        (ic, Some(d)) if ic.is_none_or(|c| d < c) => {
            let d = d + offset;
            (
                image[..d].to_string(),
                String::new(),
                image[d + 1..].to_string(),
            )
        }
        (Some(c), Some(d)) => {
            let (c, d) = (c + offset, d + offset);
            (
                image[..c].to_string(),
                image[c + 1..d].to_string(),
                image[d + 1..].to_string(),
            )
        }
        (Some(c), None) => {
            let c = c + offset;
            (
                image[..c].to_string(),
                image[c + 1..].to_string(),
                String::new(),
            )
        }
        (None, Some(_)) => (image.to_string(), String::new(), String::new()),
    }
}

fn update_image(node: &mut Value, img: &Image) -> Result<(), String> {
    let Value::String(value) = node else {
        if node.is_null() {
            return Ok(());
        }
        return Err("wrong node kind: expected ScalarNode".into());
    };
    if !image_matches(value, &img.name) {
        return Ok(());
    }
    let (mut name, mut tag, mut digest) = split_image(value);
    if !img.new_name.is_empty() {
        name = img.new_name.clone();
    }
    if !img.new_tag.is_empty() && !img.digest.is_empty() {
        tag = img.new_tag.clone();
        digest = img.digest.clone();
    } else if !img.new_tag.is_empty() {
        tag = img.new_tag.clone();
        digest.clear();
    } else if !img.digest.is_empty() {
        tag.clear();
        digest = img.digest.clone();
    }
    if !img.tag_suffix.is_empty() {
        tag.push_str(&img.tag_suffix);
    }
    let mut out = name;
    if !tag.is_empty() {
        out.push(':');
        out.push_str(&tag);
    }
    if !digest.is_empty() {
        out.push('@');
        out.push_str(&digest);
    }
    *value = out;
    Ok(())
}

/// Every `containers`/`initContainers` list anywhere in the object (the legacy image filter).
fn legacy_images(node: &mut Value, img: &Image) -> Result<(), String> {
    match node {
        Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                legacy_images(v, img)?;
                if (k == "containers" || k == "initContainers")
                    && let Value::Array(items) = v
                {
                    for item in items {
                        if let Some(image) = item.as_object_mut().and_then(|c| c.get_mut("image")) {
                            update_image(image, img)?;
                        }
                    }
                }
            }
            Ok(())
        }
        Value::Array(items) => {
            for item in items {
                legacy_images(item, img)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// `ImageTagTransformer`, one per `images:` entry.
pub fn images(resources: &mut [Resource], list: &[Image], specs: &[FieldSpec]) -> Res {
    for img in list {
        for r in resources.iter_mut() {
            if r.kind() == "CustomResourceDefinition" {
                continue;
            }
            let mut obj = Value::Object(std::mem::take(&mut r.obj));
            let res = legacy_images(&mut obj, img);
            if let Value::Object(m) = obj {
                r.obj = m;
            }
            res.map_err(|e| fs_err(r, e))?;
            apply_specs(r, specs, Create::No, &mut |node| update_image(node, img))?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- replicas

/// `ReplicaCountTransformer`, one per `replicas:` entry; a name matching nothing is an error.
pub fn replicas(resources: &mut [Resource], list: &[Replica], specs: &[FieldSpec]) -> Res {
    for rep in list {
        let mut found = false;
        for fs in specs {
            for r in resources.iter_mut() {
                let hit = r
                    .all_ids()
                    .iter()
                    .any(|id| id.name == rep.name && id.gvk.is_selected(&fs.gvk));
                if !hit {
                    continue;
                }
                found = true;
                let count = rep.count;
                apply_specs(r, std::slice::from_ref(fs), Create::Scalar, &mut |node| {
                    *node = Value::from(count);
                    Ok(())
                })?;
            }
        }
        if !found {
            let gvks: Vec<String> = specs
                .iter()
                .map(|f| f.gvk.sort_string().replace('_', "."))
                .collect();
            return Err(Error::msg(format!(
                "resource with name {} does not match a config with the following GVK [{}]",
                rep.name,
                gvks.join(" ")
            )));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- selection

/// A compiled `Selector` (`types.SelectorRegex` plus label/annotation selectors).
pub struct SelectorMatcher {
    group: Option<Regex>,
    version: Option<Regex>,
    kind: Option<Regex>,
    name: Option<Regex>,
    namespace: Option<Regex>,
    labels: Vec<Requirement>,
    annotations: Vec<Requirement>,
}

fn anchored(s: &str) -> Result<Option<Regex>, Error> {
    if s.is_empty() {
        return Ok(None);
    }
    Regex::new(&format!("^(?:{s})$"))
        .map(Some)
        .map_err(|e| Error::msg(format!("invalid regular expression {s:?} in selector: {e}")))
}

impl SelectorMatcher {
    pub fn new(s: &Selector) -> Result<Self, Error> {
        Ok(SelectorMatcher {
            group: anchored(&s.group)?,
            version: anchored(&s.version)?,
            kind: anchored(&s.kind)?,
            name: anchored(&s.name)?,
            namespace: anchored(&s.namespace)?,
            labels: parse_label_selector(&s.label_selector)?,
            annotations: parse_label_selector(&s.annotation_selector)?,
        })
    }

    fn is(re: &Option<Regex>, s: &str) -> bool {
        re.as_ref().is_none_or(|r| r.is_match(s))
    }

    /// `resWrangler.Select`: original or current namespace and name, current GVK, labels,
    /// annotations.
    pub fn matches(&self, r: &Resource) -> bool {
        let (org, cur) = (r.org_id(), r.cur_id());
        if !Self::is(&self.namespace, org.effective_namespace())
            && !Self::is(&self.namespace, cur.effective_namespace())
        {
            return false;
        }
        if !Self::is(&self.name, &org.name) && !Self::is(&self.name, &cur.name) {
            return false;
        }
        let gvk = r.gvk();
        if !Self::is(&self.group, &gvk.group)
            || !Self::is(&self.version, &gvk.version)
            || !Self::is(&self.kind, &gvk.kind)
        {
            return false;
        }
        requirements_match(&self.labels, &r.labels())
            && requirements_match(&self.annotations, &r.annotations())
    }
}

/// One requirement of a Kubernetes label selector.
#[derive(Debug, Clone)]
enum Requirement {
    Eq(String, String),
    NotEq(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

fn requirements_match(reqs: &[Requirement], labels: &[(String, String)]) -> bool {
    let get = |k: &str| {
        labels
            .iter()
            .find(|(lk, _)| lk == k)
            .map(|(_, v)| v.as_str())
    };
    reqs.iter().all(|r| match r {
        Requirement::Eq(k, v) => get(k) == Some(v.as_str()),
        Requirement::NotEq(k, v) => get(k) != Some(v.as_str()),
        Requirement::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
        Requirement::NotIn(k, vs) => get(k).is_none_or(|x| !vs.iter().any(|v| v == x)),
        Requirement::Exists(k) => get(k).is_some(),
        Requirement::NotExists(k) => get(k).is_none(),
    })
}

/// Parses `a=b,c!=d,e in (f,g),!h,i`.
fn parse_label_selector(s: &str) -> Result<Vec<Requirement>, Error> {
    let mut out = Vec::new();
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '(' => {
                depth += 1;
                cur.push(c);
            }
            ')' => {
                depth -= 1;
                cur.push(c);
            }
            ',' if depth == 0 => parts.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    parts.push(cur);
    for p in parts {
        let p = p.trim();
        if p.is_empty() {
            continue;
        }
        let set = |rest: &str| -> Result<Vec<String>, Error> {
            let inner = rest
                .trim()
                .strip_prefix('(')
                .and_then(|r| r.strip_suffix(')'));
            let inner =
                inner.ok_or_else(|| Error::msg(format!("unable to parse requirement: {p:?}")))?;
            Ok(inner.split(',').map(|x| x.trim().to_string()).collect())
        };
        if let Some(k) = p.strip_prefix('!') {
            out.push(Requirement::NotExists(k.trim().to_string()));
        } else if let Some((k, v)) = p.split_once("!=") {
            out.push(Requirement::NotEq(k.trim().into(), v.trim().into()));
        } else if let Some((k, v)) = p.split_once("==") {
            out.push(Requirement::Eq(k.trim().into(), v.trim().into()));
        } else if let Some((k, v)) = p.split_once('=') {
            out.push(Requirement::Eq(k.trim().into(), v.trim().into()));
        } else if let Some((k, rest)) = p.split_once(" notin ") {
            out.push(Requirement::NotIn(k.trim().into(), set(rest)?));
        } else if let Some((k, rest)) = p.split_once(" in ") {
            out.push(Requirement::In(k.trim().into(), set(rest)?));
        } else {
            out.push(Requirement::Exists(p.to_string()));
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------- replacements & field paths

/// Splits a dotted field path, keeping `[...]` segments whole (`SmarterPathSplitter`).
pub fn split_field_path(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    for c in path.chars() {
        match c {
            '[' => {
                depth += 1;
                cur.push(c);
            }
            ']' => {
                depth -= 1;
                cur.push(c);
            }
            '.' if depth == 0 => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    // `ports[0]` (the vars form) is the field `ports` then element 0.
    let mut expanded = Vec::with_capacity(out.len());
    // Empty segments (a leading `.`, as kubebuilder writes `.metadata.name`) are ignored.
    for part in out.into_iter().filter(|p| !p.is_empty()) {
        if !part.starts_with('[')
            && let Some(open) = part.find('[')
            && part.ends_with(']')
            && part[open + 1..part.len() - 1].parse::<usize>().is_ok()
        {
            expanded.push(part[..open].to_string());
            expanded.push(part[open + 1..part.len() - 1].to_string());
            continue;
        }
        expanded.push(part);
    }
    expanded
}

enum Seg<'a> {
    Field(&'a str),
    Match(&'a str, &'a str),
    Index(usize),
    Wildcard,
}

fn seg(s: &str) -> Seg<'_> {
    if s == "*" {
        return Seg::Wildcard;
    }
    if let Some(inner) = s.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
        return match inner.split_once('=') {
            Some((k, v)) => Seg::Match(k, v),
            None => Seg::Field(inner),
        };
    }
    if let Ok(i) = s.parse::<usize>() {
        return Seg::Index(i);
    }
    Seg::Field(s)
}

/// The value at a field path (`yaml.Lookup`), first match.
pub fn lookup<'a>(node: &'a Value, path: &[String]) -> Option<&'a Value> {
    let Some((head, rest)) = path.split_first() else {
        return Some(node);
    };
    match (seg(head), node) {
        (Seg::Field(f), Value::Object(m)) => lookup(m.get(f)?, rest),
        (Seg::Match(k, v), Value::Array(items)) => {
            let item = items.iter().find(|i| elem_matches(i, k, v))?;
            lookup(item, rest)
        }
        (Seg::Index(i), Value::Array(items)) => lookup(items.get(i)?, rest),
        (Seg::Field(f), Value::Array(items)) if f.parse::<usize>().is_ok() => {
            lookup(items.get(f.parse::<usize>().ok()?)?, rest)
        }
        (Seg::Wildcard, Value::Array(items)) => items.iter().find_map(|i| lookup(i, rest)),
        _ => None,
    }
}

fn elem_matches(item: &Value, k: &str, v: &str) -> bool {
    if k.is_empty() {
        return !item.is_object() && !item.is_array() && scalar_text(item) == v;
    }
    item.get(k).is_some_and(|x| scalar_text(x) == v)
}

/// Every node at a field path (`yaml.PathMatcher`), creating missing fields when `create`.
fn path_targets<'a>(
    node: &'a mut Value,
    path: &[String],
    create: Option<&Value>,
    out: &mut Vec<&'a mut Value>,
) {
    let Some((head, rest)) = path.split_first() else {
        out.push(node);
        return;
    };
    match seg(head) {
        Seg::Field(f) => {
            if node.is_null() && create.is_some() {
                *node = Value::Object(Map::new());
            }
            if let Value::Object(m) = node {
                if !m.contains_key(f) {
                    let Some(proto) = create else { return };
                    let fresh = if rest.is_empty() {
                        match proto {
                            Value::Object(_) => Value::Object(Map::new()),
                            Value::Array(_) => Value::Array(Vec::new()),
                            _ => Value::Null,
                        }
                    } else if matches!(seg(&rest[0]), Seg::Match(..) | Seg::Index(_)) {
                        Value::Array(Vec::new())
                    } else {
                        Value::Object(Map::new())
                    };
                    m.insert(f.to_string(), fresh);
                }
                if let Some(v) = m.get_mut(f) {
                    path_targets(v, rest, create, out);
                }
            }
        }
        Seg::Match(k, v) => {
            if let Value::Array(items) = node {
                let any = items.iter().any(|i| elem_matches(i, k, v));
                if !any && create.is_some() && !k.is_empty() {
                    let mut m = Map::new();
                    m.insert(k.to_string(), Value::String(v.to_string()));
                    items.push(Value::Object(m));
                }
                for item in items.iter_mut().filter(|i| elem_matches(i, k, v)) {
                    path_targets(item, rest, create, out);
                }
            }
        }
        Seg::Index(i) => {
            if let Value::Array(items) = node
                && let Some(item) = items.get_mut(i)
            {
                path_targets(item, rest, create, out);
            }
        }
        Seg::Wildcard => {
            if let Value::Array(items) = node {
                for item in items.iter_mut() {
                    path_targets(item, rest, create, out);
                }
            }
        }
    }
}

/// Sets one replacement target field.
fn set_target(
    target: &mut Value,
    value: &Value,
    delimiter: &str,
    index: i64,
) -> Result<(), String> {
    let mut value = value.clone();
    if !delimiter.is_empty() {
        if target.is_object() || target.is_array() {
            return Err("delimiter option can only be used with scalar nodes".into());
        }
        let cur = scalar_text(target);
        let mut parts: Vec<String> = cur.split(delimiter).map(str::to_string).collect();
        let v = scalar_text(&value);
        if index < 0 {
            parts.insert(0, v);
        } else if index as usize >= parts.len() {
            parts.push(v);
        } else {
            parts[index as usize] = v;
        }
        value = Value::String(parts.join(delimiter));
    }
    let value_is_scalar = !value.is_object() && !value.is_array();
    match target {
        Value::String(s) if value_is_scalar => *s = scalar_text(&value),
        Value::Object(_) | Value::Array(_) => *target = value,
        _ if value_is_scalar => {
            *target = crate::yaml::resolve_plain(&scalar_text(&value), 0)
                .unwrap_or(Value::String(scalar_text(&value)));
        }
        _ => *target = value,
    }
    Ok(())
}

fn ids_selected_by(r: &Resource, sel: &Selector) -> bool {
    let want = ResId {
        gvk: sel.gvk(),
        name: sel.name.clone(),
        namespace: sel.namespace.clone(),
    };
    r.all_ids().iter().any(|id| id.is_selected_by(&want))
}

/// `ReplacementTransformer`.
pub fn replacements(resources: &mut [Resource], list: &[crate::kustomization::Replacement]) -> Res {
    for rep in list {
        let Some(src) = &rep.source else {
            return Err(Error::msg(
                "replacements must specify a source and at least one target",
            ));
        };
        let want = ResId {
            gvk: src.gvk(),
            name: src.name.clone(),
            namespace: src.namespace.clone(),
        };
        let mut matches = resources
            .iter()
            .filter(|r| r.all_ids().iter().any(|id| id.is_selected_by(&want)));
        let Some(source) = matches.next() else {
            return Err(Error::msg(format!(
                "nothing selected by {}",
                describe_source(src)
            )));
        };
        if matches.next().is_some() {
            return Err(Error::msg(format!(
                "multiple matches for selector {}",
                describe_source(src)
            )));
        }
        let fp = if src.field_path.is_empty() {
            "metadata.name"
        } else {
            &src.field_path
        };
        let path = split_field_path(fp);
        let obj = Value::Object(source.obj.clone());
        let value = match lookup(&obj, &path) {
            Some(v) if !v.is_null() && v != &Value::String(String::new()) => v.clone(),
            _ => {
                return Err(Error::msg(format!(
                    "fieldPath `{fp}` is missing for replacement source {}",
                    source.cur_id()
                )));
            }
        };
        let value = match &src.options {
            Some(o) if !o.delimiter.is_empty() => {
                if value.is_object() || value.is_array() {
                    return Err(Error::msg(
                        "delimiter option can only be used with scalar nodes",
                    ));
                }
                let text = scalar_text(&value);
                let parts: Vec<&str> = text.split(o.delimiter.as_str()).collect();
                if o.index < 0 || o.index as usize >= parts.len() {
                    return Err(Error::msg(format!(
                        "options.index {} is out of bounds for value {text}",
                        o.index
                    )));
                }
                Value::String(parts[o.index as usize].to_string())
            }
            _ => value,
        };
        for t in &rep.targets {
            let Some(select) = &t.select else {
                return Err(Error::msg("target must specify resources to select"));
            };
            let label_sel = parse_label_selector(&select.label_selector)?;
            let anno_sel = parse_label_selector(&select.annotation_selector)?;
            let field_paths: Vec<String> = if t.field_paths.is_empty() {
                vec!["metadata.name".into()]
            } else {
                t.field_paths.clone()
            };
            let create = t.options.as_ref().is_some_and(|o| o.create);
            let (delim, index) = t
                .options
                .as_ref()
                .map(|o| (o.delimiter.clone(), o.index))
                .unwrap_or_default();
            for r in resources.iter_mut() {
                if !requirements_match(&label_sel, &r.labels())
                    || !requirements_match(&anno_sel, &r.annotations())
                {
                    continue;
                }
                if !ids_selected_by(r, select) || t.reject.iter().any(|rej| rejected(r, rej)) {
                    continue;
                }
                let mut obj = Value::Object(std::mem::take(&mut r.obj));
                let mut result = Ok(());
                for fp in &field_paths {
                    let path = split_field_path(fp);
                    let mut found = Vec::new();
                    path_targets(
                        &mut obj,
                        &path,
                        if create { Some(&value) } else { None },
                        &mut found,
                    );
                    if found.is_empty() {
                        let what = if create {
                            "unable to find or create field"
                        } else {
                            "unable to find field"
                        };
                        result = Err(format!("{what} {fp:?} in replacement target"));
                        break;
                    }
                    for f in found {
                        if let Err(e) = set_target(f, &value, &delim, index) {
                            result = Err(e);
                        }
                    }
                }
                if let Value::Object(m) = obj {
                    r.obj = m;
                }
                result.map_err(|e| fs_err(r, e))?;
            }
        }
    }
    Ok(())
}

fn rejected(r: &Resource, rej: &Selector) -> bool {
    let want = ResId {
        gvk: rej.gvk(),
        name: rej.name.clone(),
        namespace: rej.namespace.clone(),
    };
    let label_ok = parse_label_selector(&rej.label_selector)
        .is_ok_and(|l| requirements_match(&l, &r.labels()));
    let anno_ok = parse_label_selector(&rej.annotation_selector)
        .is_ok_and(|a| requirements_match(&a, &r.annotations()));
    let any_id = want.name.is_empty() && want.namespace.is_empty() && want.gvk == Gvk::default();
    let id_ok = r.all_ids().iter().any(|id| id.is_selected_by(&want));
    if any_id && rej.label_selector.is_empty() && rej.annotation_selector.is_empty() {
        return false;
    }
    id_ok && label_ok && anno_ok
}

fn describe_source(s: &crate::kustomization::SourceSelector) -> String {
    let id = ResId {
        gvk: s.gvk(),
        name: s.name.clone(),
        namespace: s.namespace.clone(),
    };
    id.to_string()
}

// ---------------------------------------------------------------- patches

/// Strategic-merge `patch` into the selected resources (`resWrangler.ApplySmPatch`); resources
/// the patch deletes are dropped.
pub fn apply_sm_patch(
    resources: &mut Vec<Resource>,
    selected: &[usize],
    patch: &Map<String, Value>,
    allow_name_change: bool,
    allow_kind_change: bool,
) -> Res {
    let mut keep = vec![true; resources.len()];
    for &i in selected {
        let r = &mut resources[i];
        let (name, ns, kind) = (
            r.name().to_string(),
            r.namespace().to_string(),
            r.kind().to_string(),
        );
        if allow_name_change || allow_kind_change {
            r.store_previous_id();
        }
        let mut p = patch.clone();
        p.insert(
            "apiVersion".into(),
            Value::String(r.str_field("apiVersion").to_string()),
        );
        let target = Value::Object(std::mem::take(&mut r.obj));
        let merged = crate::merge::merge_resource(&target, &Value::Object(p)).map_err(|e| {
            Error::msg(format!(
                "applying strategic merge patch to {}: {e}",
                r_id(&target)
            ))
        })?;
        match merged {
            Some(Value::Object(m)) if !m.is_empty() => {
                r.obj = m;
                if !allow_kind_change {
                    r.obj.insert("kind".into(), Value::String(kind));
                }
                if !allow_name_change {
                    r.set_name(&name);
                }
                r.set_namespace(&ns);
            }
            _ => keep[i] = false,
        }
    }
    let mut idx = 0;
    resources.retain(|_| {
        idx += 1;
        keep[idx - 1]
    });
    Ok(())
}

fn r_id(v: &Value) -> String {
    let s = |p: &str| {
        v.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let gvk = Gvk::from_api_version(&s("/apiVersion"), &s("/kind"));
    ResId {
        gvk,
        name: s("/metadata/name"),
        namespace: s("/metadata/namespace"),
    }
    .to_string()
}

/// Applies a JSON patch to one resource, keeping Kustomize's bookkeeping.
pub fn apply_json_patch(r: &mut Resource, ops: &[crate::jsonpatch::Op]) -> Res {
    let mut obj = Value::Object(std::mem::take(&mut r.obj));
    let res = crate::jsonpatch::apply(&mut obj, ops);
    match obj {
        Value::Object(m) => r.obj = m,
        other => {
            r.obj = Map::new();
            r.obj.insert("value".into(), other);
        }
    }
    res.map_err(|e| Error::msg(format!("unable to apply JSON patch to {}: {e}", r.cur_id())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_images() {
        assert_eq!(split_image("nginx"), ("nginx".into(), "".into(), "".into()));
        assert_eq!(
            split_image("nginx:1.2"),
            ("nginx".into(), "1.2".into(), "".into())
        );
        assert_eq!(
            split_image("reg:5000/a/b:t@sha256:abc"),
            ("reg:5000/a/b".into(), "t".into(), "sha256:abc".into())
        );
        assert_eq!(
            split_image("a@sha256:abc"),
            ("a".into(), "".into(), "sha256:abc".into())
        );
        assert!(image_matches("nginx:1.2", "nginx"));
        assert!(image_matches("nginx@sha256:abc", "nginx"));
        assert!(!image_matches("nginx-x:1", "nginx"));
    }

    #[test]
    fn label_selectors() {
        let reqs = parse_label_selector("app=a, tier in (x, y),!gone").unwrap();
        let labels = vec![
            ("app".to_string(), "a".to_string()),
            ("tier".to_string(), "y".to_string()),
        ];
        assert!(requirements_match(&reqs, &labels));
        assert_eq!(
            split_field_path("data.[limits.memory]"),
            vec!["data", "[limits.memory]"]
        );
    }
}
