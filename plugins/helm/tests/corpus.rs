//! Renders every case of `tests/data/helm` natively (no wasm, no helm binary) and compares the
//! text `helm template` would print — `# Source:` lines, document order and bytes — with the
//! case's recorded `expected.yaml`; error cases (`expected-error.txt`) must fail, naming the
//! file in `error-file:`. The live comparison with helm is `tests/helm_diff.rs` of the root
//! package; this one runs anywhere and checks the origins plumb reports.

#[path = "../../../tests/differential/shell_words.rs"]
mod shell_words;

use std::path::{Path, PathBuf};

use plumb_helm::Settings;
use plumb_plugin_sdk::Context;
use plumb_plugin_sdk::testing::DirSource;
use shell_words::shell_words;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/helm")
}

fn field(text: &str, key: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
}

/// (chart path, settings, namespace, release) from a `helm template` command line.
fn settings_of(command: &str) -> (String, Settings, String, String) {
    let start = command
        .find("helm template ")
        .map(|i| i + "helm template ".len())
        .unwrap_or(0);
    let rest = command[start..]
        .split(" > ")
        .next()
        .unwrap_or("")
        .trim_end_matches(')');
    let args = shell_words(rest);
    let mut s = Settings::default();
    let mut positional = Vec::new();
    let mut ns = "default".to_string();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--namespace" | "-n" => ns = it.next().unwrap_or_default(),
            "-f" | "--values" => s.values_files.push(it.next().unwrap_or_default()),
            "--set" => s.set.push(it.next().unwrap_or_default()),
            "--set-string" => s.set_string.push(it.next().unwrap_or_default()),
            "--kube-version" => s.kube_version = it.next(),
            "--api-versions" => s.api_versions.push(it.next().unwrap_or_default()),
            "--include-crds" => s.include_crds = true,
            "--skip-tests" => s.skip_tests = true,
            "--skip-schema-validation" => s.skip_schema_validation = true,
            other => positional.push(other.to_string()),
        }
    }
    let release = positional.first().cloned().unwrap_or_default();
    let chart = positional.get(1).cloned().unwrap_or_default();
    // Values files are named relative to the case directory; plumb takes them relative to the
    // chart directory.
    s.values_files = s
        .values_files
        .iter()
        .map(|f| {
            f.strip_prefix(&format!("{chart}/"))
                .map(str::to_string)
                .unwrap_or_else(|| format!("../{f}"))
        })
        .collect();
    s.release_name = Some(release.clone());
    s.namespace = Some(ns.clone());
    (chart, s, ns, release)
}

fn case_dirs() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut push_dir = |d: &Path| {
        let mut v: Vec<PathBuf> = std::fs::read_dir(d)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join("case.txt").is_file())
            .collect();
        v.sort();
        out.extend(v);
    };
    push_dir(&data_dir());
    push_dir(&data_dir().join("own"));
    out
}

#[test]
fn renders_every_case_as_recorded() {
    let cases = case_dirs();
    assert!(
        cases.len() >= 30,
        "expected at least 30 cases under {}",
        data_dir().display()
    );
    let mut failures = Vec::new();
    for dir in &cases {
        let name = dir
            .strip_prefix(data_dir())
            .unwrap_or(dir)
            .display()
            .to_string();
        let text = std::fs::read_to_string(dir.join("case.txt")).unwrap_or_default();
        let (chart, settings, ns, release) =
            settings_of(&field(&text, "command:").unwrap_or_default());
        let ctx = Context {
            app: release,
            namespace: ns,
            path: chart,
            revision: "local".into(),
            ..Default::default()
        };
        let got = plumb_helm::render_text(&settings, &ctx, &DirSource::new(dir));
        match (std::fs::read_to_string(dir.join("expected.yaml")), got) {
            (Ok(want), Ok(got)) => {
                if want != got {
                    let line = want
                        .lines()
                        .zip(got.lines())
                        .position(|(a, b)| a != b)
                        .unwrap_or(0);
                    failures.push(format!(
                        "{name}: output differs from expected.yaml at line {}",
                        line + 1
                    ));
                }
            }
            (Ok(_), Err(e)) => failures.push(format!("{name}: failed: {e}")),
            (Err(_), Ok(_)) => failures.push(format!(
                "{name}: helm fails on this case but plumb rendered it"
            )),
            (Err(_), Err(e)) => {
                let d = e.clone().into_diagnostic();
                let shown = format!("{}", d);
                if let Some(f) = field(&text, "error-file:")
                    && !shown.contains(&f)
                {
                    failures.push(format!("{name}: error does not name {f}: {shown}"));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
