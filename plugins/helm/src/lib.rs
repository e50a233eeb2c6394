//! `helm`: renders a Helm chart as `helm template` 4.1.4 does, inside plumb's sandbox.
//!
//! Everything runs in the plugin: a Go `text/template` engine with Helm's and Sprig's
//! functions, Helm's chart loader (directories and `.tgz`), value coalescing, dependency
//! handling, schema validation and output ordering. Files are read only through the host's
//! `Source`; nothing is downloaded, so a chart whose dependencies are not vendored under
//! `charts/` is refused with instructions to vendor them.
//!
//! Output order is `helm template`'s: CRDs (with `includeCrds`), regular manifests sorted by
//! Helm's kind order, then hooks. Each object's origin is the `# Source:` path Helm prints.

mod chart;
mod engine;
mod error;
mod files;
mod funcs;
mod gofmt;
mod gotime;
mod ignore;
mod json;
mod manifest;
mod schema;
mod semver;
pub mod template;
mod toml;
mod value;
mod values;
mod yaml;

use plumb_plugin_sdk::{
    Context, Diagnostic, EntryKind, Metadata, Object, Rendered, Renderer, Source, normalize_path,
    schemars::{self, JsonSchema},
};
use serde::Deserialize;

pub use error::Error;
use value::Value;

/// Settings of the `helm` renderer (the flags of `helm template`).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Settings {
    /// Release name (`.Release.Name`). Default: the app's name.
    #[serde(default)]
    pub release_name: Option<String>,
    /// Release namespace (`.Release.Namespace`). Default: the app's namespace, else `default`.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Values files (`-f`), relative to the chart directory; `../` may reach anywhere inside
    /// the source root (as Argo CD allows). Later files override earlier ones.
    #[serde(default)]
    pub values_files: Vec<String>,
    /// Values given inline, merged over the values files (before `set`).
    #[serde(default)]
    pub values: Option<serde_json::Map<String, serde_json::Value>>,
    /// `--set` expressions (`a.b=c`, `list[0]=x`, `l={a,b}`), applied in order.
    #[serde(default)]
    pub set: Vec<String>,
    /// `--set-string` expressions: like `set`, values always strings.
    #[serde(default)]
    pub set_string: Vec<String>,
    /// Render the files of `crds/` too (`--include-crds`).
    #[serde(default)]
    pub include_crds: bool,
    /// Leave out test hooks (`--skip-tests`).
    #[serde(default)]
    pub skip_tests: bool,
    /// Do not validate values against `values.schema.json` (`--skip-schema-validation`).
    #[serde(default)]
    pub skip_schema_validation: bool,
    /// `.Capabilities.KubeVersion` (`--kube-version`). Default: v1.35.0, as Helm 4.1.4.
    #[serde(default)]
    pub kube_version: Option<String>,
    /// Extra `.Capabilities.APIVersions` (`--api-versions`), added to Helm's defaults.
    #[serde(default)]
    pub api_versions: Vec<String>,
}

pub struct Helm;

impl Renderer for Helm {
    type Settings = Settings;

    fn metadata() -> Metadata {
        Metadata::new(
            "helm",
            env!("CARGO_PKG_VERSION"),
            "Helm charts rendered as `helm template` 4.1.4 does (offline: dependencies must be vendored in charts/)",
        )
    }

    fn render(
        settings: Settings,
        ctx: &Context,
        source: &dyn Source,
    ) -> Result<Rendered, Diagnostic> {
        render(&settings, ctx, source).map_err(Error::into_diagnostic)
    }
}

#[cfg(target_arch = "wasm32")]
plumb_plugin_sdk::export_renderer!(Helm);

fn json_to_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
        serde_json::Value::String(s) => Value::str(s.as_str()),
        serde_json::Value::Array(a) => Value::list(a.iter().map(json_to_value).collect()),
        serde_json::Value::Object(o) => Value::new_map(
            o.iter()
                .map(|(k, v)| (k.clone(), json_to_value(v)))
                .collect(),
        ),
    }
}

/// The user-supplied values: files, then inline values, then `set`, then `setString`.
fn user_values(settings: &Settings, chart_dir: &str, source: &dyn Source) -> Result<Value, Error> {
    let mut base = Value::empty_map();
    for f in &settings.values_files {
        let Some(path) = normalize_path(chart_dir, f) else {
            return Err(Error::Other {
                file: None,
                message: format!(
                    "values file {f:?} is outside the source root (paths are relative to the chart directory)"
                ),
            });
        };
        let bytes = source
            .read_file(&path)
            .map_err(|e| Error::load(&path, format!("open {f}: {e}")))?;
        let text = String::from_utf8_lossy(&bytes);
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let v = chart::load_values(text)
            .map_err(|e| Error::load(&path, format!("failed to parse {f}: {e}")))?;
        base = values::merge_maps(&base, &v);
    }
    if let Some(inline) = &settings.values {
        let v = json_to_value(&serde_json::Value::Object(inline.clone()));
        base = values::merge_maps(&base, &v);
    }
    for s in &settings.set {
        values::parse_set(s, &base, false)
            .map_err(|e| Error::other(format!("failed parsing --set data: {e}")))?;
    }
    for s in &settings.set_string {
        values::parse_set(s, &base, true)
            .map_err(|e| Error::other(format!("failed parsing --set-string data: {e}")))?;
    }
    Ok(base)
}

/// The documents `helm template` would print, as (`# Source:` path, text) pairs.
pub fn render_documents(
    settings: &Settings,
    ctx: &Context,
    source: &dyn Source,
) -> Result<Vec<(String, String)>, Error> {
    render_output(settings, ctx, source).map(|o| o.documents)
}

/// `helm template`'s stdout for the chart at `ctx.path`.
pub fn render_text(
    settings: &Settings,
    ctx: &Context,
    source: &dyn Source,
) -> Result<String, Error> {
    let mut out = String::new();
    for (path, text) in render_documents(settings, ctx, source)? {
        out.push_str(&format!("---\n# Source: {path}\n{text}\n"));
    }
    Ok(out)
}

fn render_output(
    settings: &Settings,
    ctx: &Context,
    source: &dyn Source,
) -> Result<engine::Output, Error> {
    let dir = ctx.path.as_str();
    let kind = source.stat(dir);
    // Values files are relative to the chart directory (the archive's directory for a .tgz).
    let chart_dir = match kind {
        Ok(EntryKind::File) => dir.rsplit_once('/').map(|(d, _)| d).unwrap_or(""),
        _ => dir,
    };
    let chart = match kind {
        Ok(EntryKind::Directory) => chart::load_dir(source, dir)?,
        Ok(EntryKind::File) => {
            let data = source
                .read_file(dir)
                .map_err(|e| Error::load(dir, format!("cannot read chart archive: {e}")))?;
            chart::load_archive(
                &data,
                chart::Origin::Archive {
                    archive: dir.to_string(),
                    prefix: String::new(),
                },
            )?
        }
        Err(e) => return Err(Error::load(dir, format!("cannot open the chart: {e}"))),
    };
    let vals = user_values(settings, chart_dir, source)?;
    let namespace = settings
        .namespace
        .clone()
        .or_else(|| (!ctx.namespace.is_empty()).then(|| ctx.namespace.clone()))
        .unwrap_or_else(|| "default".into());
    let opts = engine::Options {
        release_name: settings
            .release_name
            .clone()
            .unwrap_or_else(|| ctx.app.clone()),
        namespace,
        include_crds: settings.include_crds,
        skip_tests: settings.skip_tests,
        skip_schema_validation: settings.skip_schema_validation,
        kube_version: settings.kube_version.clone(),
        api_versions: settings.api_versions.clone(),
        now: ctx.commit_time.unwrap_or(0),
    };
    engine::render(chart, &vals, &opts)
}

/// Renders the chart at `ctx.path`.
pub fn render(settings: &Settings, ctx: &Context, source: &dyn Source) -> Result<Rendered, Error> {
    let out = render_output(settings, ctx, source)?;
    let mut rendered = Rendered::default();
    for (path, text) in out.documents {
        let docs: Vec<serde_json::Value> =
            serde_saphyr::from_multiple(&text).map_err(|e| Error::Template {
                file: out.origins.get(&path).cloned(),
                line: None,
                message: format!(
                    "YAML parse error on {path}: {}",
                    e.to_string().lines().next().unwrap_or("invalid YAML")
                ),
            })?;
        for value in docs {
            if value.is_null() {
                continue;
            }
            rendered.objects.push(Object {
                value,
                origin: Some(path.clone()),
            });
        }
    }
    Ok(rendered)
}

#[cfg(test)]
mod tests {
    use super::*;
    use plumb_plugin_sdk::testing::DirSource;
    use std::fs;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        for (path, text) in files {
            let p = dir.path().join(path);
            fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            fs::write(p, text).expect("write");
        }
        dir
    }

    const CHART: &str = "apiVersion: v2\nname: demo\nversion: 0.1.0\n";

    fn ctx(path: &str) -> Context {
        Context {
            app: "myapp".into(),
            namespace: "".into(),
            path: path.into(),
            revision: "local".into(),
            ..Default::default()
        }
    }

    #[test]
    fn release_and_namespace_default_to_the_app() {
        let d = tree(&[
            ("apps/demo/Chart.yaml", CHART),
            (
                "apps/demo/templates/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n  namespace: {{ .Release.Namespace }}\n",
            ),
        ]);
        let r = render(
            &Settings::default(),
            &ctx("apps/demo"),
            &DirSource::new(d.path()),
        )
        .expect("render");
        assert_eq!(r.objects[0].value["metadata"]["name"], "myapp");
        assert_eq!(r.objects[0].value["metadata"]["namespace"], "default");
        assert_eq!(
            r.objects[0].origin.as_deref(),
            Some("demo/templates/cm.yaml")
        );
        let mut c = ctx("apps/demo");
        c.namespace = "team".into();
        let r = render(&Settings::default(), &c, &DirSource::new(d.path())).expect("render");
        assert_eq!(r.objects[0].value["metadata"]["namespace"], "team");
    }

    #[test]
    fn values_files_may_use_parent_paths_inside_the_root_only() {
        let d = tree(&[
            ("apps/demo/Chart.yaml", CHART),
            (
                "apps/demo/templates/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.name }}\n",
            ),
            ("envs/prod.yaml", "name: from-env\n"),
        ]);
        let s = Settings {
            values_files: vec!["../../envs/prod.yaml".into()],
            ..Default::default()
        };
        let r = render(&s, &ctx("apps/demo"), &DirSource::new(d.path())).expect("render");
        assert_eq!(r.objects[0].value["metadata"]["name"], "from-env");
        let s = Settings {
            values_files: vec!["../../../outside.yaml".into()],
            ..Default::default()
        };
        let e = render(&s, &ctx("apps/demo"), &DirSource::new(d.path())).expect_err("refused");
        assert!(e.to_string().contains("outside the source root"), "{e}");
    }

    #[test]
    fn template_errors_name_the_file_and_line() {
        let d = tree(&[
            ("c/Chart.yaml", CHART),
            (
                "c/templates/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ required \"name is required\" .Values.name }}\n",
            ),
        ]);
        let e =
            render(&Settings::default(), &ctx("c"), &DirSource::new(d.path())).expect_err("fails");
        let diag = e.into_diagnostic();
        assert_eq!(diag.file.as_deref(), Some("c/templates/cm.yaml"));
        assert_eq!(diag.line, Some(4));
        assert_eq!(
            diag.message,
            "execution error at (demo/templates/cm.yaml:4:11): name is required"
        );
    }

    #[test]
    fn random_and_time_functions_are_deterministic_and_crypto_is_refused() {
        let d = tree(&[
            ("c/Chart.yaml", CHART),
            (
                "c/templates/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  r: {{ randAlphaNum 12 | quote }}\n  u: {{ uuidv4 | quote }}\n  t: {{ now | date \"2006-01-02\" | quote }}\n",
            ),
            ("g/Chart.yaml", CHART),
            ("g/templates/cm.yaml", "{{ $ca := genCA \"x\" 365 }}\n"),
        ]);
        let mut c = ctx("c");
        c.commit_time = Some(1_700_000_000);
        let a = render(&Settings::default(), &c, &DirSource::new(d.path())).expect("render");
        let b = render(&Settings::default(), &c, &DirSource::new(d.path())).expect("render");
        assert_eq!(a, b);
        assert_eq!(a.objects[0].value["data"]["t"], "2023-11-14");
        assert_eq!(
            a.objects[0].value["data"]["r"].as_str().map(str::len),
            Some(12)
        );
        let e = render(&Settings::default(), &ctx("g"), &DirSource::new(d.path()))
            .expect_err("refused");
        assert!(
            e.to_string()
                .contains("not available in plumb's helm renderer"),
            "{e}"
        );
    }

    #[test]
    fn settings_reject_unknown_fields() {
        let r: Result<Settings, _> = serde_json::from_str(r#"{"releaseName":"x","bogus":1}"#);
        assert!(r.is_err());
        let s: Settings =
            serde_json::from_str(r#"{"setString":["a=1"],"includeCrds":true}"#).expect("settings");
        assert!(s.include_crds);
    }
}
