//! Turning what the user named (a directory or an app spec file) into an app ready to render:
//! its source tree, its path inside it, its renderer and settings, its context. The CLI, watch
//! mode and the controller all start here.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use crate::plugin::{Context, Plugin, PluginError, PluginHost};
use crate::render;
use crate::source::git::{self, CommitInfo, GitError, GitSources, SourceRequest, Verification};
use crate::source::{LocalDir, SourceTree};
use crate::spec::{self, AppSpec, LoadedApp, PluginRef, SPEC_FILE, SpecError};

/// Why an app could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Plugin(#[from] PluginError),
    #[error("{path}: no such file or directory")]
    Missing { path: PathBuf },
    #[error("cannot open {path} as a source tree: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the app directory {dir} is not inside the source root {root}; pass --root")]
    OutsideRoot { dir: PathBuf, root: PathBuf },
    #[error("{0}")]
    Setting(String),
    #[error(transparent)]
    Git(#[from] GitError),
    #[error("{0}")]
    GitSource(String),
}

/// An app, resolved and ready to render.
pub struct App {
    pub name: String,
    pub spec: AppSpec,
    /// The spec file, when there is one.
    pub spec_file: Option<PathBuf>,
    /// The source root on disk (empty for a Git source, read from the object database).
    pub root: PathBuf,
    pub tree: Arc<dyn SourceTree>,
    /// The app's path inside the root ("" for the root itself).
    pub path: String,
    /// Directory relative plugin paths are resolved against.
    pub base_dir: PathBuf,
    /// For a Git source: the repository URL (without password) and the commit rendered.
    pub source_url: Option<String>,
    pub commit: Option<CommitInfo>,
    /// Found while resolving the source (a failed fetch served from the cache, a signature
    /// problem under `signatureMode: warn`); show them with the render.
    pub warnings: Vec<String>,
}

/// What the command line adds to (or overrides in) an app spec.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--root`: the source root, instead of the enclosing Git work tree.
    pub root: Option<PathBuf>,
    /// `--renderer NAME|PATH.wasm`.
    pub renderer: Option<String>,
    /// `--plugin-sha256`.
    pub renderer_sha256: Option<String>,
    /// `--set-setting k=v`, in order.
    pub settings: Vec<String>,
    /// `-n`: target namespace.
    pub namespace: Option<String>,
    /// `--source URL`: a Git repository, instead of the spec's `repoURL` or a local directory.
    pub source: Option<String>,
    /// `--ref REF`: branch, tag, semver range or commit (Git sources).
    pub revision: Option<String>,
    /// `--path P`: the app's path inside the repository (Git sources).
    pub source_path: Option<String>,
    /// `--cache-dir`: where Git repositories are cached (`<dir>/git`) [default: $PLUMB_CACHE_DIR,
    /// else ~/.cache/plumb].
    pub cache_dir: Option<PathBuf>,
}

impl App {
    /// Resolves `input` (a directory, a directory with `plumb.yaml`, or an app spec file).
    pub fn resolve(input: &Path, overrides: &Overrides) -> Result<App, AppError> {
        if !input.exists() && overrides.source.is_none() {
            return Err(AppError::Missing {
                path: input.to_path_buf(),
            });
        }
        let spec_file = if !input.exists() {
            None
        } else if input.is_file() {
            Some(input.to_path_buf())
        } else {
            Some(input.join(SPEC_FILE)).filter(|f| f.is_file())
        };
        let (name, mut spec, base_dir) = match &spec_file {
            Some(f) => {
                let LoadedApp { app, file } = spec::load(f)?;
                let loaded = LoadedApp { app, file };
                (
                    loaded.name(),
                    loaded.app.spec.clone(),
                    loaded.base_dir().to_path_buf(),
                )
            }
            None => (
                spec::dir_name(input),
                AppSpec::default(),
                input.to_path_buf(),
            ),
        };
        if let Some(url) = &overrides.source {
            spec.source.repo_url = Some(url.clone());
        }
        if spec.source.repo_url.is_some() {
            if let Some(r) = &overrides.revision {
                spec.source.target_revision = Some(r.clone());
            }
            if let Some(p) = &overrides.source_path {
                spec.source.path = Some(p.clone());
            }
        } else if overrides.revision.is_some() || overrides.source_path.is_some() {
            return Err(AppError::GitSource(
                "--ref and --path apply to Git sources: give --source URL (or repoURL in the app spec)".into(),
            ));
        }
        let (name, root, tree, path, source_url, commit, warnings) = match &spec.source.repo_url {
            Some(url) => {
                let name = if spec_file.is_some() {
                    name
                } else {
                    git_app_name(url, spec.source.path.as_deref())
                };
                let _span = tracing::info_span!("app", app = %name).entered();
                let co = checkout_git(url, &spec.source, overrides)?;
                let root = PathBuf::new();
                let tree: Arc<dyn SourceTree> = co.tree.clone();
                (
                    name,
                    root,
                    tree,
                    co.path,
                    Some(co.url),
                    Some(co.commit),
                    co.warnings,
                )
            }
            None => {
                let (root, tree, path) = local_source(&spec, &base_dir, overrides)?;
                (name, root, tree, path, None, None, Vec::new())
            }
        };
        Self::finish(
            App {
                name,
                spec,
                spec_file,
                root,
                tree,
                path,
                base_dir,
                source_url,
                commit,
                warnings,
            },
            overrides,
        )
    }

    /// Applies the command line's renderer, settings and namespace.
    fn finish(mut app: App, overrides: &Overrides) -> Result<App, AppError> {
        let spec = &mut app.spec;
        if let Some(r) = &overrides.renderer {
            let mut renderer = PluginRef::default();
            if r.ends_with(".wasm") || r.contains('/') {
                // A path given on the command line is relative to the working directory.
                renderer.path = Some(
                    std::path::absolute(r)
                        .map(|p| p.display().to_string())
                        .unwrap_or_else(|_| r.clone()),
                );
            } else {
                renderer.name = Some(r.clone());
            }
            renderer.settings = spec.renderer.as_ref().and_then(|old| old.settings.clone());
            spec.renderer = Some(renderer);
        }
        if let Some(pin) = &overrides.renderer_sha256 {
            spec.renderer.get_or_insert_with(Default::default).sha256 = Some(pin.clone());
        }
        if !overrides.settings.is_empty() {
            let r = spec.renderer.get_or_insert_with(Default::default);
            let mut settings = r
                .settings
                .take()
                .unwrap_or_else(|| Value::Object(Default::default()));
            for kv in &overrides.settings {
                set_setting(&mut settings, kv).map_err(AppError::Setting)?;
            }
            r.settings = Some(settings);
        }
        if let Some(ns) = &overrides.namespace {
            spec.destination.namespace = Some(ns.clone());
        }
        Ok(app)
    }
}

/// A local source: the app directory, inside the enclosing work tree (or `--root`).
fn local_source(
    spec: &AppSpec,
    base_dir: &Path,
    overrides: &Overrides,
) -> Result<(PathBuf, Arc<dyn SourceTree>, String), AppError> {
    let app_dir = match &spec.source.path {
        Some(p) => base_dir.join(p),
        None => base_dir.to_path_buf(),
    };
    let app_dir = app_dir.canonicalize().map_err(|_| AppError::Missing {
        path: app_dir.clone(),
    })?;
    let root = match &overrides.root {
        Some(r) => r
            .canonicalize()
            .map_err(|_| AppError::Missing { path: r.clone() })?,
        None => enclosing_work_tree(&app_dir).unwrap_or_else(|| app_dir.clone()),
    };
    let rel = app_dir
        .strip_prefix(&root)
        .map_err(|_| AppError::OutsideRoot {
            dir: app_dir.clone(),
            root: root.clone(),
        })?;
    let path = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/");
    let tree = LocalDir::open(&root).map_err(|source| AppError::Open {
        path: root.clone(),
        source,
    })?;
    Ok((root, Arc::new(tree), path))
}

/// Fetches (or reads from the cache) the app's revision, verified per its signature mode.
fn checkout_git(
    url: &str,
    source: &spec::SourceSpec,
    overrides: &Overrides,
) -> Result<git::Checkout, AppError> {
    let cache_root = overrides
        .cache_dir
        .clone()
        .or_else(crate::plugin::CompileCache::default_dir)
        .ok_or_else(|| {
            AppError::GitSource(
                "no cache directory for Git repositories: set --cache-dir or PLUMB_CACHE_DIR"
                    .into(),
            )
        })?;
    let keys =
        git::TrustedKeys::parse(&source.trusted_keys).map_err(|reason| GitError::TrustedKeys {
            url: git::redact(url),
            reason,
        })?;
    let path = source
        .path
        .as_deref()
        .unwrap_or("")
        .trim_matches('/')
        .to_string();
    let path = if path == "." { String::new() } else { path };
    crate::source::check_path(&path).map_err(|e| {
        AppError::GitSource(format!(
            "the app path {path:?} in {}: {e}",
            git::redact(url)
        ))
    })?;
    let sources = GitSources::new(git::git_cache_dir(&cache_root));
    let req = SourceRequest {
        url: url.to_string(),
        revision: source
            .target_revision
            .clone()
            .unwrap_or_else(|| "HEAD".into()),
        path,
        verification: Verification {
            mode: source.signature_mode,
            keys,
        },
    };
    Ok(sources.checkout(&req)?)
}

/// An app named by its source alone: the last part of its path, else the repository's name.
fn git_app_name(url: &str, path: Option<&str>) -> String {
    path.and_then(|p| p.trim_matches('/').rsplit('/').next())
        .filter(|n| !n.is_empty() && *n != ".")
        .or_else(|| {
            url.trim_end_matches('/')
                .rsplit(['/', ':'])
                .next()
                .map(|n| n.trim_end_matches(".git"))
        })
        .unwrap_or("app")
        .to_string()
}

impl App {
    /// The renderer this app uses: from the spec or the command line, else detected.
    pub fn renderer_ref(&self) -> PluginRef {
        let mut r = self.spec.renderer.clone().unwrap_or_default();
        if r.name.is_none() && r.path.is_none() {
            let detected = render::detect_renderer(self.tree.as_ref(), &self.path);
            tracing::info!(app = %self.name, renderer = %detected, "detected the renderer from the files present");
            r.name = Some(detected.to_string());
        }
        r
    }

    /// Loads the app's renderer and returns it with its settings.
    pub fn renderer(&self, host: &PluginHost) -> Result<(Arc<Plugin>, Value), AppError> {
        let r = self.renderer_ref();
        let plugin = load_plugin(host, &r, &self.base_dir)?;
        Ok((
            plugin,
            r.settings
                .unwrap_or_else(|| Value::Object(Default::default())),
        ))
    }

    /// What plugins are told about this app.
    pub fn context(&self) -> Context {
        Context {
            app: self.name.clone(),
            namespace: self.spec.destination.namespace.clone().unwrap_or_default(),
            path: self.path.clone(),
            revision: self
                .commit
                .as_ref()
                .map_or_else(|| "local".into(), |c| c.id.clone()),
            author: self.commit.as_ref().map(|c| c.author.clone()),
            commit_time: self.commit.as_ref().map(|c| c.commit_time),
            ..Default::default()
        }
    }
}

/// Loads a plugin named by a spec: a built-in by name, or a file (relative to `base_dir`).
pub fn load_plugin(
    host: &PluginHost,
    r: &PluginRef,
    base_dir: &Path,
) -> Result<Arc<Plugin>, PluginError> {
    match (&r.name, &r.path) {
        (_, Some(path)) => {
            let full = base_dir.join(path);
            if r.sha256.is_none() {
                tracing::warn!(plugin = %full.display(), "plugin is not pinned by sha256; pin it in production");
            }
            host.load_file(&full, r.sha256.as_deref())
        }
        (Some(name), None) => host.load_builtin(name),
        (None, None) => host.load_builtin("plain"),
    }
}

/// The top of the Git work tree holding `dir`, if any.
fn enclosing_work_tree(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

/// Applies one `key.path=value` to a settings object. The value is read as JSON when it parses
/// (numbers, booleans, null, `[..]`, `{..}`), otherwise taken as a string.
pub fn set_setting(settings: &mut Value, kv: &str) -> Result<(), String> {
    let Some((key, raw)) = kv.split_once('=') else {
        return Err(format!("--set-setting {kv:?}: expected KEY=VALUE"));
    };
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(format!(
            "--set-setting {kv:?}: the key must be a dotted path like a.b.c"
        ));
    }
    let value =
        serde_json::from_str::<Value>(raw).unwrap_or_else(|_| Value::String(raw.to_string()));
    let mut cur = settings;
    let parts: Vec<&str> = key.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        if !cur.is_object() {
            return Err(format!(
                "--set-setting {kv:?}: {} is not a mapping",
                parts[..i].join(".")
            ));
        }
        let map = cur
            .as_object_mut()
            .ok_or_else(|| format!("--set-setting {kv:?}: not a mapping"))?;
        if i + 1 == parts.len() {
            map.insert(part.to_string(), value);
            return Ok(());
        }
        cur = map
            .entry(part.to_string())
            .or_insert_with(|| Value::Object(Default::default()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn set_setting_builds_nested_typed_values() {
        let mut s = json!({});
        for kv in [
            "recurse=false",
            "a.b=3",
            "a.c=hello",
            "list=[\"x\"]",
            "a.d=1.2.3",
        ] {
            set_setting(&mut s, kv).unwrap();
        }
        assert_eq!(
            s,
            json!({"recurse": false, "a": {"b": 3, "c": "hello", "d": "1.2.3"}, "list": ["x"]})
        );
        assert!(set_setting(&mut s, "novalue").is_err());
        assert!(
            set_setting(&mut s, "recurse.x=1")
                .unwrap_err()
                .contains("not a mapping")
        );
    }
}
