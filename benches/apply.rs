//! Apply throughput against a real API server: 1,000 objects (500 ConfigMaps, 500 Deployments)
//! with `plumb apply` vs `kubectl apply --server-side -f` of the same files, then a no-op
//! re-apply (zero writes). Run with `cargo bench --bench apply`; needs scripts/setup.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use plumb::devcluster::{self, DevCluster};

#[path = "../tests/differential/oracle.rs"]
mod oracle;

fn kubectl_bin() -> PathBuf {
    oracle::oracle("kubectl")
}

fn run(cmd: &mut Command) -> Duration {
    let t = Instant::now();
    let out = cmd.output().expect("run");
    let took = t.elapsed();
    assert!(
        out.status.success(),
        "{:?} failed:\n{}\n{}",
        cmd,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

fn resource_versions(kubeconfig: &Path, ns: &str) -> Vec<String> {
    let out = Command::new(kubectl_bin())
        .args([
            "get",
            "configmaps,deployments",
            "-n",
            ns,
            "-o",
            "jsonpath={range .items[*]}{.metadata.name}={.metadata.resourceVersion}{\"\\n\"}{end}",
        ])
        .env("KUBECONFIG", kubeconfig)
        .output()
        .expect("kubectl");
    let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(String::from)
        .collect();
    v.sort();
    v
}

fn main() {
    let work = tempfile::tempdir().expect("tempdir");
    let cluster = DevCluster::start(&devcluster::default_bin_dir(), &work.path().join("cluster"))
        .expect("start the API server (run scripts/setup)");
    let kc = cluster.kubeconfig().to_path_buf();
    let app = work.path().join("app");
    std::fs::create_dir_all(&app).expect("mkdir");
    std::fs::create_dir(work.path().join(".git")).expect("mkdir");
    for i in 0..500 {
        std::fs::write(app.join(format!("cm-{i:04}.yaml")), format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\n  labels: {{app: bench}}\ndata:\n  index: \"{i}\"\n  payload: \"{}\"\n", "x".repeat(200))).expect("write");
        std::fs::write(app.join(format!("deploy-{i:04}.yaml")), format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-{i}\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {{app: web-{i}}}\n  template:\n    metadata:\n      labels: {{app: web-{i}}}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n        ports:\n        - containerPort: 80\n          protocol: TCP\n")).expect("write");
    }
    for ns in ["bench-plumb", "bench-kubectl"] {
        run(Command::new(kubectl_bin())
            .args(["create", "namespace", ns])
            .env("KUBECONFIG", &kc));
    }
    let plumb = env!("CARGO_BIN_EXE_plumb");
    let cache = work.path().join("cache");
    let plumb_cmd = |ns: &str| {
        let mut c = Command::new(plumb);
        c.args(["apply", app.to_str().expect("utf-8 path"), "-n", ns])
            .env("KUBECONFIG", &kc)
            .env("PLUMB_CACHE_DIR", &cache);
        c
    };
    // Warm the plugin compile cache so the figure is apply, not a first-run compile.
    run(Command::new(plumb)
        .args(["render", app.to_str().expect("utf-8")])
        .env("PLUMB_CACHE_DIR", &cache));

    let kubectl_time = run(Command::new(kubectl_bin())
        .args([
            "apply",
            "--server-side",
            "-n",
            "bench-kubectl",
            "-f",
            app.to_str().expect("utf-8"),
        ])
        .env("KUBECONFIG", &kc));
    let plumb_time = run(&mut plumb_cmd("bench-plumb"));
    let before = resource_versions(&kc, "bench-plumb");
    let noop_time = run(&mut plumb_cmd("bench-plumb"));
    let after = resource_versions(&kc, "bench-plumb");
    let kubectl_noop = run(Command::new(kubectl_bin())
        .args([
            "apply",
            "--server-side",
            "-n",
            "bench-kubectl",
            "-f",
            app.to_str().expect("utf-8"),
        ])
        .env("KUBECONFIG", &kc));

    let n = 1000.0;
    let (p, k) = (n / plumb_time.as_secs_f64(), n / kubectl_time.as_secs_f64());
    println!(
        "apply 1,000 objects: plumb {plumb_time:.2?} ({p:.0} objects/s), kubectl --server-side {kubectl_time:.2?} ({k:.0} objects/s)"
    );
    println!(
        "  throughput ratio plumb/kubectl = {:.2} (goal >= 0.9)",
        p / k
    );
    println!(
        "no-op re-apply of 1,000: plumb {noop_time:.2?} ({} objects rewritten), kubectl {kubectl_noop:.2?}",
        before.iter().zip(&after).filter(|(a, b)| a != b).count()
            + before.len().abs_diff(after.len())
    );
    assert_eq!(before, after, "a no-op re-apply must write nothing");
    drop(cluster);
}
