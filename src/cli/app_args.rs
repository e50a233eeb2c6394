//! The arguments every app command shares (`render`, `diff`, `apply`, `policy check`), and the
//! render step they all start with.

use std::path::PathBuf;

use clap::Args;
use plumb::app::{App, Overrides};
use plumb::plugin::PluginHost;
use plumb::render::{self, Release};

use super::Global;

#[derive(Args, Clone)]
pub struct AppArgs {
    /// An app directory (with or without plumb.yaml) or an app spec file.
    #[arg(default_value = ".")]
    pub input: PathBuf,
    /// Renderer: a built-in name (plain, kustomize, helm) or a .wasm file. Default: the app
    /// spec's, else detected from the files.
    #[arg(long, value_name = "NAME|PATH.wasm")]
    pub renderer: Option<String>,
    /// Refuse the renderer unless its sha256 is this (hex).
    #[arg(long, value_name = "HEX")]
    pub plugin_sha256: Option<String>,
    /// Set a renderer setting (dotted key; JSON or string value). Repeatable.
    #[arg(long = "set-setting", value_name = "KEY=VALUE")]
    pub set_setting: Vec<String>,
    /// Target namespace for namespaced objects that name none.
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// Source root the renderer may read [default: the enclosing Git work tree, else the app directory].
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// Render from a Git repository (https://, ssh://, git@host:path, git://, file://, a path)
    /// instead of the spec's repoURL or a local directory. Credentials: PLUMB_GIT_TOKEN, or
    /// PLUMB_GIT_USERNAME + PLUMB_GIT_PASSWORD; PLUMB_GIT_SSH_KEY, PLUMB_GIT_KNOWN_HOSTS.
    #[arg(long, value_name = "URL")]
    pub source: Option<String>,
    /// Git revision: branch, tag, semver range over tags (">=1.2.0 <2"), or commit [default: HEAD].
    #[arg(long = "ref", value_name = "REF")]
    pub git_ref: Option<String>,
    /// The app's directory inside the Git repository [default: its root].
    #[arg(long, value_name = "P")]
    pub path: Option<String>,
}

impl AppArgs {
    pub fn overrides(&self) -> Overrides {
        Overrides {
            root: self.root.clone(),
            renderer: self.renderer.clone(),
            renderer_sha256: self.plugin_sha256.clone(),
            settings: self.set_setting.clone(),
            namespace: self.namespace.clone(),
            source: self.source.clone(),
            revision: self.git_ref.clone(),
            source_path: self.path.clone(),
            cache_dir: None,
        }
    }

    /// Resolves the app and renders it with `host`, printing the renderer's warnings.
    pub fn render(&self, global: &Global, host: &PluginHost) -> anyhow::Result<(App, Release)> {
        let mut overrides = self.overrides();
        overrides.cache_dir = global.cache_dir.clone();
        let app = App::resolve(&self.input, &overrides)?;
        for w in &app.warnings {
            eprintln!("warning: {}: {w}", app.name);
        }
        let (plugin, settings) = app.renderer(host)?;
        let started = std::time::Instant::now();
        let release = render::render(&plugin, &settings, &app.context(), app.tree.clone())?;
        tracing::info!(
            app = %app.name,
            renderer = %release.renderer,
            objects = release.objects.len(),
            elapsed = ?started.elapsed(),
            "rendered"
        );
        for w in &release.warnings {
            eprintln!("warning: {} ({}): {w}", app.name, release.renderer);
        }
        Ok((app, release))
    }
}
