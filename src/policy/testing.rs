//! `plumb policy test`: policies tested against fixtures, in the spirit of `kyverno test`.
//!
//! A test file is YAML (`kind: PolicyTest`); every one under the directory given is run:
//!
//! ```yaml
//! apiVersion: plumb.dev/v1alpha1
//! kind: PolicyTest
//! metadata:
//!   name: baseline                      # default: the file name
//! namespace: shop                       # the app namespace the policies are told (optional)
//! policies:                             # as in an app spec, plus `settingsFile`
//! - id: pdb                             # how expectations name it (default: name or path)
//!   name: rules                         # a built-in, or `path: x.wasm` (+ `sha256:`)
//!   settingsFile: ../policies/pdb.yaml  # YAML mapping, relative to this file (or `settings:`)
//!   mode: enforce
//! resources: [fixtures/good.yaml]       # fixture files (YAML streams) for every case
//! cases:
//! - name: a Deployment without a PDB is denied
//!   resources: [fixtures/bad.yaml]      # with `objects:` (inline), replaces the file's fixtures
//!   expect:
//!     allowed: false
//!     results:
//!     - policy: rules
//!       rule: pdb                       # findings whose message starts with `pdb: `
//!       kind: Deployment
//!       resources: [web]                # object names; none and no kind: release-level
//!       result: deny                    # pass | deny | warn | audit | error
//!       message: no PodDisruptionBudget # substring (optional)
//!     mutations:
//!     - {policy: team-owner, kind: Deployment, resources: [web], reason: team}
//! ```
//!
//! Each case is one release judged by [`super::evaluate`]. Each expectation, for each object it
//! names, is one test result.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Decision, Effect, Subject};
use crate::plugin::{Context, Operation, PluginHost};
use crate::spec::{Exemption, PolicyMode, PolicyRef};

/// A test file.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TestFile {
    pub api_version: String,
    pub kind: String,
    #[serde(default)]
    pub metadata: TestMeta,
    #[serde(default)]
    pub namespace: Option<String>,
    pub policies: Vec<TestPolicy>,
    #[serde(default)]
    pub resources: Vec<String>,
    #[serde(default)]
    pub objects: Vec<Value>,
    pub cases: Vec<Case>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestMeta {
    #[serde(default)]
    pub name: Option<String>,
}

/// A policy under test: a [`PolicyRef`] whose settings may come from a file.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TestPolicy {
    /// How expectations name this policy. Default: its built-in name or path (`#N`, its
    /// position from 1, appended when the file lists it twice).
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub sha256: Option<String>,
    #[serde(default)]
    pub settings: Option<Value>,
    /// A YAML file holding the settings mapping, relative to the test file.
    #[serde(default)]
    pub settings_file: Option<String>,
    #[serde(default)]
    pub mode: PolicyMode,
    #[serde(default)]
    pub exemptions: Vec<Exemption>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Case {
    pub name: String,
    #[serde(default)]
    pub resources: Option<Vec<String>>,
    #[serde(default)]
    pub objects: Option<Vec<Value>>,
    #[serde(default)]
    pub expect: Expect,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expect {
    #[serde(default)]
    pub allowed: Option<bool>,
    #[serde(default)]
    pub results: Vec<ExpectResult>,
    #[serde(default)]
    pub mutations: Vec<ExpectMutation>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Deny,
    Warn,
    Audit,
    Error,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExpectResult {
    pub policy: String,
    #[serde(default)]
    pub rule: Option<String>,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub resources: Vec<String>,
    pub result: Outcome,
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExpectMutation {
    pub policy: String,
    #[serde(default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub resources: Vec<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// One checked expectation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TestResult {
    /// What was expected, e.g. `rules/pdb Deployment/web: deny`.
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    pub passed: bool,
    /// Why it failed, or what was found.
    pub detail: String,
    /// Fixture file of the object, when there is one (relative to the test file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaseReport {
    pub name: String,
    pub passed: bool,
    pub results: Vec<TestResult>,
    pub millis: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileReport {
    /// The test file, as found under the directory given.
    pub file: String,
    pub name: String,
    /// The file could not be run (unreadable, invalid, a missing fixture); counts as failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub cases: Vec<CaseReport>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TestReport {
    pub files: Vec<FileReport>,
    pub passed: usize,
    pub failed: usize,
}

impl TestReport {
    pub fn success(&self) -> bool {
        self.failed == 0 && !self.files.is_empty()
    }
}

/// Why `plumb policy test` could not start.
#[derive(Debug, thiserror::Error)]
pub enum TestError {
    #[error("{path}: no such file or directory")]
    Missing { path: PathBuf },
    #[error("no policy test files (kind: PolicyTest) under {path}")]
    NoTests { path: PathBuf },
}

/// Test files under `path` (or `path` itself): YAML files whose first document is a
/// `kind: PolicyTest`, in path order; hidden entries are skipped.
pub fn discover(path: &Path) -> Result<Vec<PathBuf>, TestError> {
    if !path.exists() {
        return Err(TestError::Missing { path: path.into() });
    }
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut found = Vec::new();
    walk(path, &mut found);
    found.sort();
    if found.is_empty() {
        return Err(TestError::NoTests { path: path.into() });
    }
    Ok(found)
}

fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if p.is_dir() {
            walk(&p, found);
        } else if matches!(p.extension().and_then(|x| x.to_str()), Some("yaml" | "yml"))
            && is_test_file(&p)
        {
            found.push(p);
        }
    }
}

fn is_test_file(p: &Path) -> bool {
    #[derive(Deserialize)]
    struct Head {
        #[serde(default)]
        kind: String,
    }
    let Ok(text) = std::fs::read_to_string(p) else {
        return false;
    };
    let first = text.split("\n---").next().unwrap_or("");
    serde_saphyr::from_str::<Head>(first).is_ok_and(|h| h.kind == "PolicyTest")
}

/// Runs every test file under `path`.
pub fn run(host: &PluginHost, path: &Path) -> Result<TestReport, TestError> {
    let files = discover(path)?;
    let base = if path.is_file() {
        path.parent().unwrap_or(Path::new("."))
    } else {
        path
    };
    let mut reports = Vec::new();
    for f in files {
        let shown = f
            .strip_prefix(base)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| f.display().to_string());
        reports.push(run_file(host, &f, shown));
    }
    let (mut passed, mut failed) = (0, 0);
    for f in &reports {
        if f.error.is_some() {
            failed += 1;
        }
        for c in &f.cases {
            if c.passed {
                passed += 1;
            } else {
                failed += 1;
            }
        }
    }
    Ok(TestReport {
        files: reports,
        passed,
        failed,
    })
}

/// Runs one test file; a file that cannot be run is reported, not raised.
pub fn run_file(host: &PluginHost, file: &Path, shown: String) -> FileReport {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut report = FileReport {
        file: shown,
        name: stem,
        error: None,
        cases: Vec::new(),
    };
    let dir = file.parent().unwrap_or(Path::new("."));
    let test: TestFile = match std::fs::read_to_string(file)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_saphyr::from_str(&t).map_err(|e| e.to_string()))
    {
        Ok(t) => t,
        Err(e) => {
            report.error = Some(format!("cannot read the test file: {e}"));
            return report;
        }
    };
    if let Some(n) = &test.metadata.name {
        report.name = n.clone();
    }
    if test.api_version != "plumb.dev/v1alpha1" || test.kind != "PolicyTest" {
        report.error = Some(format!(
            "is a {}/{}, not a plumb.dev/v1alpha1 PolicyTest",
            test.api_version, test.kind
        ));
        return report;
    }
    let refs = match policy_refs(&test.policies, dir) {
        Ok(r) => r,
        Err(e) => {
            report.error = Some(e);
            return report;
        }
    };
    let mut policies = super::load(host, &refs, dir);
    for (p, t) in policies.iter_mut().zip(&test.policies) {
        if let Some(id) = &t.id {
            p.name = id.clone();
        }
    }
    let context = Context {
        app: report.name.clone(),
        namespace: test.namespace.clone().unwrap_or_default(),
        path: String::new(),
        revision: "test".into(),
        ..Default::default()
    };
    for case in &test.cases {
        let started = std::time::Instant::now();
        // A case with fixtures of its own (files or inline) replaces the file's.
        let own = case.resources.is_some() || case.objects.is_some();
        let (no_files, no_objects) = (Vec::new(), Vec::new());
        let (resources, inline) = if own {
            (
                case.resources.as_ref().unwrap_or(&no_files),
                case.objects.as_ref().unwrap_or(&no_objects),
            )
        } else {
            (&test.resources, &test.objects)
        };
        let subjects = match fixtures(dir, resources, inline) {
            Ok(s) => s,
            Err(e) => {
                report.cases.push(CaseReport {
                    name: case.name.clone(),
                    passed: false,
                    results: vec![TestResult {
                        name: "fixtures".into(),
                        policy: None,
                        rule: None,
                        passed: false,
                        detail: e,
                        origin: None,
                    }],
                    millis: 0.0,
                });
                continue;
            }
        };
        let decision = super::evaluate(&policies, subjects, &context);
        let results = judge(&case.expect, &decision, &context.namespace);
        report.cases.push(CaseReport {
            name: case.name.clone(),
            passed: results.iter().all(|r| r.passed),
            results,
            millis: started.elapsed().as_secs_f64() * 1e3,
        });
    }
    report
}

fn policy_refs(policies: &[TestPolicy], dir: &Path) -> Result<Vec<PolicyRef>, String> {
    policies
        .iter()
        .map(|p| {
            let settings = match (&p.settings, &p.settings_file) {
                (Some(_), Some(_)) => {
                    return Err("a policy has both `settings` and `settingsFile`".to_string());
                }
                (Some(s), None) => Some(s.clone()),
                (None, Some(f)) => {
                    let path = dir.join(f);
                    let text = std::fs::read_to_string(&path)
                        .map_err(|e| format!("settingsFile {}: {e}", path.display()))?;
                    let v: Value = serde_saphyr::from_str(&text)
                        .map_err(|e| format!("settingsFile {}: {e}", path.display()))?;
                    if !v.is_object() {
                        return Err(format!(
                            "settingsFile {}: must hold a mapping",
                            path.display()
                        ));
                    }
                    Some(v)
                }
                (None, None) => None,
            };
            Ok(PolicyRef {
                name: p.name.clone(),
                path: p.path.clone(),
                sha256: p.sha256.clone(),
                settings,
                mode: p.mode,
                exemptions: p.exemptions.clone(),
            })
        })
        .collect()
}

/// Reads fixture files (YAML streams; a `List` contributes its items) and inline objects.
pub fn fixtures(dir: &Path, files: &[String], inline: &[Value]) -> Result<Vec<Subject>, String> {
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(dir.join(f)).map_err(|e| format!("fixture {f}: {e}"))?;
        let docs: Vec<Value> =
            serde_saphyr::from_multiple(&text).map_err(|e| format!("fixture {f}: {e}"))?;
        for d in docs {
            push_object(&mut out, d, Some(f.clone()))?;
        }
    }
    for o in inline {
        push_object(&mut out, o.clone(), None)?;
    }
    Ok(out)
}

fn push_object(out: &mut Vec<Subject>, v: Value, origin: Option<String>) -> Result<(), String> {
    if v.is_null() {
        return Ok(());
    }
    if v.get("kind").and_then(Value::as_str) == Some("List")
        && let Some(items) = v.get("items").and_then(Value::as_array)
    {
        for i in items {
            push_object(out, i.clone(), origin.clone())?;
        }
        return Ok(());
    }
    crate::render::check_object(&v).map_err(|e| {
        format!(
            "fixture {}: {e}",
            origin.as_deref().unwrap_or("(inline object)")
        )
    })?;
    out.push(Subject {
        object: v,
        origin,
        live: None,
        operation: Operation::Create,
    });
    Ok(())
}

fn outcome_str(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "pass",
        Outcome::Deny => "deny",
        Outcome::Warn => "warn",
        Outcome::Audit => "audit",
        Outcome::Error => "error",
    }
}

/// Checks a case's expectations against the decision.
fn judge(expect: &Expect, d: &Decision, default_ns: &str) -> Vec<TestResult> {
    let mut results = Vec::new();
    if let Some(allowed) = expect.allowed {
        results.push(TestResult {
            name: format!("allowed: {allowed}"),
            policy: None,
            rule: None,
            passed: d.allowed == allowed,
            detail: if d.allowed == allowed {
                format!("allowed is {}", d.allowed)
            } else {
                format!(
                    "allowed is {}; denials: [{}]",
                    d.allowed,
                    d.denials()
                        .map(|v| v.to_string())
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            },
            origin: None,
        });
    }
    for e in &expect.results {
        let what = match &e.rule {
            Some(r) => format!("{}/{r}", e.policy),
            None => e.policy.clone(),
        };
        let known = d.policies.iter().any(|p| p.name == e.policy);
        let mk =
            |target: String, passed: bool, detail: String, origin: Option<String>| TestResult {
                name: format!("{what} {target}: {}", outcome_str(e.result)),
                policy: Some(e.policy.clone()),
                rule: e.rule.clone(),
                passed,
                detail,
                origin,
            };
        if !known {
            results.push(mk(
                String::new(),
                false,
                format!("no policy named {:?} in this test file", e.policy),
                None,
            ));
            continue;
        }
        // Policy errors are release-level.
        if e.result == Outcome::Error {
            let err = d
                .policies
                .iter()
                .find(|p| p.name == e.policy)
                .and_then(|p| p.error.clone());
            let ok = err
                .as_ref()
                .is_some_and(|m| e.message.as_ref().is_none_or(|s| m.contains(s.as_str())));
            results.push(mk(
                "release".into(),
                ok,
                err.unwrap_or_else(|| "the policy judged without error".into()),
                None,
            ));
            continue;
        }
        let matches_finding = |v: &&super::Violation| {
            v.policy == e.policy
                && !v.policy_error
                && e.rule.as_ref().is_none_or(|r| {
                    v.message
                        .strip_prefix(r.as_str())
                        .is_some_and(|rest| rest.starts_with(": "))
                })
                && e.message
                    .as_ref()
                    .is_none_or(|m| v.message.contains(m.as_str()))
        };
        let check = |found: Vec<&super::Violation>| -> (bool, String) {
            let want = match e.result {
                Outcome::Pass => None,
                Outcome::Deny => Some(Effect::Deny),
                Outcome::Warn => Some(Effect::Warn),
                Outcome::Audit => Some(Effect::Audit),
                Outcome::Error => None,
            };
            let ok = match want {
                None => found.is_empty(),
                Some(eff) => found.iter().any(|v| v.effect == eff),
            };
            let detail = if found.is_empty() {
                "no finding".to_string()
            } else {
                found
                    .iter()
                    .map(|v| format!("{}: {}", v.effect.as_str(), v.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            (ok, detail)
        };
        if e.resources.is_empty() && e.kind.is_none() {
            let found: Vec<&super::Violation> = d
                .violations
                .iter()
                .filter(|v| v.object.is_none())
                .filter(matches_finding)
                .collect();
            let (ok, detail) = check(found);
            results.push(mk("release".into(), ok, detail, None));
            continue;
        }
        let selected: Vec<usize> = d
            .verdicts
            .iter()
            .enumerate()
            .filter(|(_, ov)| {
                let t = &ov.target;
                e.kind.as_ref().is_none_or(|k| *k == t.kind)
                    && e.namespace
                        .as_ref()
                        .is_none_or(|n| n == t.namespace_or(default_ns))
                    && (e.resources.is_empty() || e.resources.contains(&t.name))
            })
            .map(|(i, _)| i)
            .collect();
        let mut missing: Vec<&String> = e
            .resources
            .iter()
            .filter(|r| !selected.iter().any(|i| d.verdicts[*i].target.name == **r))
            .collect();
        missing.dedup();
        for r in missing {
            results.push(mk(
                format!("{}/{r}", e.kind.as_deref().unwrap_or("*")),
                false,
                "no such object in the case's fixtures".into(),
                None,
            ));
        }
        for i in selected {
            let t = &d.verdicts[i].target;
            let found: Vec<&super::Violation> = d
                .violations
                .iter()
                .filter(|v| v.object == Some(i))
                .filter(matches_finding)
                .collect();
            let (ok, detail) = check(found);
            results.push(mk(
                format!("{}/{}", t.kind, t.name),
                ok,
                detail,
                t.origin.clone(),
            ));
        }
    }
    for m in &expect.mutations {
        let found: Vec<&super::AppliedMutation> = d
            .mutations
            .iter()
            .filter(|x| {
                x.policy == m.policy
                    && m.kind.as_ref().is_none_or(|k| *k == x.target.kind)
                    && (m.resources.is_empty() || m.resources.contains(&x.target.name))
                    && m.reason
                        .as_ref()
                        .is_none_or(|r| x.reason.contains(r.as_str()))
            })
            .collect();
        let names: Vec<&String> = found.iter().map(|x| &x.target.name).collect();
        let ok = if m.resources.is_empty() {
            !found.is_empty()
        } else {
            m.resources.iter().all(|r| names.contains(&r))
        };
        results.push(TestResult {
            name: format!(
                "{} mutates {}/{}",
                m.policy,
                m.kind.as_deref().unwrap_or("*"),
                if m.resources.is_empty() {
                    "*".to_string()
                } else {
                    m.resources.join(",")
                }
            ),
            policy: Some(m.policy.clone()),
            rule: None,
            passed: ok,
            detail: if found.is_empty() {
                "no such mutation".into()
            } else {
                found
                    .iter()
                    .map(|x| format!("{}: {}", x.target, x.reason))
                    .collect::<Vec<_>>()
                    .join("; ")
            },
            origin: None,
        });
    }
    results
}

/// Plain text: a line per case (and per failed expectation), then `N passed, N failed`.
pub fn to_text(r: &TestReport) -> String {
    let mut out = String::new();
    for f in &r.files {
        let _ = writeln!(out, "{} ({})", f.file, f.name);
        if let Some(e) = &f.error {
            let _ = writeln!(out, "  ERROR {e}");
        }
        for c in &f.cases {
            let _ = writeln!(
                out,
                "  {} {}",
                if c.passed { "PASS" } else { "FAIL" },
                c.name
            );
            for t in c.results.iter().filter(|t| !t.passed) {
                let _ = writeln!(out, "       expected {} — got {}", t.name, t.detail);
            }
        }
    }
    let _ = writeln!(out, "\n{} passed, {} failed", r.passed, r.failed);
    out
}

/// JSON: the whole report.
pub fn to_json(r: &TestReport) -> Value {
    serde_json::to_value(r).unwrap_or_else(|e| json!({"error": e.to_string()}))
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: a `testsuite` per test file, a `testcase` per expectation (class name: the
/// case), a `failure` for each failed one.
pub fn to_junit(r: &TestReport) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let total: usize = r
        .files
        .iter()
        .map(|f| f.cases.iter().map(|c| c.results.len()).sum::<usize>() + f.error.iter().count())
        .sum();
    let failures: usize = r
        .files
        .iter()
        .map(|f| {
            f.cases
                .iter()
                .flat_map(|c| &c.results)
                .filter(|t| !t.passed)
                .count()
                + f.error.iter().count()
        })
        .sum();
    let _ = writeln!(
        out,
        "<testsuites name=\"plumb policy test\" tests=\"{total}\" failures=\"{failures}\">"
    );
    for f in &r.files {
        let tests: usize =
            f.cases.iter().map(|c| c.results.len()).sum::<usize>() + f.error.iter().count();
        let fails: usize = f
            .cases
            .iter()
            .flat_map(|c| &c.results)
            .filter(|t| !t.passed)
            .count()
            + f.error.iter().count();
        let secs: f64 = f.cases.iter().map(|c| c.millis).sum::<f64>() / 1e3;
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" file=\"{}\" tests=\"{tests}\" failures=\"{fails}\" errors=\"0\" time=\"{secs:.3}\">",
            xml_escape(&f.name),
            xml_escape(&f.file)
        );
        if let Some(e) = &f.error {
            let _ = writeln!(
                out,
                "    <testcase classname=\"{}\" name=\"load\">\n      <failure message=\"{}\"/>\n    </testcase>",
                xml_escape(&f.name),
                xml_escape(e)
            );
        }
        for c in &f.cases {
            let per = if c.results.is_empty() {
                0.0
            } else {
                c.millis / 1e3 / c.results.len() as f64
            };
            for t in &c.results {
                let _ = write!(
                    out,
                    "    <testcase classname=\"{}\" name=\"{}\" time=\"{per:.3}\"",
                    xml_escape(&format!("{}.{}", f.name, c.name)),
                    xml_escape(&t.name)
                );
                if t.passed {
                    out.push_str("/>\n");
                } else {
                    let _ = writeln!(
                        out,
                        ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                        xml_escape(&t.detail),
                        xml_escape(&format!("expected {} — got {}", t.name, t.detail))
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

/// SARIF 2.1.0: a result per expectation, `kind: pass` or `kind: fail` (level `error`),
/// located at the test file (and the fixture file of the object).
pub fn to_sarif(r: &TestReport, uri_prefix: &str) -> Value {
    let mut rules: Vec<String> = Vec::new();
    let mut results = Vec::new();
    for f in &r.files {
        let test_loc = json!({"physicalLocation": {"artifactLocation": {"uri": format!("{uri_prefix}{}", f.file)}}});
        if let Some(e) = &f.error {
            results.push(json!({
                "ruleId": "plumb-test/load", "kind": "fail", "level": "error",
                "message": {"text": format!("{}: {e}", f.file)}, "locations": [test_loc],
            }));
            if !rules.iter().any(|r| r == "plumb-test/load") {
                rules.push("plumb-test/load".into());
            }
        }
        let dir = Path::new(&f.file).parent().unwrap_or(Path::new(""));
        for c in &f.cases {
            for t in &c.results {
                let id = match (&t.policy, &t.rule) {
                    (Some(p), Some(r)) => format!("{p}/{r}"),
                    (Some(p), None) => p.clone(),
                    _ => "plumb-test".into(),
                };
                if !rules.contains(&id) {
                    rules.push(id.clone());
                }
                let mut locations = vec![test_loc.clone()];
                if let Some(o) = &t.origin {
                    let uri = dir.join(o);
                    locations.push(json!({"physicalLocation": {"artifactLocation": {"uri": format!("{uri_prefix}{}", uri.display())}}}));
                }
                results.push(json!({
                    "ruleId": id,
                    "kind": if t.passed { "pass" } else { "fail" },
                    "level": if t.passed { "none" } else { "error" },
                    "message": {"text": format!("{}: expected {} — got {}", c.name, t.name, t.detail)},
                    "locations": locations,
                    "properties": {"testFile": f.file, "case": c.name, "passed": t.passed},
                }));
            }
        }
    }
    super::check::sarif_log(rules, results)
}
