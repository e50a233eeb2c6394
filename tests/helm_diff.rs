//! Differential test of the built-in `helm` renderer against the real tool: every case of
//! `tests/data/helm/` (the shared corpus and `own/`) is rendered by `plumb render` and by
//! `helm template` (v4.1.4, installed by `scripts/install-oracles`) with the flags of the case's
//! `command:` line. Both outputs are normalised the same way (every YAML document parsed with
//! serde-saphyr into JSON values, empty documents dropped) and compared as sequences, order
//! included. When helm fails, plumb must fail too, and its message must name the file at fault
//! (`error-file:` in case.txt). Differences are tolerated only for cases listed with a reason in
//! `tests/data/helm/known-differences.txt`.

mod differential;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use differential::shell_words::shell_words;
use differential::{KnownDifferences, Verdict, compare, data_dir, oracle};
use serde_json::Value;

struct Case {
    /// `name` or `own/name`.
    name: String,
    dir: PathBuf,
    /// The arguments after `helm template`.
    args: Vec<String>,
    /// What plumb's error must mention when helm fails (`error-file:` in case.txt).
    error_file: Option<String>,
}

/// The `helm template …` arguments of a case's `command:` line (corpus form
/// `(cd helm/x && helm template … > expected.yaml)` or plain `helm template …`).
fn command_args(command: &str) -> Option<Vec<String>> {
    let start = command.find("helm template ")? + "helm template ".len();
    let rest = &command[start..];
    let rest = rest.split(" > ").next()?.trim_end_matches(')').trim();
    Some(shell_words(rest))
}

fn cases() -> Vec<Case> {
    differential::case_dirs(&data_dir("helm"))
        .into_iter()
        .map(|c| {
            let command = c.required("command:");
            let args = command_args(&command).unwrap_or_else(|| {
                panic!(
                    "{}: command is not a helm template command: {command}",
                    c.name
                )
            });
            Case {
                error_file: c.field("error-file:"),
                name: c.name,
                dir: c.dir,
                args,
            }
        })
        .collect()
}

/// A path relative to the chart directory for a file named relative to the case directory.
fn relative_to_chart(chart: &str, file: &str) -> String {
    let chart = chart.trim_end_matches('/');
    if let Some(rest) = file.strip_prefix(&format!("{chart}/")) {
        return rest.to_string();
    }
    let depth = chart
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .count();
    format!("{}{file}", "../".repeat(depth))
}

/// `plumb render` arguments equivalent to a `helm template` command line.
fn plumb_args(case: &Case) -> Result<(String, Vec<String>), String> {
    let mut positional = Vec::new();
    let mut settings: Vec<String> = Vec::new();
    let mut values_files = Vec::new();
    let (mut set, mut set_string, mut api_versions) = (Vec::new(), Vec::new(), Vec::new());
    let mut namespace = "default".to_string();
    let mut it = case.args.iter();
    while let Some(a) = it.next() {
        let mut value = |flag: &str| it.next().cloned().ok_or(format!("{flag} needs a value"));
        match a.as_str() {
            "--namespace" | "-n" => namespace = value(a)?,
            "-f" | "--values" => values_files.push(value(a)?),
            "--set" => set.push(value(a)?),
            "--set-string" => set_string.push(value(a)?),
            "--kube-version" => settings.push(format!("kubeVersion={}", value(a)?)),
            "--api-versions" | "-a" => api_versions.push(value(a)?),
            "--include-crds" => settings.push("includeCrds=true".into()),
            "--skip-tests" => settings.push("skipTests=true".into()),
            "--skip-schema-validation" => settings.push("skipSchemaValidation=true".into()),
            flag if flag.starts_with('-') => return Err(format!("unsupported helm flag {flag}")),
            p => positional.push(p.to_string()),
        }
    }
    let [release, chart] = positional.as_slice() else {
        return Err(format!("expected RELEASE CHART, got {positional:?}"));
    };
    settings.push(format!("releaseName={release}"));
    let json = |v: Vec<String>| serde_json::to_string(&v).unwrap_or_default();
    if !values_files.is_empty() {
        let rel: Vec<String> = values_files
            .iter()
            .map(|f| relative_to_chart(chart, f))
            .collect();
        settings.push(format!("valuesFiles={}", json(rel)));
    }
    if !set.is_empty() {
        settings.push(format!("set={}", json(set)));
    }
    if !set_string.is_empty() {
        settings.push(format!("setString={}", json(set_string)));
    }
    if !api_versions.is_empty() {
        settings.push(format!("apiVersions={}", json(api_versions)));
    }
    let mut args = vec![
        "render".to_string(),
        case.dir.join(chart).to_string_lossy().into_owned(),
        "--renderer".into(),
        "helm".into(),
        "--root".into(),
        case.dir.to_string_lossy().into_owned(),
        "-n".into(),
        namespace.clone(),
        "-o".into(),
        "json".into(),
    ];
    for s in settings {
        args.push("--set-setting".into());
        args.push(s);
    }
    Ok((namespace, args))
}

fn run_case(case: &Case, helm: &Path, cache: &Path, scratch: &Path) -> Verdict {
    let (_, args) = match plumb_args(case) {
        Ok(a) => a,
        Err(e) => return Verdict::Differs(format!("    cannot translate the command: {e}\n")),
    };
    let home = scratch.join(case.name.replace('/', "_"));
    let want: Output = Command::new(helm)
        .arg("template")
        .args(&case.args)
        .current_dir(&case.dir)
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"))
        .output()
        .expect("run helm template");
    let got: Output = Command::new(env!("CARGO_BIN_EXE_plumb"))
        .args(&args)
        .env("PLUMB_CACHE_DIR", cache)
        .env_remove("RUST_LOG")
        .output()
        .expect("run plumb render");
    compare(
        "helm",
        &want,
        &got,
        case.error_file.as_deref(),
        true,
        |stdout| match serde_json::from_slice::<Value>(stdout) {
            Ok(Value::Object(mut list)) => match list.remove("items") {
                Some(Value::Array(items)) => Ok(items),
                _ => Err("no items".into()),
            },
            Ok(_) => Err("not a List".into()),
            Err(e) => Err(e.to_string()),
        },
    )
}

#[test]
fn helm_matches_helm_template() {
    let helm = oracle("helm");
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let cache = tmp.join("helm-diff-cache");
    let scratch = tmp.join("helm-diff-homes");
    let known = KnownDifferences::read(&data_dir("helm").join("known-differences.txt"));
    let cases = cases();
    assert!(
        cases.len() >= 30,
        "expected at least 30 cases, found {}",
        cases.len()
    );
    let mut tally = known.tally("identical");
    for case in &cases {
        tally.record(&case.name, run_case(case, &helm, &cache, &scratch));
    }
    tally.finish("helm", "cases differing from helm template");
}

#[test]
fn command_lines_are_split_like_a_shell() {
    assert_eq!(
        command_args(
            "(cd helm/x && helm template rel chart --namespace ns -f chart/v.yaml > expected.yaml)"
        )
        .unwrap(),
        ["rel", "chart", "--namespace", "ns", "-f", "chart/v.yaml"]
    );
    assert_eq!(
        shell_words(r#"--set 'a={x,y}' --set b=c\,d "e f""#),
        ["--set", "a={x,y}", "--set", "b=c,d", "e f"]
    );
    assert_eq!(
        relative_to_chart("chart", "chart/values-prod.yaml"),
        "values-prod.yaml"
    );
    assert_eq!(
        relative_to_chart("chart", "values-x.yaml"),
        "../values-x.yaml"
    );
}
