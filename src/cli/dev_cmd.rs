//! `plumb dev cluster up|down`: a local, real Kubernetes API server to try plumb against.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use plumb::devcluster::{self, DevCluster};

#[derive(Subcommand)]
pub enum DevCmd {
    /// A local control plane (etcd + kube-apiserver + kube-controller-manager on 127.0.0.1).
    #[command(subcommand)]
    Cluster(ClusterCmd),
}

#[derive(Subcommand)]
pub enum ClusterCmd {
    /// Start it (or report the running one) and print the KUBECONFIG to use.
    Up {
        /// Where its data, logs and kubeconfig live.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Stop the processes `up` started and delete its data.
    Down {
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

fn default_dir() -> PathBuf {
    plumb::plugin::CompileCache::default_dir()
        .unwrap_or_else(|| PathBuf::from(".plumb"))
        .join("dev-cluster")
}

/// PIDs recorded by `up`, still alive and still the processes we started.
fn live_pids(dir: &std::path::Path) -> Vec<u32> {
    let Ok(text) = std::fs::read_to_string(dir.join("pids")) else {
        return Vec::new();
    };
    text.split_whitespace()
        .filter_map(|p| p.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/cmdline")).is_ok_and(|c| {
                c.contains("etcd")
                    || c.contains("kube-apiserver")
                    || c.contains("kube-controller-manager")
            })
        })
        .collect()
}

pub fn run(cmd: DevCmd) -> anyhow::Result<ExitCode> {
    let DevCmd::Cluster(cmd) = cmd;
    match cmd {
        ClusterCmd::Up { dir } => {
            let dir = dir.unwrap_or_else(default_dir);
            let kubeconfig = dir.join("kubeconfig");
            if live_pids(&dir).len() == 3 && kubeconfig.exists() {
                eprintln!("a dev cluster is already running in {}", dir.display());
            } else {
                for pid in live_pids(&dir) {
                    devcluster::stop_pid(pid);
                }
                let _ = std::fs::remove_dir_all(&dir);
                let cluster = DevCluster::start(&devcluster::default_bin_dir(), &dir)?;
                eprintln!(
                    "dev cluster up at {} (logs in {})",
                    cluster.server(),
                    dir.display()
                );
                let pids = cluster.detach();
                std::fs::write(
                    dir.join("pids"),
                    pids.iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(" "),
                )?;
            }
            super::emit(&format!("export KUBECONFIG={}\n", kubeconfig.display()))?;
        }
        ClusterCmd::Down { dir } => {
            let dir = dir.unwrap_or_else(default_dir);
            let pids = live_pids(&dir);
            for pid in pids.iter().rev() {
                devcluster::stop_pid(*pid);
            }
            let _ = std::fs::remove_dir_all(&dir);
            eprintln!("dev cluster down ({} processes stopped)", pids.len());
        }
    }
    Ok(ExitCode::SUCCESS)
}
