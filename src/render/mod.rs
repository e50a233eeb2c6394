//! Render stage: run a renderer plugin over a source tree and check that what comes back is a
//! list of Kubernetes objects. Nothing downstream ever sees unchecked plugin output.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::Value;

use crate::plugin::{Context, Diagnostic, Plugin, PluginError};
use crate::source::{EntryKind, SourceTree};

/// One rendered object and the file it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedObject {
    pub value: Value,
    pub origin: Option<String>,
}

impl RenderedObject {
    pub fn kind(&self) -> &str {
        self.value["kind"].as_str().unwrap_or_default()
    }
    pub fn name(&self) -> &str {
        self.value["metadata"]["name"].as_str().unwrap_or_default()
    }
    pub fn api_version(&self) -> &str {
        self.value["apiVersion"].as_str().unwrap_or_default()
    }
    pub fn namespace(&self) -> Option<&str> {
        self.value["metadata"]["namespace"].as_str()
    }
}

/// The objects of one app at one revision, with how they were made.
#[derive(Debug, Clone)]
pub struct Release {
    pub app: String,
    pub revision: String,
    /// `name@version` of the renderer.
    pub renderer: String,
    /// sha256 of the renderer component.
    pub renderer_digest: String,
    pub objects: Vec<RenderedObject>,
    pub warnings: Vec<Diagnostic>,
    /// Every source path the renderer read (for caching and watch mode).
    pub reads: BTreeSet<String>,
}

/// Which built-in renderer suits the app at `path`, as Argo CD decides: a kustomization file
/// means kustomize, a `Chart.yaml` means helm, anything else is plain manifests.
pub fn detect_renderer(tree: &dyn SourceTree, path: &str) -> &'static str {
    let has = |name: &str| {
        let p = if path.is_empty() {
            name.to_string()
        } else {
            format!("{path}/{name}")
        };
        matches!(tree.stat(&p), Ok(EntryKind::File))
    };
    if ["kustomization.yaml", "kustomization.yml", "Kustomization"]
        .iter()
        .any(|n| has(n))
    {
        "kustomize"
    } else if has("Chart.yaml") {
        "helm"
    } else {
        "plain"
    }
}

/// Renders with `plugin` and checks every object.
pub fn render(
    plugin: &Plugin,
    settings: &Value,
    context: &Context,
    tree: Arc<dyn SourceTree>,
) -> Result<Release, PluginError> {
    let out = plugin.render(settings, context, tree.clone())?;
    let mut objects = Vec::with_capacity(out.objects.len());
    for (index, (json, origin)) in out.objects.into_iter().enumerate() {
        let invalid = |reason: String| PluginError::InvalidOutput {
            plugin: plugin.name().to_string(),
            index,
            origin: origin.clone(),
            reason,
        };
        let value: Value =
            serde_json::from_str(&json).map_err(|e| invalid(format!("not JSON: {e}")))?;
        check_object(&value).map_err(invalid)?;
        objects.push(RenderedObject { value, origin });
    }
    Ok(Release {
        app: context.app.clone(),
        revision: context.revision.clone(),
        renderer: format!("{}@{}", plugin.name(), plugin.metadata().version),
        renderer_digest: plugin.digest().to_string(),
        objects,
        // What the source noticed while the plugin read it (a submodule, an LFS pointer).
        warnings: out
            .warnings
            .into_iter()
            .chain(tree.warnings().into_iter().map(|message| Diagnostic {
                message,
                ..Default::default()
            }))
            .collect(),
        reads: out.reads,
    })
}

/// A Kubernetes object has a string `apiVersion`, `kind` and `metadata.name`.
pub fn check_object(value: &Value) -> Result<(), String> {
    let Some(map) = value.as_object() else {
        return Err("not a JSON object".into());
    };
    let non_empty = |v: Option<&Value>| v.and_then(Value::as_str).is_some_and(|s| !s.is_empty());
    if !non_empty(map.get("apiVersion")) {
        return Err("no apiVersion".into());
    }
    if !non_empty(map.get("kind")) {
        return Err("no kind".into());
    }
    let meta = map.get("metadata");
    if !non_empty(meta.and_then(|m| m.get("name"))) {
        return Err(format!(
            "{} has no metadata.name",
            map["kind"].as_str().unwrap_or_default()
        ));
    }
    if let Some(ns) = meta.and_then(|m| m.get("namespace"))
        && !ns.is_string()
    {
        return Err("metadata.namespace is not a string".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_need_api_version_kind_and_name() {
        assert!(
            check_object(
                &json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})
            )
            .is_ok()
        );
        assert_eq!(check_object(&json!([1])), Err("not a JSON object".into()));
        assert_eq!(
            check_object(&json!({"kind": "ConfigMap"})),
            Err("no apiVersion".into())
        );
        assert_eq!(
            check_object(&json!({"apiVersion": "v1", "metadata": {"name": "x"}})),
            Err("no kind".into())
        );
        assert_eq!(
            check_object(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}})),
            Err("ConfigMap has no metadata.name".into())
        );
    }

    #[test]
    fn detects_renderers_like_argo_cd() {
        let d = tempfile::tempdir().unwrap();
        for (dir, file) in [
            ("k", "kustomization.yaml"),
            ("h", "Chart.yaml"),
            ("p", "x.yaml"),
        ] {
            std::fs::create_dir_all(d.path().join(dir)).unwrap();
            std::fs::write(d.path().join(dir).join(file), "x: 1\n").unwrap();
        }
        let t = crate::source::LocalDir::open(d.path()).unwrap();
        assert_eq!(detect_renderer(&t, "k"), "kustomize");
        assert_eq!(detect_renderer(&t, "h"), "helm");
        assert_eq!(detect_renderer(&t, "p"), "plain");
    }
}
