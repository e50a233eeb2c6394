//! Field specs: which fields of which kinds each transformer touches. The built-in tables are
//! Kustomize v5.7.1's own (`api/internal/konfig/builtinpluginconsts`), kept verbatim as YAML data
//! in `data/` (extracted from the reference kubectl binary, which embeds them as text).
//! `configurations:` files add to them.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::model::Gvk;

/// One field of one kind of resource. `path` is `/`-separated; `\/` is a literal slash and a
/// `[]` suffix marks a sequence.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct FieldSpec {
    #[serde(flatten)]
    pub gvk: Gvk,
    #[serde(default)]
    pub path: String,
    #[serde(default, rename = "create")]
    pub create: bool,
}

impl FieldSpec {
    pub fn new(path: &str, create: bool) -> FieldSpec {
        FieldSpec {
            gvk: Gvk::default(),
            path: path.to_string(),
            create,
        }
    }

    pub fn path_slice(&self) -> Vec<String> {
        const TEMP: &str = "\u{0}slash\u{0}";
        self.path
            .replace("\\/", TEMP)
            .split('/')
            .map(|p| p.replace(TEMP, "/"))
            .collect()
    }
}

/// A kind that is referred to by name, and the fields that refer to it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NameBackRef {
    #[serde(flatten)]
    pub gvk: Gvk,
    #[serde(default)]
    pub field_specs: Vec<FieldSpec>,
}

/// Kustomize's `TransformerConfig`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TransformerConfig {
    pub name_prefix: Vec<FieldSpec>,
    pub name_suffix: Vec<FieldSpec>,
    pub name_space: Vec<FieldSpec>,
    #[serde(rename = "namespace")]
    pub namespace: Vec<FieldSpec>,
    pub common_labels: Vec<FieldSpec>,
    pub template_labels: Vec<FieldSpec>,
    pub common_annotations: Vec<FieldSpec>,
    pub name_reference: Vec<NameBackRef>,
    pub var_reference: Vec<FieldSpec>,
    pub images: Vec<FieldSpec>,
    pub replicas: Vec<FieldSpec>,
}

const TABLES: [&str; 10] = [
    include_str!("../data/nameprefix.yaml"),
    include_str!("../data/namesuffix.yaml"),
    include_str!("../data/commonlabels.yaml"),
    include_str!("../data/templatelabels.yaml"),
    include_str!("../data/commonannotations.yaml"),
    include_str!("../data/namespace.yaml"),
    include_str!("../data/varreference.yaml"),
    include_str!("../data/namereference.yaml"),
    include_str!("../data/images.yaml"),
    include_str!("../data/replicas.yaml"),
];

impl TransformerConfig {
    /// The built-in configuration.
    /// The built-in configuration (parsed once; every kustomization starts from a copy).
    pub fn builtin() -> TransformerConfig {
        static CELL: std::sync::OnceLock<TransformerConfig> = std::sync::OnceLock::new();
        CELL.get_or_init(|| {
            let mut out = TransformerConfig::default();
            for table in TABLES {
                // The tables are compiled in and covered by tests; a broken one would show there.
                if let Ok(cfg) = serde_saphyr::from_str::<TransformerConfig>(table) {
                    out.merge(cfg);
                }
            }
            out
        })
        .clone()
    }

    /// Parses a `configurations:` file (already read as YAML).
    pub fn from_value(v: Value) -> Result<TransformerConfig, String> {
        serde_json::from_value(v).map_err(|e| e.to_string())
    }

    pub fn merge(&mut self, o: TransformerConfig) {
        merge_fs(&mut self.name_prefix, o.name_prefix);
        merge_fs(&mut self.name_suffix, o.name_suffix);
        merge_fs(&mut self.namespace, o.namespace);
        merge_fs(&mut self.namespace, o.name_space);
        merge_fs(&mut self.common_labels, o.common_labels);
        merge_fs(&mut self.template_labels, o.template_labels);
        merge_fs(&mut self.common_annotations, o.common_annotations);
        merge_fs(&mut self.var_reference, o.var_reference);
        merge_fs(&mut self.images, o.images);
        merge_fs(&mut self.replicas, o.replicas);
        for b in o.name_reference {
            match self.name_reference.iter_mut().find(|x| x.gvk == b.gvk) {
                Some(x) => merge_fs(&mut x.field_specs, b.field_specs),
                None => self.name_reference.push(b),
            }
        }
    }
}

/// `FsSlice.MergeAll`: adds specs not already present (same GVK and path).
pub fn merge_fs(into: &mut Vec<FieldSpec>, from: Vec<FieldSpec>) {
    for fs in from {
        if !into.iter().any(|x| x.gvk == fs.gvk && x.path == fs.path) {
            into.push(fs);
        }
    }
}

/// What to create where a field spec's path is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Create {
    /// Never create.
    No,
    /// Create a string at the end of the path (namespaces).
    Scalar,
    /// Create a mapping at the end of the path (labels, annotations).
    Map,
}

/// Applies `set` to every node at `fs`'s path in `obj`, following Kustomize's fieldspec filter:
/// sequences are walked element by element without consuming a path segment, missing fields are
/// created only when the spec says so, and a scalar in the middle of the path is an error.
pub fn apply_field_spec(
    obj: &mut Value,
    fs: &FieldSpec,
    create: Create,
    set: &mut dyn FnMut(&mut Value) -> Result<(), String>,
) -> Result<(), String> {
    let path = fs.path_slice();
    let create = if fs.create { create } else { Create::No };
    walk(obj, &path, create, set)
}

fn walk(
    node: &mut Value,
    path: &[String],
    create: Create,
    set: &mut dyn FnMut(&mut Value) -> Result<(), String>,
) -> Result<(), String> {
    let Some((head, rest)) = path.split_first() else {
        return set(node);
    };
    match node {
        Value::Null => Ok(()),
        Value::Array(items) => {
            for item in items {
                walk(item, path, create, set)?;
            }
            Ok(())
        }
        Value::Object(map) => {
            let (name, is_seq) = match head.strip_suffix("[]") {
                Some(n) => (n, true),
                None => (head.as_str(), false),
            };
            if name.is_empty() {
                return Err("cannot set or create an empty field name".into());
            }
            if create == Create::No || is_seq {
                match map.get_mut(name) {
                    None => Ok(()),
                    Some(v) => {
                        if v.is_null() && is_seq {
                            *v = Value::Array(Vec::new());
                        }
                        walk(v, rest, create, set)
                    }
                }
            } else {
                let fresh = || {
                    if rest.is_empty() && create == Create::Scalar {
                        Value::String(String::new())
                    } else {
                        Value::Object(Map::new())
                    }
                };
                let v = map.entry(name.to_string()).or_insert_with(fresh);
                if v.is_null() {
                    *v = fresh();
                }
                walk(v, rest, create, set)
            }
        }
        _ => Err(format!(
            "expected sequence or mapping node at {:?}",
            path.join("/")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builtin_tables_load() {
        let c = TransformerConfig::builtin();
        assert_eq!(c.name_prefix.len(), 1);
        assert!(c.common_labels.len() > 20);
        assert!(
            c.name_reference
                .iter()
                .any(|b| b.gvk.kind == "ConfigMap" && b.field_specs.len() > 40)
        );
        assert!(c.namespace.iter().any(|f| f.gvk.kind == "Namespace"));
        assert_eq!(c.images.len(), 6);
        let ing = c
            .name_reference
            .iter()
            .find(|b| b.gvk.kind == "Secret")
            .unwrap();
        let fs = ing
            .field_specs
            .iter()
            .find(|f| f.path.contains("auth-secret"))
            .unwrap();
        assert_eq!(fs.path_slice()[2], "ingress.kubernetes.io/auth-secret");
    }

    #[test]
    fn walks_sequences_and_creates_maps() {
        let mut v = json!({"spec": {"containers": [{"image": "a"}, {"image": "b"}]}});
        let fs = FieldSpec::new("spec/containers[]/image", true);
        let mut seen = Vec::new();
        apply_field_spec(&mut v, &fs, Create::No, &mut |n| {
            seen.push(n.clone());
            Ok(())
        })
        .unwrap();
        assert_eq!(seen.len(), 2);
        let mut v = json!({"metadata": {}});
        apply_field_spec(
            &mut v,
            &FieldSpec::new("spec/template/metadata/labels", true),
            Create::Map,
            &mut |n| {
                n.as_object_mut().unwrap().insert("a".into(), json!("b"));
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(v["spec"]["template"]["metadata"]["labels"]["a"], "b");
    }
}
