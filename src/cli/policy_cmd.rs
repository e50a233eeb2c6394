//! `plumb policy check` (render + policies, no cluster) and `plumb policy test` (policies
//! against fixtures).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use plumb::app::{App, Overrides};
use plumb::policy::{check, testing};

use super::Global;

#[derive(Subcommand)]
pub enum PolicyCmd {
    /// Render an app and judge it with the policies its spec lists. Exit 1 on any enforced
    /// denial (or a policy that cannot judge under enforce).
    Check(CheckArgs),
    /// Run policy test files (kind: PolicyTest) against their fixtures. Exit 1 on any failed case.
    Test(TestArgs),
}

#[derive(Args)]
pub struct CheckArgs {
    /// An app directory (with or without plumb.yaml) or an app spec file.
    #[arg(default_value = ".")]
    input: PathBuf,
    /// Target namespace (passed to the renderer and the policies).
    #[arg(short = 'n', long)]
    namespace: Option<String>,
    /// Source root the renderer may read [default: the enclosing Git work tree, else the app directory].
    #[arg(long)]
    root: Option<PathBuf>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = CheckOutput::Text)]
    output: CheckOutput,
}

#[derive(ValueEnum, Clone, Copy, PartialEq, Eq)]
enum CheckOutput {
    Text,
    Json,
    Sarif,
}

#[derive(Args)]
pub struct TestArgs {
    /// A directory searched for test files, or one test file.
    #[arg(default_value = ".")]
    path: PathBuf,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = TestOutput::Text)]
    output: TestOutput,
}

#[derive(ValueEnum, Clone, Copy, PartialEq, Eq)]
enum TestOutput {
    Text,
    Json,
    Junit,
    Sarif,
}

pub fn run(global: &Global, cmd: PolicyCmd) -> anyhow::Result<ExitCode> {
    match cmd {
        PolicyCmd::Check(args) => run_check(global, args),
        PolicyCmd::Test(args) => run_test(global, args),
    }
}

fn run_check(global: &Global, args: CheckArgs) -> anyhow::Result<ExitCode> {
    let overrides = Overrides {
        root: args.root,
        namespace: args.namespace,
        ..Default::default()
    };
    let app = App::resolve(&args.input, &overrides)?;
    let host = global.host()?;
    let checked = check::check(&host, &app)?;
    for w in &checked.release.warnings {
        eprintln!("warning: {} ({}): {w}", app.name, checked.release.renderer);
    }
    if app.spec.policies.is_empty() {
        eprintln!(
            "warning: {} lists no policies (spec.policies): nothing to check",
            app.name
        );
    }
    let d = &checked.decision;
    let text = match args.output {
        CheckOutput::Text => check::to_text(d),
        CheckOutput::Json => serde_json::to_string_pretty(d)? + "\n",
        CheckOutput::Sarif => {
            // Origins are relative to the source root; SARIF URIs are made relative to the
            // current directory when the root is inside it, else absolute.
            let prefix = std::env::current_dir()
                .ok()
                .and_then(|cwd| app.root.strip_prefix(&cwd).ok().map(|p| p.to_path_buf()))
                .unwrap_or_else(|| app.root.clone());
            let prefix = if prefix.as_os_str().is_empty() {
                String::new()
            } else {
                format!("{}/", prefix.display())
            };
            serde_json::to_string_pretty(&check::to_sarif(d, &prefix))? + "\n"
        }
    };
    super::emit(&text)?;
    Ok(if d.allowed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn run_test(global: &Global, args: TestArgs) -> anyhow::Result<ExitCode> {
    let host = global.host()?;
    let report = testing::run(&host, &args.path)?;
    let text = match args.output {
        TestOutput::Text => testing::to_text(&report),
        TestOutput::Json => serde_json::to_string_pretty(&testing::to_json(&report))? + "\n",
        TestOutput::Junit => testing::to_junit(&report),
        TestOutput::Sarif => {
            let base = if args.path.is_file() {
                args.path.parent().map(PathBuf::from).unwrap_or_default()
            } else {
                args.path.clone()
            };
            let prefix = if base.as_os_str().is_empty() {
                String::new()
            } else {
                format!("{}/", base.display().to_string().trim_end_matches('/'))
            };
            serde_json::to_string_pretty(&testing::to_sarif(&report, &prefix))? + "\n"
        }
    };
    super::emit(&text)?;
    Ok(if report.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
