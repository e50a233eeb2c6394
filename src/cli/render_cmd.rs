//! `plumb render`: print what an app renders to, without touching a cluster.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use plumb::app::{App, Overrides};
use plumb::render;

use super::Global;

#[derive(Args)]
pub struct RenderArgs {
    /// An app directory (with or without plumb.yaml) or an app spec file.
    #[arg(default_value = ".")]
    input: PathBuf,
    /// Renderer: a built-in name (plain, kustomize, helm) or a .wasm file. Default: the app
    /// spec's, else detected from the files.
    #[arg(long, value_name = "NAME|PATH.wasm")]
    renderer: Option<String>,
    /// Refuse the renderer unless its sha256 is this (hex).
    #[arg(long, value_name = "HEX")]
    plugin_sha256: Option<String>,
    /// Set a renderer setting (dotted key; JSON or string value). Repeatable.
    #[arg(long = "set-setting", value_name = "KEY=VALUE")]
    set_setting: Vec<String>,
    /// Target namespace (passed to the renderer).
    #[arg(short = 'n', long)]
    namespace: Option<String>,
    /// Source root the renderer may read [default: the enclosing Git work tree, else the app directory].
    #[arg(long)]
    root: Option<PathBuf>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Output::Yaml)]
    output: Output,
}

#[derive(ValueEnum, Clone, Copy, PartialEq, Eq)]
enum Output {
    Yaml,
    Json,
}

pub fn run(global: &Global, args: RenderArgs) -> anyhow::Result<ExitCode> {
    let overrides = Overrides {
        root: args.root,
        renderer: args.renderer,
        renderer_sha256: args.plugin_sha256,
        settings: args.set_setting,
        namespace: args.namespace,
    };
    let app = App::resolve(&args.input, &overrides)?;
    let host = global.host()?;
    let (plugin, settings) = app.renderer(&host)?;
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
    let text = match args.output {
        Output::Yaml => plumb::yaml::to_yaml_stream(release.objects.iter().map(|o| &o.value)),
        Output::Json => {
            let items: Vec<_> = release.objects.iter().map(|o| o.value.clone()).collect();
            let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
            serde_json::to_string_pretty(&list)? + "\n"
        }
    };
    super::emit(&text)?;
    Ok(ExitCode::SUCCESS)
}
