//! `plumb watch`: the render → policy → diff/apply loop on every save.

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use notify::{RecursiveMode, Watcher};
use plumb::app::{App, Overrides};
use plumb::apply::{Applier, ApplyOptions, Outcome, Provenance, Quiet};
use plumb::plugin::PluginHost;
use plumb::render::{self, Release};
use plumb::watch::{Debounce, affects, is_change, is_noise, release_diff};

use super::Global;
use super::apply_cmd::ClusterArgs;

#[derive(Args)]
pub struct WatchArgs {
    /// App directories or app spec files to watch.
    #[arg(default_value = ".")]
    inputs: Vec<PathBuf>,
    /// Target namespace for namespaced objects that name none.
    #[arg(short = 'n', long)]
    namespace: Option<String>,
    /// Source root the renderer may read [default: the enclosing Git work tree, else the app directory].
    #[arg(long)]
    root: Option<PathBuf>,
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Apply every good render to the cluster (server-side apply, as `plumb apply`).
    #[arg(long)]
    apply: bool,
    /// With --apply, also prune objects that left the source.
    #[arg(long)]
    prune: bool,
    /// With --apply, take ownership of fields other managers own.
    #[arg(long)]
    force_conflicts: bool,
    /// Diff against the previous render even when a cluster is configured.
    #[arg(long, conflicts_with = "apply")]
    no_cluster: bool,
    /// How long the files must stay quiet before a cycle starts.
    #[arg(long, default_value = "50ms", value_parser = humantime::parse_duration)]
    debounce: Duration,
}

/// One watched app and what its last good render was.
struct Watched {
    input: PathBuf,
    app: App,
    last: Option<Release>,
    /// Files outside the render's reads that still matter: the spec and a renderer .wasm.
    extra: BTreeSet<PathBuf>,
}

struct Ui {
    color: bool,
}

impl Ui {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn diff(&self, d: &str) -> String {
        d.lines()
            .map(|l| {
                let c = if l.starts_with("+++") || l.starts_with("---") {
                    "1"
                } else if l.starts_with('+') {
                    "32"
                } else if l.starts_with('-') {
                    "31"
                } else if l.starts_with("@@") {
                    "36"
                } else {
                    ""
                };
                if c.is_empty() {
                    format!("{l}\n")
                } else {
                    format!("{}\n", self.paint(c, l))
                }
            })
            .collect()
    }
}

fn resolve(input: &Path, args: &WatchArgs) -> anyhow::Result<(App, BTreeSet<PathBuf>)> {
    let overrides = Overrides {
        root: args.root.clone(),
        namespace: args.namespace.clone(),
        ..Default::default()
    };
    let app = App::resolve(input, &overrides)?;
    if let Some(url) = &app.source_url {
        anyhow::bail!(
            "{}: its source is the Git repository {url}; plumb watch follows files on this machine — watch a local checkout instead",
            input.display()
        );
    }
    let mut extra = BTreeSet::new();
    if let Some(f) = &app.spec_file {
        extra.insert(std::path::absolute(f)?);
    }
    // Plugin files by path: a rebuilt renderer or policy starts a cycle (and is reloaded).
    let plugin_paths = app
        .renderer_ref()
        .path
        .into_iter()
        .chain(app.spec.policies.iter().filter_map(|p| p.path.clone()));
    for p in plugin_paths {
        extra.insert(std::path::absolute(app.base_dir.join(p))?);
    }
    Ok((app, extra))
}

fn render_app(host: &PluginHost, app: &App) -> anyhow::Result<Release> {
    let (plugin, settings) = app.renderer(host)?;
    Ok(render::render(
        &plugin,
        &settings,
        &app.context(),
        app.tree.clone(),
    )?)
}

pub fn run(global: &Global, args: WatchArgs) -> anyhow::Result<std::process::ExitCode> {
    let ui = Ui {
        color: std::io::stdout().is_terminal(),
    };
    let host = Arc::new(global.host()?);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;

    let mut apps = Vec::new();
    for input in &args.inputs {
        let (app, extra) = resolve(input, &args)?;
        apps.push(Watched {
            input: input.clone(),
            app,
            last: None,
            extra,
        });
    }
    // A cluster when asked to apply, or when one is configured (unless --no-cluster).
    let mut applier = if args.no_cluster {
        None
    } else {
        let connected = rt.block_on(async {
            let c = plumb::apply::connect(
                args.cluster.kubeconfig.as_deref(),
                args.cluster.context.as_deref(),
            )
            .await?;
            let a = Applier::new(c.client.clone()).await?;
            Ok::<_, anyhow::Error>((a, c.default_namespace))
        });
        match connected {
            Ok(a) => Some(a),
            Err(e) if args.apply => return Err(e.context("--apply needs a cluster")),
            Err(e) => {
                eprintln!(
                    "{}",
                    ui.paint(
                        "33",
                        &format!("no cluster ({e:#}); diffing against the previous render")
                    )
                );
                None
            }
        }
    };

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<PathBuf>();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(ev) = res
            && is_change(&ev.kind)
        {
            for p in ev.paths {
                if !is_noise(&p) {
                    let _ = tx.send(p);
                }
            }
        }
    })?;
    let mut roots = BTreeSet::new();
    for w in &apps {
        roots.insert(w.app.root.clone());
        for e in &w.extra {
            if let Some(dir) = e.parent() {
                roots.insert(dir.to_path_buf());
            }
        }
    }
    for r in &roots {
        watcher.watch(r, RecursiveMode::Recursive)?;
    }
    eprintln!(
        "watching {} app(s) under {} — ctrl-c to stop",
        apps.len(),
        roots
            .iter()
            .map(|r| r.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );

    // Listen for ctrl-c (and SIGTERM) from the start: a signal that arrives during a cycle is
    // kept until the loop waits again, never lost (and never kills the process half-way).
    let (mut sigint, mut sigterm) = rt.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        Ok::<_, std::io::Error>((
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
        ))
    })?;

    let all: Vec<usize> = (0..apps.len()).collect();
    cycle(
        &rt,
        &host,
        &mut apps,
        &all,
        &mut applier,
        &args,
        &ui,
        Instant::now(),
        true,
    );

    let mut debounce = Debounce::new(args.debounce, Duration::from_millis(1000));
    loop {
        let next = rt.block_on(async {
            tokio::select! {
                _ = sigint.recv() => None,
                _ = sigterm.recv() => None,
                p = rx.recv() => p,
            }
        });
        let Some(first) = next else { break };
        debounce.push(first, Instant::now());
        while let Some(wait) = debounce.wait(Instant::now()) {
            match rt.block_on(async { tokio::time::timeout(wait, rx.recv()).await }) {
                Ok(Some(p)) => debounce.push(p, Instant::now()),
                Ok(None) => break,
                Err(_) => {}
            }
        }
        let (paths, started) = debounce.take();
        let affected: Vec<usize> = apps
            .iter()
            .enumerate()
            .filter(|(_, w)| {
                paths.iter().any(|p| {
                    w.extra.contains(p)
                        || w.last
                            .as_ref()
                            .is_none_or(|last| affects(&w.app.root, &last.reads, p))
                })
            })
            .map(|(i, _)| i)
            .collect();
        if affected.is_empty() {
            continue;
        }
        for &i in &affected {
            // The spec or the renderer may have changed: resolve again (a new .wasm reloads).
            if paths.iter().any(|p| apps[i].extra.contains(p)) {
                match resolve(&apps[i].input, &args) {
                    Ok((app, extra)) => {
                        apps[i].app = app;
                        apps[i].extra = extra;
                    }
                    Err(e) => eprintln!("{} {e:#}", ui.paint("31", "error:")),
                }
            }
        }
        cycle(
            &rt,
            &host,
            &mut apps,
            &affected,
            &mut applier,
            &args,
            &ui,
            started.unwrap_or_else(Instant::now),
            false,
        );
    }
    eprintln!("stopped");
    Ok(std::process::ExitCode::SUCCESS)
}

#[allow(clippy::too_many_arguments)]
fn cycle(
    rt: &tokio::runtime::Runtime,
    host: &PluginHost,
    apps: &mut [Watched],
    which: &[usize],
    applier: &mut Option<(Applier, String)>,
    args: &WatchArgs,
    ui: &Ui,
    started: Instant,
    initial: bool,
) {
    for &i in which {
        let w = &mut apps[i];
        let t = Instant::now();
        let release = match render_app(host, &w.app) {
            Ok(r) => r,
            Err(e) => {
                // Keep the last good render (and its reads) so the next save is still noticed.
                eprintln!("{} {}: {e:#}", ui.paint("31", "error:"), w.app.name);
                continue;
            }
        };
        let render_time = t.elapsed();
        for warning in &release.warnings {
            eprintln!("{} {}: {warning}", ui.paint("33", "warning:"), w.app.name);
        }
        let mut out = String::new();
        match applier {
            Some((a, default_ns)) => {
                let ns = w
                    .app
                    .spec
                    .destination
                    .namespace
                    .clone()
                    .unwrap_or_else(|| default_ns.clone());
                let result = rt.block_on(async {
                    let plan = a.plan(&w.app.name, &ns, &release.objects)?;
                    let plan = super::apply_cmd::gate(host, &w.app, a, plan, args.prune).await?;
                    let diff = a.diff(&plan, args.prune).await?;
                    let report = if args.apply && diff.summary.has_changes() {
                        let provenance = Provenance {
                            revision: release.revision.clone(),
                            author: None,
                            renderer: release.renderer.clone(),
                        };
                        let opts = ApplyOptions {
                            prune: args.prune,
                            force_conflicts: args.force_conflicts,
                            ..Default::default()
                        };
                        Some(a.apply(&plan, &provenance, &opts, &Quiet).await?)
                    } else {
                        None
                    };
                    Ok::<_, anyhow::Error>((diff, report))
                });
                match result {
                    Ok((diff, report)) => {
                        for o in &diff.objects {
                            out.push_str(&ui.diff(&o.diff));
                        }
                        match report {
                            Some(r) => {
                                for (id, outcome) in
                                    r.objects.iter().filter(|(_, o)| *o != Outcome::Unchanged)
                                {
                                    out.push_str(&format!(
                                        "  {id} {}\n",
                                        format!("{outcome:?}").to_lowercase()
                                    ));
                                }
                                out.push_str(&format!("  applied: {}\n", r.summary()));
                            }
                            None => out.push_str(&format!("  {}\n", diff.summary)),
                        }
                    }
                    Err(e) => {
                        eprintln!("{} {}: {e:#}", ui.paint("31", "error:"), w.app.name);
                        w.last = Some(release);
                        continue;
                    }
                }
            }
            None => {
                if let Some(last) = &w.last {
                    let diffs = release_diff(last, &release);
                    for d in &diffs {
                        out.push_str(&ui.diff(d));
                    }
                    if diffs.is_empty() {
                        out.push_str("  no change\n");
                    }
                } else {
                    out.push_str(&format!("  {} objects\n", release.objects.len()));
                }
            }
        }
        let label = if initial { "rendered" } else { "cycle" };
        out.push_str(&format!(
            "{} {} in {:.0?} (render {:.0?})\n",
            ui.paint("1", &w.app.name),
            label,
            started.elapsed(),
            render_time
        ));
        let _ = super::emit(&out);
        w.last = Some(release);
    }
}
