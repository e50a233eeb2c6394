//! Watch-mode latency: file save → objects applied on a local API server (p50/p95 over 50
//! saves of a 20-object app; goal p50 ≤ 250 ms), and file save → diff shown with no cluster.
//! Both include the default 50 ms debounce. Run with `cargo bench --bench watch`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, WatchEvent, WatchParams};
use plumb::devcluster::{self, DevCluster};

fn pct(mut v: Vec<Duration>, p: usize) -> Duration {
    v.sort();
    v[(v.len() * p / 100).min(v.len() - 1)]
}

fn write_app(dir: &std::path::Path, value: usize) {
    let mut text =
        String::from("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: bench-watch\n");
    for i in 0..10 {
        let v = if i == 0 {
            format!("v{value}")
        } else {
            "static".into()
        };
        text.push_str(&format!("---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\ndata:\n  key: \"{v}\"\n"));
    }
    for i in 0..5 {
        text.push_str(&format!("---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-{i}\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {{app: web-{i}}}\n  template:\n    metadata:\n      labels: {{app: web-{i}}}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n"));
        text.push_str(&format!("---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web-{i}\nspec:\n  selector: {{app: web-{i}}}\n  ports:\n  - port: 80\n    protocol: TCP\n"));
    }
    // Write-then-rename, as editors save: one event burst, never a half-written file.
    let tmp = dir.join(".app.yaml.tmp");
    std::fs::write(&tmp, text).expect("write");
    std::fs::rename(&tmp, dir.join("app.yaml")).expect("rename");
}

/// Starts `plumb watch ARGS` and waits for its first render; its stdout lines arrive on the
/// receiver with the time each was read.
fn spawn_watch(
    args: &[&str],
    envs: &[(&str, &std::path::Path)],
) -> (Child, Receiver<(Instant, String)>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_plumb"))
        .arg("watch")
        .args(args)
        .envs(envs.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("plumb watch");
    let (tx, rx) = channel();
    let stdout = child.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send((Instant::now(), line));
        }
    });
    while !rx
        .recv_timeout(Duration::from_secs(60))
        .expect("first render")
        .1
        .contains("rendered in")
    {}
    (child, rx)
}

fn main() {
    let work = tempfile::tempdir().expect("tempdir");
    let cluster = DevCluster::start(&devcluster::default_bin_dir(), &work.path().join("cluster"))
        .expect("start the API server (run scripts/setup)");
    let app = work.path().join("app");
    std::fs::create_dir_all(app.join(".git")).expect("mkdir");
    write_app(&app, 0);
    let cache = work.path().join("cache");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let client = rt
        .block_on(plumb::apply::connect(Some(cluster.kubeconfig()), None))
        .expect("connect")
        .client;

    // 1. save → applied.
    let app_arg = app.to_str().expect("utf-8");
    let (mut child, rx) = spawn_watch(
        &[app_arg, "--apply", "-n", "bench-watch"],
        &[
            ("KUBECONFIG", cluster.kubeconfig()),
            ("PLUMB_CACHE_DIR", &cache),
        ],
    );
    let api: Api<k8s_openapi::api::core::v1::ConfigMap> = Api::namespaced(client, "bench-watch");
    let mut applied = Vec::new();
    rt.block_on(async {
        for i in 1..=50 {
            let rv = api
                .get("cm-0")
                .await
                .expect("get")
                .metadata
                .resource_version
                .expect("rv");
            let mut stream = api
                .watch(&WatchParams::default().fields("metadata.name=cm-0"), &rv)
                .await
                .expect("watch")
                .boxed();
            let t = Instant::now();
            write_app(&app, i);
            let want = format!("v{i}");
            while let Some(ev) = stream.try_next().await.expect("watch event") {
                if let WatchEvent::Modified(cm) = ev
                    && cm.data.as_ref().and_then(|d| d.get("key")) == Some(&want)
                {
                    break;
                }
            }
            applied.push(t.elapsed());
            while rx.try_recv().is_ok() {}
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
    // SAFETY: SIGINT to the child this bench started.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let _ = child.wait();

    // 2. save → diff shown, no cluster.
    let (mut child, rx) = spawn_watch(&[app_arg, "--no-cluster"], &[("PLUMB_CACHE_DIR", &cache)]);
    let mut shown = Vec::new();
    for i in 51..=100 {
        let t = Instant::now();
        write_app(&app, i);
        let want = format!("+  key: v{i}");
        loop {
            let (at, line) = rx.recv_timeout(Duration::from_secs(10)).expect("a diff");
            if line.contains(&want) {
                shown.push(at.duration_since(t));
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // SAFETY: as above.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    let _ = child.wait();

    let (p50, p95) = (pct(applied.clone(), 50), pct(applied, 95));
    println!(
        "watch, file save → 20-object app applied on the API server: p50 {p50:.0?}, p95 {p95:.0?} over 50 saves ({:.2}x of the 250 ms goal)",
        p50.as_secs_f64() / 0.25
    );
    println!(
        "watch, file save → diff shown (no cluster): p50 {:.0?}, p95 {:.0?} over 50 saves",
        pct(shown.clone(), 50),
        pct(shown, 95)
    );
    drop(cluster);
}
