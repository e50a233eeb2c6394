//! Command-line interface. Errors become `anyhow` here, at the edge, and are printed with
//! their whole chain.

mod app_args;
mod apply_cmd;
mod dev_cmd;
mod plugin_cmd;
mod policy_cmd;
mod render_cmd;
mod watch_cmd;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use plumb::plugin::{CompileCache, Limits, PluginHost};

#[derive(Parser)]
#[command(
    name = "plumb",
    version,
    about = "GitOps with sandboxed WebAssembly renderers and policies"
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
pub struct Global {
    /// More log output (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    /// Where compiled plugins are cached [default: $PLUMB_CACHE_DIR, else ~/.cache/plumb].
    #[arg(long, global = true, env = "PLUMB_CACHE_DIR")]
    cache_dir: Option<PathBuf>,
    /// Compile plugins in memory every time, without the on-disk cache.
    #[arg(long, global = true)]
    no_cache: bool,
    /// Memory cap of one plugin call, in MiB.
    #[arg(long, global = true, default_value_t = 256, value_name = "MIB")]
    plugin_memory: u64,
    /// CPU deadline of one plugin call (e.g. 10s, 500ms).
    #[arg(long, global = true, default_value = "10s", value_parser = humantime::parse_duration)]
    plugin_timeout: Duration,
    /// Cap on the output of one plugin call, in MiB.
    #[arg(long, global = true, default_value_t = 64, value_name = "MIB")]
    plugin_output: u64,
}

#[derive(ValueEnum, Clone, Copy, PartialEq, Eq)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Render an app and print its objects.
    Render(render_cmd::RenderArgs),
    /// Inspect and list plugins.
    #[command(subcommand)]
    Plugin(plugin_cmd::PluginCmd),
    /// Check an app against its policies, and test policies against fixtures.
    #[command(subcommand)]
    Policy(policy_cmd::PolicyCmd),
    /// Print the JSON Schema of the app spec (plumb.yaml).
    Schema,
    /// Show what applying would change (exit 1 when something would).
    Diff(apply_cmd::DiffArgs),
    /// Render, then server-side apply to the cluster (and prune, wait).
    Apply(apply_cmd::ApplyArgs),
    /// Re-render (and diff or apply) an app on every save.
    Watch(watch_cmd::WatchArgs),
    /// Local development helpers.
    #[command(subcommand)]
    Dev(dev_cmd::DevCmd),
}

impl Global {
    /// A plugin host configured from the command line.
    pub fn host(&self) -> anyhow::Result<PluginHost> {
        let cache = if self.no_cache {
            CompileCache::disabled()
        } else {
            match self.cache_dir.clone().or_else(CompileCache::default_dir) {
                Some(d) => CompileCache::at(d),
                None => CompileCache::disabled(),
            }
        };
        let limits = Limits {
            memory: self.plugin_memory << 20,
            timeout: self.plugin_timeout,
            output: self.plugin_output << 20,
        };
        Ok(PluginHost::new(limits, cache)?)
    }
}

fn init_logging(g: &Global) {
    use tracing_subscriber::EnvFilter;
    let default = match g.verbose {
        // kube-client logs every refused request at error level; plumb reports them itself.
        0 => "warn,kube_client=off",
        1 => "plumb=info,warn,kube_client=off",
        2 => "plumb=debug,info",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match g.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.with_target(false).init(),
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.global);
    let result = match cli.command {
        Command::Render(args) => render_cmd::run(&cli.global, args),
        Command::Plugin(cmd) => plugin_cmd::run(&cli.global, cmd),
        Command::Policy(cmd) => policy_cmd::run(&cli.global, cmd),
        Command::Schema => schema(),
        Command::Diff(args) => {
            // As kubectl diff: 0 no changes, 1 changes, >1 an error.
            return match apply_cmd::run_diff(&cli.global, args) {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::from(2)
                }
            };
        }
        Command::Apply(args) => apply_cmd::run_apply(&cli.global, args),
        Command::Dev(cmd) => dev_cmd::run(cmd),
        Command::Watch(args) => watch_cmd::run(&cli.global, args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn schema() -> anyhow::Result<ExitCode> {
    let schema = schemars::schema_for!(plumb::spec::App);
    emit(&(serde_json::to_string_pretty(&schema)? + "\n"))?;
    Ok(ExitCode::SUCCESS)
}

/// Writes to stdout; a closed pipe (`plumb render | head`) is not an error.
pub fn emit(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
