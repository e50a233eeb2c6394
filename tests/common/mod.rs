//! Shared helpers for end-to-end tests: one real API server per test binary (started on first
//! use, stopped by PID when the binary exits), the plumb binary, and the reference kubectl.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

use plumb::devcluster::{self, DevCluster};

#[path = "../differential/oracle.rs"]
mod oracle;

static CLUSTER: Mutex<Option<DevCluster>> = Mutex::new(None);
static KUBECONFIG: OnceLock<PathBuf> = OnceLock::new();

extern "C" fn stop_cluster() {
    if let Ok(mut guard) = CLUSTER.lock()
        && let Some(mut c) = guard.take()
    {
        c.stop();
    }
}

/// The kubeconfig of this test binary's API server, starting it on first use. A server that
/// cannot start fails the test loudly: run scripts/setup.
pub fn kubeconfig() -> &'static Path {
    KUBECONFIG.get_or_init(|| {
        let dir =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cluster-{}", std::process::id()));
        let cluster = DevCluster::start(&devcluster::default_bin_dir(), &dir)
            .unwrap_or_else(|e| panic!("the test API server did not start: {e}"));
        let path = cluster.kubeconfig().to_path_buf();
        *CLUSTER.lock().unwrap() = Some(cluster);
        // SAFETY: registering a plain extern "C" fn with atexit has no preconditions.
        unsafe { libc::atexit(stop_cluster) };
        path
    })
}

/// Runs the plumb binary against this binary's API server.
pub fn plumb(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_plumb"))
        .args(args)
        .env("KUBECONFIG", kubeconfig())
        .env(
            "PLUMB_CACHE_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-cache"),
        )
        .env_remove("RUST_LOG")
        .output()
        .expect("run plumb")
}

/// The reference kubectl (v1.35, installed by scripts/install-oracles). Never /usr/bin/kubectl.
pub fn kubectl(args: &[&str]) -> Output {
    let bin = oracle::oracle("kubectl");
    Command::new(bin)
        .args(args)
        .env("KUBECONFIG", kubeconfig())
        .output()
        .expect("run kubectl")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts success and returns stdout.
pub fn ok(o: Output) -> String {
    assert!(
        o.status.success(),
        "command failed ({}):\n{}\n{}",
        o.status,
        stdout(&o),
        stderr(&o)
    );
    stdout(&o)
}

/// A directory of files (an app), with a `.git` marker so it is its own source root.
pub fn app_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(d.path().join(".git")).expect("mkdir");
    write_files(d.path(), files);
    d
}

pub fn write_files(root: &Path, files: &[(&str, &str)]) {
    for (p, text) in files {
        let p = root.join(p);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }
}

/// A kube client for this binary's API server.
pub async fn client() -> kube::Client {
    plumb::apply::connect(Some(kubeconfig()), None)
        .await
        .expect("connect")
        .client
}
