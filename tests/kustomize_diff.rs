//! Differential test of the built-in `kustomize` renderer against the real tool: every case of
//! `tests/data/kustomize/` (the shared corpus and `own/`) is built by `plumb render` and by
//! `kubectl kustomize` (v1.35.2, Kustomize v5.7.1, installed by `scripts/install-oracles`).
//! Both outputs are normalised the same way (every YAML document parsed with serde-saphyr into
//! JSON values) and compared as sequences, order included. When the tool fails, plumb must
//! fail too, naming the file at fault. Differences are tolerated only for cases listed with a
//! reason in `tests/data/kustomize/known-differences.txt`.

mod differential;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use differential::{KnownDifferences, Verdict, compare, data_dir, normalise, oracle, text};

struct Case {
    /// `name` or `own/name`.
    name: String,
    dir: PathBuf,
    build_dir: String,
    /// Root-relative file an error must name (error cases of `own/`).
    error_file: Option<String>,
}

fn cases() -> Vec<Case> {
    differential::case_dirs(&data_dir("kustomize"))
        .into_iter()
        .map(|c| Case {
            build_dir: c.required("build-dir:"),
            error_file: c.field("error-file:"),
            name: c.name,
            dir: c.dir,
        })
        .collect()
}

fn run_case(case: &Case, kubectl: &Path, cache: &Path) -> Verdict {
    let root = case.dir.join("src");
    let app = case.dir.join(&case.build_dir);
    let want: Output = Command::new(kubectl)
        .arg("kustomize")
        .arg(&app)
        .output()
        .expect("run kubectl kustomize");
    let got: Output = Command::new(env!("CARGO_BIN_EXE_plumb"))
        .arg("render")
        .arg(&app)
        .args(["--renderer", "kustomize", "--root"])
        .arg(&root)
        .env("PLUMB_CACHE_DIR", cache)
        .env_remove("RUST_LOG")
        .output()
        .expect("run plumb render");
    compare(
        "kubectl",
        &want,
        &got,
        case.error_file.as_deref(),
        false,
        |stdout| normalise(&text(stdout)),
    )
}

#[test]
fn kustomize_matches_kubectl_kustomize() {
    let kubectl = oracle("kubectl");
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("kustomize-diff-cache");
    let known = KnownDifferences::read(&data_dir("kustomize").join("known-differences.txt"));
    let cases = cases();
    assert!(
        cases.len() >= 40,
        "expected at least 40 cases, found {}",
        cases.len()
    );
    let mut tally = known.tally("identical");
    for case in &cases {
        tally.record(&case.name, run_case(case, &kubectl, &cache));
    }
    tally.finish("kustomize", "cases differing from kubectl kustomize");
}
