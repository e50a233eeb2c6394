//! The app spec: the declarative description of one app. The same types are the `App` custom
//! resource in a cluster and the `plumb.yaml` file in a directory.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// File name of an app spec inside an app directory.
pub const SPEC_FILE: &str = "plumb.yaml";

/// What plumb deploys for one app: where its manifests come from, how they are rendered, which
/// policies must allow them, and where they go.
#[derive(CustomResource, Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "plumb.dev",
    version = "v1alpha1",
    kind = "App",
    namespaced,
    shortname = "papp"
)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AppSpec {
    /// Where the manifests come from. Without `repoURL`, the directory holding `plumb.yaml`.
    #[serde(default)]
    pub source: SourceSpec,
    /// How the source becomes objects. Without it, plumb detects the renderer as Argo CD does:
    /// `kustomization.yaml` → kustomize, `Chart.yaml` → helm, otherwise plain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub renderer: Option<PluginRef>,
    /// Policies that judge the rendered release before anything is applied, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<PolicyRef>,
    /// Where the objects go.
    #[serde(default)]
    pub destination: Destination,
    /// Deleting what left the source.
    #[serde(default)]
    pub prune: PruneSpec,
}

/// Whether objects that are no longer rendered are deleted from the cluster.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PruneSpec {
    /// Delete objects plumb applied for this app that the source no longer renders.
    #[serde(default)]
    pub enabled: bool,
    /// Also prune when the render produced no objects at all (otherwise that is refused, as
    /// an empty render is far more often a mistake than an intent).
    #[serde(default)]
    pub allow_empty: bool,
}

/// Where an app's files are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SourceSpec {
    /// Git repository URL (https://, ssh://, git://, file://). Unset: the local directory.
    #[serde(default, rename = "repoURL", skip_serializing_if = "Option::is_none")]
    pub repo_url: Option<String>,
    /// Branch, tag, semver range over tags, or commit id (Git sources only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_revision: Option<String>,
    /// Path of the app inside the repository (or relative to `plumb.yaml` for a local source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Whether commits (and annotated tags) must be signed by one of `trustedKeys`: `off`
    /// (default), `warn` (render, with a warning), `require` (never render an unsigned commit or
    /// one signed by an unknown key). Git sources only.
    #[serde(default, skip_serializing_if = "is_default")]
    pub signature_mode: SignatureMode,
    /// Keys trusted to sign commits and tags: OpenSSH public key lines (`ssh-ed25519 AAAA…`, as
    /// in `allowed_signers`; SSH signatures are checked for the `git` namespace) or
    /// ASCII-armored OpenPGP public key blocks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trusted_keys: Vec<String>,
}

/// How a Git source's signatures are checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SignatureMode {
    /// Signatures are not checked.
    #[default]
    Off,
    /// A commit that is unsigned, or signed by an unknown key, renders with a warning.
    Warn,
    /// Only commits signed by a trusted key render (or reached through a tag signed by one).
    Require,
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// A plugin: a built-in by `name`, or a `.wasm` file by `path`, pinned by `sha256`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PluginRef {
    /// A built-in plugin (`plain`, `kustomize`, `helm`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A WebAssembly component file, relative to `plumb.yaml`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Expected sha256 of the file (hex); a mismatch refuses the plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Settings passed to the plugin, checked against its settings schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_object")]
    pub settings: Option<Value>,
}

/// How a policy's denials are treated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PolicyMode {
    /// Any deny stops the whole release.
    #[default]
    Enforce,
    /// Denials are shown as warnings; the release is applied.
    Warn,
    /// Denials are only recorded.
    Audit,
}

/// A policy plugin and how it applies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyRef {
    /// A built-in policy plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A WebAssembly component file, relative to `plumb.yaml`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Expected sha256 of the file (hex); a mismatch refuses the plugin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Settings passed to the policy, checked against its settings schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "any_object")]
    pub settings: Option<Value>,
    #[serde(default)]
    pub mode: PolicyMode,
    /// Objects this policy does not judge.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exemptions: Vec<Exemption>,
}

impl PolicyRef {
    /// The plugin part of this reference.
    pub fn plugin(&self) -> PluginRef {
        PluginRef {
            name: self.name.clone(),
            path: self.path.clone(),
            sha256: self.sha256.clone(),
            settings: self.settings.clone(),
        }
    }
}

/// Objects exempt from a policy: every field set must match.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Exemption {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
    /// Label selector (`matchLabels` only).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
}

/// Where the app's objects go.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Destination {
    /// Namespace for namespaced objects that name none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

fn any_object(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true
    })
}

/// Why an app spec cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// An app spec read from a file, with the directory it is relative to.
#[derive(Debug, Clone)]
pub struct LoadedApp {
    pub app: App,
    /// The file it came from.
    pub file: PathBuf,
}

impl LoadedApp {
    /// The app's name: `metadata.name`, else the name of the directory holding the spec.
    pub fn name(&self) -> String {
        self.app
            .metadata
            .name
            .clone()
            .unwrap_or_else(|| dir_name(self.base_dir()))
    }

    /// Directory that relative paths in the spec are resolved against.
    pub fn base_dir(&self) -> &Path {
        self.file.parent().unwrap_or(Path::new("."))
    }
}

/// The last component of `dir` (after resolving `.`), made a valid Kubernetes name, for naming
/// apps after their directory (`My_App` → `my-app`).
pub fn dir_name(dir: &Path) -> String {
    let abs = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let raw = abs
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    to_dns_label(&raw)
}

/// Lowercase letters, digits and `-`, starting and ending alphanumeric, at most 53 characters
/// (room for the `plumb-app-` prefix of the inventory object); "app" when nothing is left.
pub fn to_dns_label(raw: &str) -> String {
    let mapped: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let mut out = String::new();
    for c in mapped.trim_matches('-').chars() {
        if !(c == '-' && out.ends_with('-')) && out.len() < 53 {
            out.push(c);
        }
    }
    let out = out.trim_end_matches('-').to_string();
    if out.is_empty() { "app".into() } else { out }
}

/// Whether `name` is a valid app name (a DNS label short enough for the inventory object).
pub fn valid_app_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 53 && to_dns_label(name) == name
}

/// Reads and checks an app spec file.
pub fn load(file: &Path) -> Result<LoadedApp, SpecError> {
    let text = std::fs::read_to_string(file).map_err(|source| SpecError::Read {
        path: file.into(),
        source,
    })?;
    let invalid = |message: String| SpecError::Invalid {
        path: file.into(),
        message,
    };
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct TypeMeta {
        #[serde(default)]
        api_version: String,
        #[serde(default)]
        kind: String,
    }
    let tm: TypeMeta = serde_saphyr::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    if tm.kind != "App" || tm.api_version != "plumb.dev/v1alpha1" {
        return Err(invalid(format!(
            "is a {}/{}, not an app spec (apiVersion: plumb.dev/v1alpha1, kind: App)",
            tm.api_version, tm.kind
        )));
    }
    let app: App = serde_saphyr::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    if let Some(name) = &app.metadata.name
        && !valid_app_name(name)
    {
        return Err(invalid(format!(
            "metadata.name {name:?} is not a valid app name: lowercase letters, digits and `-`, at most 53 characters (e.g. {:?})",
            to_dns_label(name)
        )));
    }
    let plugins = app.spec.renderer.iter().map(|r| ("renderer", r.clone()));
    for (what, p) in plugins.chain(app.spec.policies.iter().map(|p| ("policy", p.plugin()))) {
        {
            match (&p.name, &p.path) {
                (Some(_), Some(_)) => {
                    return Err(invalid(format!(
                        "a {what} has both `name` and `path`; give one"
                    )));
                }
                (None, None) => {
                    return Err(invalid(format!(
                        "a {what} needs `name` (a built-in) or `path` (a .wasm file)"
                    )));
                }
                _ => {}
            }
            if let Some(s) = &p.settings
                && !s.is_object()
            {
                return Err(invalid(format!("{what} settings must be a mapping")));
            }
        }
    }
    Ok(LoadedApp {
        app,
        file: file.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join(SPEC_FILE);
        std::fs::write(&f, text).unwrap();
        (d, f)
    }

    #[test]
    fn reads_a_full_spec() {
        let (_d, f) = write(
            "apiVersion: plumb.dev/v1alpha1\nkind: App\nmetadata:\n  name: shop\nspec:\n  source:\n    path: deploy\n  renderer:\n    name: plain\n    settings:\n      recurse: false\n  policies:\n  - path: p.wasm\n    sha256: abc\n    mode: warn\n  destination:\n    namespace: shop\n",
        );
        let app = load(&f).unwrap();
        assert_eq!(app.name(), "shop");
        assert_eq!(app.app.spec.source.path.as_deref(), Some("deploy"));
        assert_eq!(
            app.app.spec.renderer.as_ref().unwrap().settings,
            Some(serde_json::json!({"recurse": false}))
        );
        assert_eq!(app.app.spec.policies[0].mode, PolicyMode::Warn);
        assert_eq!(app.app.spec.policies[0].sha256.as_deref(), Some("abc"));
        assert_eq!(app.app.spec.destination.namespace.as_deref(), Some("shop"));
    }

    #[test]
    fn app_names_are_dns_labels() {
        assert_eq!(to_dns_label(".tmpAbC_x"), "tmpabc-x");
        assert_eq!(to_dns_label("--"), "app");
        assert_eq!(to_dns_label("a..b"), "a-b");
        assert!(valid_app_name("shop-1"));
        assert!(!valid_app_name("Shop"));
        let (_d, f) = write(
            "apiVersion: plumb.dev/v1alpha1\nkind: App\nmetadata:\n  name: My_Shop\nspec: {}\n",
        );
        assert!(load(&f).unwrap_err().to_string().contains("\"my-shop\""));
    }

    #[test]
    fn rejects_typos_and_wrong_kinds_naming_the_file() {
        let (_d, f) = write(
            "apiVersion: plumb.dev/v1alpha1\nkind: App\nmetadata: {name: x}\nspec:\n  rendrer: {name: plain}\n",
        );
        let e = load(&f).unwrap_err().to_string();
        assert!(e.contains("plumb.yaml") && e.contains("rendrer"), "{e}");
        let (_d, f) = write("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nspec: {}\n");
        let e = load(&f).unwrap_err().to_string();
        assert!(e.contains("not an app spec"), "{e}");
        let (_d, f) = write(
            "apiVersion: plumb.dev/v1alpha1\nkind: App\nmetadata: {name: x}\nspec:\n  renderer: {name: plain, path: x.wasm}\n",
        );
        assert!(load(&f).unwrap_err().to_string().contains("both"));
    }
}
