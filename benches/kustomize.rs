//! `cargo bench --bench kustomize`: process wall time of `plumb render --renderer kustomize`
//! against `kubectl kustomize` (v1.35.2, Kustomize v5.7.1, from `scripts/install-oracles`) on
//! the largest corpus overlay and on a generated overlay of 2,000 resources. Prints the median
//! of several runs of each and the ratio plumb/kustomize (the goal is ≤ 0.5).

mod common;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{median, oracle, time};

const RUNS: usize = 7;

/// Writes a base of `n` resources and an overlay over it; returns (root, overlay dir).
fn generate(root: &Path, n: usize) -> PathBuf {
    let base = root.join("base");
    std::fs::create_dir_all(&base).expect("create base");
    let mut resources = String::new();
    let mut names = Vec::new();
    for i in 0..n {
        let file = format!("r{i:04}.yaml");
        let text = match i % 4 {
            0 => format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{i}\n  labels:\n    app: app-{i}\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: app-{i}\n  template:\n    metadata:\n      labels:\n        app: app-{i}\n    spec:\n      containers:\n      - name: main\n        image: nginx:1.25\n        envFrom:\n        - configMapRef:\n            name: cfg-{}\n        ports:\n        - containerPort: 8080\n",
                i + 2
            ),
            1 => format!(
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc-{i}\nspec:\n  selector:\n    app: app-{}\n  ports:\n  - port: 80\n    targetPort: 8080\n",
                i - 1
            ),
            2 => format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg-{i}\ndata:\n  key: value-{i}\n  other: \"{i}\"\n"
            ),
            _ => format!("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa-{i}\n"),
        };
        std::fs::write(base.join(&file), text).expect("write resource");
        names.push(file);
    }
    for f in &names {
        let _ = writeln!(resources, "- {f}");
    }
    std::fs::write(
        base.join("kustomization.yaml"),
        format!("resources:\n{resources}"),
    )
    .expect("write base");
    let overlay = root.join("overlay");
    std::fs::create_dir_all(&overlay).expect("create overlay");
    std::fs::write(
        overlay.join("kustomization.yaml"),
        "resources:\n- ../base\nnamespace: bench\nnamePrefix: prod-\nlabels:\n- pairs:\n    env: prod\n  includeSelectors: true\ncommonAnnotations:\n  owner: bench\nimages:\n- name: nginx\n  newTag: \"1.27\"\nconfigMapGenerator:\n- name: generated\n  literals:\n  - a=b\npatches:\n- target:\n    kind: Deployment\n  patch: |-\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: any\n    spec:\n      template:\n        spec:\n          containers:\n          - name: main\n            resources:\n              limits:\n                memory: 128Mi\n",
    )
    .expect("write overlay");
    overlay
}

fn bench(label: &str, kubectl: &Path, root: &Path, app: &Path, cache: &Path) -> f64 {
    let plumb = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_plumb"));
        c.arg("render")
            .arg(app)
            .args(["--renderer", "kustomize", "--root"])
            .arg(root)
            .env("PLUMB_CACHE_DIR", cache);
        c
    };
    let kust = || {
        let mut c = Command::new(kubectl);
        c.arg("kustomize").arg(app);
        c
    };
    // Warm-up: plumb compiles the plugin once and caches it, as on any real machine.
    time(&mut plumb());
    time(&mut kust());
    let p = median((0..RUNS).map(|_| time(&mut plumb())).collect());
    let k = median((0..RUNS).map(|_| time(&mut kust())).collect());
    let ratio = p.as_secs_f64() / k.as_secs_f64();
    println!(
        "{label}: plumb {:.1} ms, kubectl kustomize {:.1} ms (medians of {RUNS}); plumb/kustomize = {ratio:.2}",
        p.as_secs_f64() * 1e3,
        k.as_secs_f64() * 1e3
    );
    ratio
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is accepted.
    let kubectl = oracle("kubectl");
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kustomize-bench");
    let cache = tmp.join("cache");
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/kustomize/argocd-ha-namespace-install");
    bench(
        "argocd-ha-namespace-install (61 objects)",
        &kubectl,
        &corpus.join("src"),
        &corpus.join("src/manifests/ha/namespace-install"),
        &cache,
    );
    let gen_root = tmp.join("generated");
    let _ = std::fs::remove_dir_all(&gen_root);
    let overlay = generate(&gen_root, 2000);
    bench(
        "generated overlay (2,001 objects)",
        &kubectl,
        &gen_root,
        &overlay,
        &cache,
    );
}
