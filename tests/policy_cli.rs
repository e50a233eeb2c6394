//! `plumb policy check` and `plumb policy test` as a user runs them: the real binary, real
//! files, every output format parsed, real exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn plumb(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_plumb"))
        .args(args)
        .env(
            "PLUMB_CACHE_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("policy-cli-cache"),
        )
        .env_remove("RUST_LOG")
        .output()
        .expect("run plumb")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

fn write_tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir(d.path().join(".git")).unwrap();
    for (p, text) in files {
        let p = d.path().join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    d
}

const BAD_DEPLOY: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: ghcr.io/acme/app:1.0
        securityContext: {privileged: true}
";

fn bad_app(mode: &str) -> tempfile::TempDir {
    write_tree(&[
        (
            "plumb.yaml",
            &format!(
                "apiVersion: plumb.dev/v1alpha1\nkind: App\nmetadata: {{name: shop}}\nspec:\n  destination: {{namespace: shop}}\n  policies:\n  - name: baseline\n    mode: {mode}\n    settings:\n      noPrivileged: {{}}\n      requiredLabels: {{labels: [team], verdict: warn}}\n"
            ),
        ),
        ("deploy.yaml", BAD_DEPLOY),
    ])
}

#[test]
fn check_passes_the_example_app_showing_mutations_and_warnings() {
    let out = plumb(&["policy", "check", examples().join("shop").to_str().unwrap()]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("MUTATE Deployment shop/web (examples/shop/manifests/web.yaml): policy policies/team-owner.wasm: default owner: label team=shop"),
        "{text}"
    );
    assert!(
        text.contains(
            "WARN  Deployment shop/web (examples/shop/manifests/web.yaml): policy rules: oncall:"
        ),
        "{text}"
    );
    assert!(text.contains("ALLOWED"), "{text}");
}

#[test]
fn check_denies_with_exit_1_naming_object_file_policy_and_message() {
    let d = bad_app("enforce");
    let dir = d.path().to_str().unwrap();
    let out = plumb(&["policy", "check", dir]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("DENY  Deployment shop/web (deploy.yaml): policy baseline: no-privileged: container \"app\" runs privileged; drop securityContext.privileged (at /spec/template/spec/containers/0/securityContext/privileged)"),
        "{text}"
    );
    assert!(
        text.contains("WARN  Deployment shop/web (deploy.yaml): policy baseline: required-labels: missing label team"),
        "{text}"
    );
    assert!(text.contains("DENIED: 1 enforced denials"), "{text}");

    let out = plumb(&["policy", "check", dir, "-o", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["allowed"], false);
    let deny = v["violations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["effect"] == "deny")
        .expect("a denial");
    assert_eq!(deny["policy"], "baseline");
    assert_eq!(deny["mode"], "enforce");
    assert_eq!(deny["target"]["kind"], "Deployment");
    assert_eq!(deny["target"]["namespace"], "shop");
    assert_eq!(deny["target"]["name"], "web");
    assert_eq!(deny["target"]["origin"], "deploy.yaml");
    assert_eq!(v["verdicts"][0]["effect"], "deny");
    assert_eq!(v["objects"].as_array().unwrap().len(), 1);

    let out = plumb(&["policy", "check", dir, "-o", "sarif"]);
    assert_eq!(out.status.code(), Some(1));
    let s: Value = serde_json::from_slice(&out.stdout).expect("SARIF is JSON");
    assert_eq!(s["version"], "2.1.0");
    let results = s["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    let deny = results
        .iter()
        .find(|r| r["level"] == "error")
        .expect("an error result");
    assert_eq!(deny["ruleId"], "baseline/no-privileged");
    let uri = deny["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        .as_str()
        .unwrap();
    assert!(uri.ends_with("deploy.yaml"), "{uri}");
    assert_eq!(
        deny["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
        "Deployment/shop/web"
    );
    let rules: Vec<&str> = s["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"baseline/required-labels"), "{rules:?}");
    assert!(
        results
            .iter()
            .any(|r| r["level"] == "warning" && r["ruleId"] == "baseline/required-labels")
    );
}

#[test]
fn check_under_warn_and_audit_exits_0() {
    for (mode, label) in [("warn", "WARN "), ("audit", "AUDIT")] {
        let d = bad_app(mode);
        let out = plumb(&["policy", "check", d.path().to_str().unwrap()]);
        assert!(out.status.success(), "{mode}: {}", stdout(&out));
        let text = stdout(&out);
        assert!(
            text.contains(&format!(
                "{label} Deployment shop/web (deploy.yaml): policy baseline: no-privileged"
            )),
            "{mode}: {text}"
        );
        assert!(text.contains("ALLOWED"), "{text}");
    }
}

#[test]
fn check_reports_invalid_cel_with_the_rule_and_position() {
    let d = write_tree(&[
        (
            "plumb.yaml",
            "apiVersion: plumb.dev/v1alpha1\nkind: App\nmetadata: {name: shop}\nspec:\n  policies:\n  - name: rules\n    settings:\n      rules:\n      - name: replicas\n        expression: \"object.spec.replicas >\"\n",
        ),
        ("deploy.yaml", BAD_DEPLOY),
    ]);
    let out = plumb(&["policy", "check", d.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("DENY  release: policy rules: the policy could not judge the release: plugin rules: rule \"replicas\" (expression): invalid CEL at line 1, column"),
        "{text}"
    );
}

#[test]
fn policy_test_runs_the_shipped_tests_in_every_format() {
    let dir = examples().join("policies");
    let dir = dir.to_str().unwrap();

    let out = plumb(&["policy", "test", dir]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("PASS the good release passes every check"),
        "{text}"
    );
    assert!(text.trim_end().ends_with("10 passed, 0 failed"), "{text}");

    let out = plumb(&["policy", "test", dir, "-o", "json"]);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["failed"], 0);
    assert_eq!(v["passed"], 10);
    assert_eq!(v["files"].as_array().unwrap().len(), 2);

    let out = plumb(&["policy", "test", dir, "-o", "junit"]);
    assert!(out.status.success());
    let xml = stdout(&out);
    let doc = roxmltree::Document::parse(&xml).expect("valid XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    assert_eq!(root.attribute("failures"), Some("0"));
    let suites: Vec<_> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .collect();
    assert_eq!(suites.len(), 2);
    let cases = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .count();
    assert_eq!(root.attribute("tests"), Some(cases.to_string().as_str()));
    assert!(cases > 30, "{cases}");
    assert!(doc.descendants().all(|n| !n.has_tag_name("failure")));

    let out = plumb(&["policy", "test", dir, "-o", "sarif"]);
    assert!(out.status.success());
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["version"], "2.1.0");
    let results = s["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), cases);
    assert!(results.iter().all(|r| r["kind"] == "pass"));
}

#[test]
fn policy_test_fails_with_exit_1_and_says_why_in_every_format() {
    let d = write_tree(&[
        (
            "team-test.yaml",
            "apiVersion: plumb.dev/v1alpha1
kind: PolicyTest
metadata: {name: team}
namespace: shop
policies:
- name: baseline
  settings: {noPrivileged: {}}
  exemptions: [{names: [legacy]}]
resources: [deploy.yaml]
cases:
- name: privileged is denied
  expect:
    allowed: false
    results:
    - {policy: baseline, rule: no-privileged, kind: Deployment, resources: [web], result: deny}
- name: a wrong expectation
  expect:
    results:
    - {policy: baseline, rule: no-privileged, kind: Deployment, resources: [web], result: pass}
    - {policy: baseline, kind: Deployment, resources: [ghost], result: pass}
- name: exemptions apply
  objects:
  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: legacy}, spec: {template: {spec: {containers: [{name: a, image: x, securityContext: {privileged: true}}]}}}}
  expect:
    allowed: true
    results:
    - {policy: baseline, kind: Deployment, resources: [legacy], result: pass}
",
        ),
        ("deploy.yaml", BAD_DEPLOY),
        ("fixtures/not-a-test.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"),
    ]);
    let dir = d.path().to_str().unwrap();
    let out = plumb(&["policy", "test", dir]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("PASS privileged is denied"), "{text}");
    assert!(text.contains("PASS exemptions apply"), "{text}");
    assert!(text.contains("FAIL a wrong expectation"), "{text}");
    assert!(
        text.contains("expected baseline/no-privileged Deployment/web: pass — got deny: no-privileged: container \"app\" runs privileged"),
        "{text}"
    );
    assert!(
        text.contains("no such object in the case's fixtures"),
        "{text}"
    );
    assert!(text.trim_end().ends_with("2 passed, 1 failed"), "{text}");

    let out = plumb(&["policy", "test", dir, "-o", "junit"]);
    assert_eq!(out.status.code(), Some(1));
    let xml = stdout(&out);
    let doc = roxmltree::Document::parse(&xml).expect("valid XML");
    assert_eq!(doc.root_element().attribute("failures"), Some("2"));
    let failed: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase") && n.children().any(|c| c.has_tag_name("failure")))
        .map(|n| n.attribute("classname").unwrap().to_string())
        .collect();
    assert_eq!(
        failed,
        ["team.a wrong expectation", "team.a wrong expectation"]
    );

    let out = plumb(&["policy", "test", dir, "-o", "sarif"]);
    assert_eq!(out.status.code(), Some(1));
    let s: Value = serde_json::from_slice(&out.stdout).unwrap();
    let fails: Vec<&Value> = s["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "fail")
        .collect();
    assert_eq!(fails.len(), 2);
    assert_eq!(fails[0]["level"], "error");
    assert_eq!(fails[0]["ruleId"], "baseline/no-privileged");
    let uris: Vec<&str> = fails[0]["locations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            l["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert!(uris[0].ends_with("team-test.yaml"), "{uris:?}");
    assert!(uris[1].ends_with("deploy.yaml"), "{uris:?}");

    let out = plumb(&["policy", "test", dir, "-o", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["passed"].as_u64(), v["failed"].as_u64()),
        (Some(2), Some(1))
    );

    let empty = tempfile::tempdir().unwrap();
    let out = plumb(&["policy", "test", empty.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("no policy test files"),
        "{}",
        stderr(&out)
    );
}
