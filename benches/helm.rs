//! `cargo bench --bench helm`: process wall time of `plumb render --renderer helm` against
//! `helm template` (v4.1.4, from `scripts/install-oracles`) on the largest corpus chart,
//! cert-manager (1.1 MB of templates, a 114 KB values schema). Prints the median of several
//! runs of each and the ratio plumb/helm (the goal is ≤ 0.5). The compiled plugin is cached
//! by a first, untimed run, as it is for any user after the first render.

mod common;

use std::path::Path;
use std::process::Command;

use common::{median, oracle, time};

const RUNS: usize = 9;

fn main() {
    let helm = oracle("helm");
    let case = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/helm/cert-manager");
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let cache = tmp.join("helm-bench-cache");
    let homes = tmp.join("helm-bench-homes");
    let helm_cmd = || {
        let mut c = Command::new(&helm);
        c.args([
            "template",
            "cert-manager",
            "chart",
            "--namespace",
            "cert-manager",
        ])
        .current_dir(&case)
        .env("HELM_CACHE_HOME", homes.join("cache"))
        .env("HELM_CONFIG_HOME", homes.join("config"))
        .env("HELM_DATA_HOME", homes.join("data"));
        c
    };
    let plumb_cmd = || {
        let mut c = Command::new(env!("CARGO_BIN_EXE_plumb"));
        c.arg("render")
            .arg(case.join("chart"))
            .args(["--renderer", "helm", "--root"])
            .arg(&case)
            .args([
                "-n",
                "cert-manager",
                "--set-setting",
                "releaseName=cert-manager",
                "-o",
                "json",
            ])
            .env("PLUMB_CACHE_DIR", &cache)
            .env_remove("RUST_LOG");
        c
    };
    // Untimed warm-up: fills the compiled-plugin cache and the page cache.
    time(&mut plumb_cmd());
    time(&mut helm_cmd());
    let mut plumb_times = Vec::new();
    let mut helm_times = Vec::new();
    for _ in 0..RUNS {
        plumb_times.push(time(&mut plumb_cmd()));
        helm_times.push(time(&mut helm_cmd()));
    }
    let (p, h) = (median(plumb_times), median(helm_times));
    println!("helm bench: cert-manager (44 objects), median of {RUNS} runs");
    println!(
        "  plumb render --renderer helm: {:>8.1} ms",
        p.as_secs_f64() * 1e3
    );
    println!(
        "  helm template:                {:>8.1} ms",
        h.as_secs_f64() * 1e3
    );
    println!(
        "  ratio plumb/helm:             {:>8.2} (goal ≤ 0.5)",
        p.as_secs_f64() / h.as_secs_f64()
    );
}
