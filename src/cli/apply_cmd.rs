//! `plumb apply` and `plumb diff`: the release against a real cluster.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use plumb::app::App;
use plumb::apply::{self, Applier, ApplyOptions, Outcome, Plan, Provenance};
use plumb::plugin::{Operation, PluginHost};
use plumb::policy::{self, Subject};
use plumb::render::{Release, RenderedObject};

use super::Global;
use super::app_args::AppArgs;

/// How to reach the cluster, as kubectl users expect.
#[derive(Args, Clone)]
pub struct ClusterArgs {
    /// Path to the kubeconfig [default: $KUBECONFIG, else ~/.kube/config, else in-cluster].
    #[arg(long, env = "KUBECONFIG", value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use.
    #[arg(long)]
    pub context: Option<String>,
}

#[derive(Args)]
pub struct ApplyArgs {
    #[command(flatten)]
    app: AppArgs,
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Send every request with dryRun=All: validated by the server, nothing written.
    #[arg(long)]
    dry_run: bool,
    /// Delete objects plumb applied for this app that are no longer rendered (also: spec.prune.enabled).
    #[arg(long)]
    prune: bool,
    /// With --prune, also prune when the render produced no objects.
    #[arg(long)]
    allow_empty: bool,
    /// Take ownership of fields that other field managers own.
    #[arg(long)]
    force_conflicts: bool,
    /// Wait until every object is ready, up to this long (e.g. 2m).
    #[arg(long, value_name = "TIMEOUT", num_args = 0..=1, default_missing_value = "5m", value_parser = humantime::parse_duration)]
    wait: Option<Duration>,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
}

#[derive(Args)]
pub struct DiffArgs {
    #[command(flatten)]
    app: AppArgs,
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Also show objects a prune would delete (also: spec.prune.enabled).
    #[arg(long)]
    prune: bool,
    /// Colour the diff: auto (when stdout is a terminal), always, never.
    #[arg(long, default_value = "auto", value_parser = ["auto", "always", "never"])]
    color: String,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// The namespace the app's namespaced objects default to.
fn target_namespace(app: &App, cluster: &apply::Cluster) -> String {
    app.spec
        .destination
        .namespace
        .clone()
        .unwrap_or_else(|| cluster.default_namespace.clone())
}

async fn prepare(
    host: &PluginHost,
    release: &Release,
    app: &App,
    args: &ClusterArgs,
    prune: bool,
) -> anyhow::Result<(Applier, Plan)> {
    let cluster = apply::connect(args.kubeconfig.as_deref(), args.context.as_deref()).await?;
    let namespace = target_namespace(app, &cluster);
    let applier = Applier::new(cluster.client.clone()).await?;
    let plan = applier.plan(&app.name, &namespace, &release.objects)?;
    let plan = gate(host, app, &applier, plan, prune).await?;
    Ok((applier, plan))
}

/// The policy gate between render and apply: every policy the app lists judges the whole
/// release — each object with its live counterpart and operation, plus what a prune would
/// delete. A denial stops everything (zero writes); mutations are what gets applied.
pub(crate) async fn gate(
    host: &PluginHost,
    app: &App,
    applier: &Applier,
    plan: Plan,
    prune: bool,
) -> anyhow::Result<Plan> {
    if app.spec.policies.is_empty() {
        return Ok(plan);
    }
    let live = applier.live(&plan).await?;
    let mut subjects: Vec<Subject> = plan
        .objects
        .iter()
        .zip(live)
        .map(|(o, live)| Subject {
            object: o.object.clone(),
            origin: o.origin.clone(),
            operation: if live.is_some() {
                Operation::Update
            } else {
                Operation::Create
            },
            live,
        })
        .collect();
    if prune {
        for (_, live) in applier.prune_candidates(&plan).await? {
            subjects.push(Subject {
                object: live.clone(),
                origin: None,
                live: Some(live),
                operation: Operation::Delete,
            });
        }
    }
    let context = app.context();
    // Plugin calls are synchronous (wasmtime-wasi may block on its own runtime): run them on a
    // plain thread, outside this async context.
    let decision = std::thread::scope(|s| {
        s.spawn(|| {
            let policies = policy::load(host, &app.spec.policies, &app.base_dir);
            policy::evaluate(&policies, subjects, &context)
        })
        .join()
    })
    .map_err(|_| anyhow::anyhow!("the policy gate panicked"))?;
    for v in decision.warnings() {
        eprintln!("warning: {} (policy): {v}", app.name);
    }
    if !decision.allowed {
        anyhow::bail!(
            "the policies of app {} deny this release; nothing was applied:\n{}",
            app.name,
            policy::check::to_text(&decision)
        );
    }
    if decision.mutations.iter().any(|m| m.applied) {
        for m in decision.mutations.iter().filter(|m| m.applied) {
            eprintln!("policy {} changed {}: {}", m.policy, m.target, m.reason);
        }
        // Plan again from the objects as the policies left them.
        let mutated: Vec<RenderedObject> = decision
            .objects
            .iter()
            .filter(|s| s.operation != Operation::Delete)
            .map(|s| RenderedObject {
                value: s.object.clone(),
                origin: s.origin.clone(),
            })
            .collect();
        return Ok(applier.plan(&plan.app, &plan.namespace, &mutated)?);
    }
    Ok(plan)
}

/// A progress bar on stderr for long applies, when stderr is a terminal.
struct Bar(Option<indicatif::ProgressBar>);

impl apply::Progress for Bar {
    fn start(&self, total: usize) {
        if let Some(b) = &self.0 {
            b.set_length(total as u64);
        }
    }
    fn step(&self, what: &str) {
        if let Some(b) = &self.0 {
            b.set_message(what.to_string());
            b.inc(1);
        }
    }
    fn finish(&self) {
        if let Some(b) = &self.0 {
            b.finish_and_clear();
        }
    }
}

pub fn run_apply(global: &Global, args: ApplyArgs) -> anyhow::Result<ExitCode> {
    let host = global.host()?;
    let (app, release) = args.app.render(global, &host)?;
    let opts = ApplyOptions {
        dry_run: args.dry_run,
        prune: args.prune || app.spec.prune.enabled,
        allow_empty: args.allow_empty || app.spec.prune.allow_empty,
        force_conflicts: args.force_conflicts,
        wait: args.wait,
        concurrency: args.concurrency,
    };
    let provenance = Provenance {
        revision: release.revision.clone(),
        author: None,
        renderer: format!("{} sha256:{}", release.renderer, release.renderer_digest),
    };
    let bar = if std::io::stderr().is_terminal() && release.objects.len() > 20 {
        let b = indicatif::ProgressBar::new(0);
        b.set_style(
            indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {wide_msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Bar(Some(b))
    } else {
        Bar(None)
    };
    let report = runtime()?.block_on(async {
        let (mut applier, plan) = prepare(&host, &release, &app, &args.cluster, opts.prune).await?;
        Ok::<_, anyhow::Error>(applier.apply(&plan, &provenance, &opts, &bar).await?)
    })?;
    let mut text = String::new();
    for (id, outcome) in &report.objects {
        if *outcome != Outcome::Unchanged || report.objects.len() <= 50 {
            let verb = match outcome {
                Outcome::Created => "created",
                Outcome::Configured => "configured",
                Outcome::Unchanged => "unchanged",
                Outcome::Pruned => "pruned",
            };
            let suffix = if report.dry_run { " (dry run)" } else { "" };
            text.push_str(&format!("{id} {verb}{suffix}\n"));
        }
    }
    for (id, why) in &report.kept {
        text.push_str(&format!("{id} kept: {why}\n"));
    }
    text.push_str(&format!("{}: {}\n", app.name, report.summary()));
    super::emit(&text)?;
    Ok(ExitCode::SUCCESS)
}

fn colorize(diff: &str) -> String {
    diff.lines()
        .map(|l| {
            if l.starts_with("+++") || l.starts_with("---") {
                format!("\x1b[1m{l}\x1b[0m\n")
            } else if l.starts_with('+') {
                format!("\x1b[32m{l}\x1b[0m\n")
            } else if l.starts_with('-') {
                format!("\x1b[31m{l}\x1b[0m\n")
            } else if l.starts_with("@@") {
                format!("\x1b[36m{l}\x1b[0m\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect()
}

/// Like `kubectl diff`: exit 0 when there is nothing to change, 1 when there is.
pub fn run_diff(global: &Global, args: DiffArgs) -> anyhow::Result<ExitCode> {
    let host = global.host()?;
    let (app, release) = args.app.render(global, &host)?;
    let prune = args.prune || app.spec.prune.enabled;
    let report = runtime()?.block_on(async {
        let (applier, plan) = prepare(&host, &release, &app, &args.cluster, prune).await?;
        Ok::<_, anyhow::Error>(applier.diff(&plan, prune).await?)
    })?;
    let color = match args.color.as_str() {
        "always" => true,
        "never" => false,
        _ => std::io::stdout().is_terminal(),
    };
    let mut text = String::new();
    for o in &report.objects {
        if o.diff.is_empty() {
            continue;
        }
        if let Some(note) = &o.note {
            text.push_str(&format!(
                "# {}: shown as rendered; the server cannot compute it yet: {note}\n",
                o.id
            ));
        }
        text.push_str(&if color {
            colorize(&o.diff)
        } else {
            o.diff.clone()
        });
    }
    text.push_str(&format!("{}: {}\n", app.name, report.summary));
    super::emit(&text)?;
    Ok(if report.summary.has_changes() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
