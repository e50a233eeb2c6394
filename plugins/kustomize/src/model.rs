//! Resource identity (Kustomize's `resid`), the resources being built and the OpenAPI facts
//! Kustomize consults (cluster scope, strategic-merge keys).

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::{Map, Value};

/// Group, version and kind; empty parts are wildcards when used as a selector.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(default)]
pub struct Gvk {
    pub group: String,
    pub version: String,
    pub kind: String,
}

impl Gvk {
    pub fn from_api_version(api_version: &str, kind: &str) -> Gvk {
        let (group, version) = match api_version.rsplit_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), api_version.to_string()),
        };
        Gvk {
            group,
            version,
            kind: kind.to_string(),
        }
    }

    /// Kustomize's `Gvk.IsSelected`: every non-empty part of `selector` must match.
    pub fn is_selected(&self, selector: &Gvk) -> bool {
        (selector.group.is_empty() || self.group == selector.group)
            && (selector.version.is_empty() || self.version == selector.version)
            && (selector.kind.is_empty() || self.kind == selector.kind)
    }

    /// True when the OpenAPI data says this exact apiVersion/kind is cluster-scoped; unknown
    /// kinds (custom resources) count as namespaced, as in Kustomize.
    pub fn is_cluster_scoped(&self) -> bool {
        schema()
            .cluster_scoped
            .get(self.kind.as_str())
            .is_some_and(|gvs| {
                gvs.iter()
                    .any(|(g, v)| *g == self.group && *v == self.version)
            })
    }

    /// `Gvk.String()`: `group_version_kind` with `~G`/`~V`/`~K` for empty parts.
    pub fn sort_string(&self) -> String {
        let or = |s: &str, d: &str| {
            if s.is_empty() {
                d.to_string()
            } else {
                s.to_string()
            }
        };
        format!(
            "{}_{}_{}",
            or(&self.group, "~G"),
            or(&self.version, "~V"),
            or(&self.kind, "~K")
        )
    }
}

impl fmt::Display for Gvk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let g = if self.group.is_empty() {
            "[noGrp]"
        } else {
            &self.group
        };
        let v = if self.version.is_empty() {
            "[noVer]"
        } else {
            &self.version
        };
        write!(f, "{}.{}.{}", self.kind, v, g)
    }
}

/// A resource's identity.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ResId {
    pub gvk: Gvk,
    pub name: String,
    pub namespace: String,
}

/// The namespace Kustomize gives every cluster-scoped id, so they never equal a namespaced one.
pub const NOT_A_NAMESPACE: &str = "_non_namespaceable_";

impl ResId {
    pub fn effective_namespace(&self) -> &str {
        if self.gvk.is_cluster_scoped() {
            NOT_A_NAMESPACE
        } else if self.namespace.is_empty() {
            "default"
        } else {
            &self.namespace
        }
    }
    pub fn is_ns_equal(&self, o: &ResId) -> bool {
        self.effective_namespace() == o.effective_namespace()
    }
    pub fn equals(&self, o: &ResId) -> bool {
        self.is_ns_equal(o) && self.gvk == o.gvk && self.name == o.name
    }
    /// `ResId.IsSelectedBy`: exact name and namespace when given, GVK by `is_selected`.
    pub fn is_selected_by(&self, sel: &ResId) -> bool {
        (sel.name.is_empty() || sel.name == self.name)
            && (sel.namespace.is_empty() || sel.is_ns_equal(self))
            && self.gvk.is_selected(&sel.gvk)
    }
}

impl fmt::Display for ResId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = if self.namespace.is_empty() {
            "[noNs]"
        } else {
            &self.namespace
        };
        write!(f, "{}/{}.{}", self.gvk, self.name, ns)
    }
}

/// Generator behaviours (`behavior:` of configMapGenerator/secretGenerator).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Behavior {
    #[default]
    Create,
    Merge,
    Replace,
}

/// One resource and what Kustomize keeps about it in internal annotations.
#[derive(Debug, Clone)]
pub struct Resource {
    pub obj: Map<String, Value>,
    /// File the resource came from (root-relative), for diagnostics and the host.
    pub origin: Option<String>,
    /// Ids the resource had before renames, oldest first (`internal.config.kubernetes.io/previous*`).
    pub prev_ids: Vec<ResId>,
    /// Name prefixes and suffixes applied by each kustomization (`internal…/prefixes`).
    pub prefixes: Vec<String>,
    pub suffixes: Vec<String>,
    /// Made by a generator that wants a content hash appended to its name.
    pub needs_hash: bool,
    pub behavior: Behavior,
}

impl Resource {
    pub fn new(obj: Map<String, Value>, origin: Option<String>) -> Resource {
        Resource {
            obj,
            origin,
            prev_ids: Vec::new(),
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            needs_hash: false,
            behavior: Behavior::Create,
        }
    }

    pub fn str_field(&self, key: &str) -> &str {
        self.obj.get(key).and_then(Value::as_str).unwrap_or("")
    }
    pub fn meta_str(&self, key: &str) -> &str {
        self.obj
            .get("metadata")
            .and_then(|m| m.get(key))
            .and_then(Value::as_str)
            .unwrap_or("")
    }
    pub fn kind(&self) -> &str {
        self.str_field("kind")
    }
    pub fn name(&self) -> &str {
        self.meta_str("name")
    }
    pub fn namespace(&self) -> &str {
        self.meta_str("namespace")
    }
    pub fn gvk(&self) -> Gvk {
        Gvk::from_api_version(self.str_field("apiVersion"), self.kind())
    }
    pub fn cur_id(&self) -> ResId {
        ResId {
            gvk: self.gvk(),
            name: self.name().to_string(),
            namespace: self.namespace().to_string(),
        }
    }
    pub fn org_id(&self) -> ResId {
        self.prev_ids
            .first()
            .cloned()
            .unwrap_or_else(|| self.cur_id())
    }
    /// Previous ids followed by the current one.
    pub fn all_ids(&self) -> Vec<ResId> {
        let mut v = self.prev_ids.clone();
        v.push(self.cur_id());
        v
    }
    pub fn store_previous_id(&mut self) {
        let id = self.cur_id();
        self.prev_ids.push(id);
    }

    pub fn metadata_mut(&mut self) -> &mut Map<String, Value> {
        ensure_object(self.obj.entry("metadata").or_insert(Value::Null))
    }
    pub fn set_name(&mut self, name: &str) {
        self.metadata_mut()
            .insert("name".into(), Value::String(name.into()));
    }
    pub fn set_namespace(&mut self, ns: &str) {
        let meta = self.metadata_mut();
        if ns.is_empty() {
            meta.remove("namespace");
        } else {
            meta.insert("namespace".into(), Value::String(ns.into()));
        }
    }
    pub fn string_map(&self, key: &str) -> Vec<(String, String)> {
        let Some(Value::Object(m)) = self.obj.get("metadata").and_then(|m| m.get(key)) else {
            return Vec::new();
        };
        m.iter().map(|(k, v)| (k.clone(), scalar_text(v))).collect()
    }
    pub fn labels(&self) -> Vec<(String, String)> {
        self.string_map("labels")
    }
    pub fn annotations(&self) -> Vec<(String, String)> {
        self.string_map("annotations")
    }
    pub fn annotation(&self, key: &str) -> Option<String> {
        self.obj
            .get("metadata")?
            .get("annotations")?
            .get(key)
            .map(scalar_text)
    }
    pub fn is_empty(&self) -> bool {
        self.obj.is_empty()
    }
}

/// Makes `v` a mapping (replacing anything else) and returns it.
pub fn ensure_object(v: &mut Value) -> &mut Map<String, Value> {
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    match v {
        Value::Object(m) => m,
        _ => unreachable!("the value was made an object just above"),
    }
}

/// A scalar as YAML text (`8080`, `true`, `x`); collections as JSON.
pub fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// The OpenAPI facts Kustomize v5.7.1 uses, from the Kubernetes v1.21.2 document it embeds
/// (`kyaml/openapi/kubernetesapi/v1_21_2`). `data/openapi-v1.21.2.json` was extracted from the
/// `swagger.pb` inside the reference `kubectl` (v1.35.2) with `data/extract-openapi.py`.
pub struct Schema {
    pub gvk: HashMap<String, String>,
    /// Cluster-scoped kinds, with the (group, version) pairs that are.
    pub cluster_scoped: HashMap<String, Vec<(String, String)>>,
    pub defs: HashMap<String, HashMap<String, FieldSchema>>,
}

/// What strategic merge needs to know about one property.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct FieldSchema {
    /// Definition of an object-valued property.
    #[serde(default)]
    pub r: Option<String>,
    /// Definition of the array's items.
    #[serde(default)]
    pub i: Option<String>,
    /// `x-kubernetes-patch-merge-key`.
    #[serde(default)]
    pub k: Option<String>,
    /// `x-kubernetes-patch-strategy`.
    #[serde(default)]
    pub s: Option<String>,
    /// `x-kubernetes-list-map-keys`.
    #[serde(default)]
    pub l: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct SchemaFile {
    gvk: HashMap<String, String>,
    cluster_scoped: Vec<String>,
    defs: HashMap<String, HashMap<String, FieldSchema>>,
}

static SCHEMA_JSON: &str = include_str!("../data/openapi-v1.21.2.json");

pub fn schema() -> &'static Schema {
    static CELL: OnceLock<Schema> = OnceLock::new();
    CELL.get_or_init(|| {
        let file: SchemaFile = serde_json::from_str(SCHEMA_JSON).unwrap_or(SchemaFile {
            gvk: HashMap::new(),
            cluster_scoped: Vec::new(),
            defs: HashMap::new(),
        });
        let mut cluster_scoped: HashMap<String, Vec<(String, String)>> = HashMap::new();
        for entry in file.cluster_scoped {
            // `apiVersion/kind`, the apiVersion being `version` or `group/version`.
            if let Some((api_version, kind)) = entry.rsplit_once('/') {
                let gvk = Gvk::from_api_version(api_version, kind);
                cluster_scoped
                    .entry(gvk.kind)
                    .or_default()
                    .push((gvk.group, gvk.version));
            }
        }
        Schema {
            gvk: file.gvk,
            cluster_scoped,
            defs: file.defs,
        }
    })
}

impl Schema {
    /// The definition for a resource type (`SchemaForResourceType`).
    pub fn for_type(&self, api_version: &str, kind: &str) -> Option<&str> {
        self.gvk
            .get(&format!("{api_version}/{kind}"))
            .map(String::as_str)
    }
    pub fn field(&self, def: &str, name: &str) -> Option<&FieldSchema> {
        self.defs.get(def)?.get(name)
    }
}

/// `ResId.LegacySortString` without the (equal) GVK part: `namespace|name`, `~X` for no
/// namespace (so namespaced objects come first) and `~N` for no name.
fn legacy_key(id: &ResId) -> String {
    let ns = if id.namespace.is_empty() {
        "~X"
    } else {
        &id.namespace
    };
    let name = if id.name.is_empty() { "~N" } else { &id.name };
    format!("{ns}|{name}")
}

/// Kustomize's default ("legacy") output order.
pub struct LegacyOrder {
    first: Vec<String>,
    last: Vec<String>,
}

impl Default for LegacyOrder {
    fn default() -> Self {
        LegacyOrder {
            first: [
                "Namespace",
                "ResourceQuota",
                "StorageClass",
                "CustomResourceDefinition",
                "ServiceAccount",
                "PodSecurityPolicy",
                "Role",
                "ClusterRole",
                "RoleBinding",
                "ClusterRoleBinding",
                "ConfigMap",
                "Secret",
                "Endpoints",
                "Service",
                "LimitRange",
                "PriorityClass",
                "PersistentVolume",
                "PersistentVolumeClaim",
                "Deployment",
                "StatefulSet",
                "CronJob",
                "PodDisruptionBudget",
            ]
            .map(String::from)
            .to_vec(),
            last: [
                "MutatingWebhookConfiguration",
                "ValidatingWebhookConfiguration",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

impl LegacyOrder {
    pub fn new(first: Option<Vec<String>>, last: Option<Vec<String>>) -> Self {
        let d = LegacyOrder::default();
        LegacyOrder {
            first: first.unwrap_or(d.first),
            last: last.unwrap_or(d.last),
        }
    }

    fn rank(&self, kind: &str) -> i64 {
        if let Some(i) = self.first.iter().position(|k| k == kind) {
            return i as i64 - self.first.len() as i64;
        }
        if let Some(i) = self.last.iter().position(|k| k == kind) {
            return 1 + i as i64;
        }
        0
    }

    /// Sorts by kind rank, then `group_version_kind`, then `namespace|name`.
    pub fn sort(&self, resources: &mut Vec<Resource>) {
        let mut keyed: Vec<((i64, String, ResId, String), Resource)> = resources
            .drain(..)
            .map(|r| {
                let id = r.cur_id();
                (
                    (
                        self.rank(&id.gvk.kind),
                        id.gvk.sort_string(),
                        id.clone(),
                        legacy_key(&id),
                    ),
                    r,
                )
            })
            .collect();
        keyed.sort_by(|(a, _), (b, _)| {
            if a.2.gvk != b.2.gvk {
                return a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1));
            }
            a.3.cmp(&b.3)
        });
        resources.extend(keyed.into_iter().map(|(_, r)| r));
    }
}
