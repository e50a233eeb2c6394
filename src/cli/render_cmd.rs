//! `plumb render`: print what an app renders to, without touching a cluster.

use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::Global;
use super::app_args::AppArgs;

#[derive(Args)]
pub struct RenderArgs {
    #[command(flatten)]
    app: AppArgs,
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
    let (_app, release) = args.app.render(global, &global.host()?)?;
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
