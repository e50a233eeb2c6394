//! The policy gate with real plugins and real files: the built-in `baseline` and `rules`
//! policies, the example team policy (examples/policy-team-owner, loaded by path), and a
//! hostile policy (tests/plugins/hostile-policy) that traps, loops and lies.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use plumb::plugin::{CompileCache, Context, Limits, Plugin, PluginHost};
use plumb::policy::{self, Decision, Effect, Policy, Subject, testing};
use plumb::spec::{Exemption, PolicyMode, PolicyRef};
use serde_json::{Value, json};

fn guest(file: &str) -> PathBuf {
    Path::new(env!("PLUMB_GUEST_DIR")).join(file)
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

fn cache() -> CompileCache {
    CompileCache::at(Path::new(env!("CARGO_TARGET_TMPDIR")).join("policy-cache"))
}

/// One host for the tests that need no special limits (compiling is slow in debug builds).
fn host() -> &'static PluginHost {
    static HOST: OnceLock<PluginHost> = OnceLock::new();
    HOST.get_or_init(|| PluginHost::new(Limits::default(), cache()).expect("host"))
}

fn ctx() -> Context {
    Context {
        app: "shop".into(),
        namespace: "shop".into(),
        revision: "abc123".into(),
        ..Default::default()
    }
}

fn builtin(name: &str) -> Arc<Plugin> {
    host().load_builtin(name).expect("built-in policy loads")
}

fn fixture(files: &[&str]) -> Vec<Subject> {
    let files: Vec<String> = files.iter().map(|f| format!("fixtures/{f}")).collect();
    testing::fixtures(&examples().join("policies"), &files, &[]).expect("fixtures")
}

fn settings_file(name: &str) -> Value {
    let text = std::fs::read_to_string(examples().join("policies").join(name)).unwrap();
    serde_saphyr::from_str(&text).unwrap()
}

fn baseline() -> Policy {
    Policy::new(
        "baseline",
        builtin("baseline"),
        settings_file("baseline-settings.yaml"),
    )
}

fn messages(d: &Decision, kind: &str, name: &str) -> Vec<String> {
    d.violations
        .iter()
        .filter(|v| {
            v.target
                .as_ref()
                .is_some_and(|t| t.kind == kind && t.name == name)
        })
        .map(|v| v.message.clone())
        .collect()
}

fn deployment(name: &str, labels: Value) -> Subject {
    Subject {
        object: json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "shop", "labels": labels},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                "template": {"metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{"name": "app", "image": "ghcr.io/acme/app:1.0"}]}}}}),
        origin: Some(format!("deploy/{name}.yaml")),
        live: None,
        operation: plumb::plugin::Operation::Create,
    }
}

#[test]
fn every_ready_policy_allows_the_good_release() {
    let d = policy::evaluate(&[baseline()], fixture(&["good.yaml"]), &ctx());
    assert!(d.allowed, "{:#?}", d.violations);
    assert!(d.violations.is_empty());
    assert_eq!(d.rounds, 1);
    assert_eq!(d.objects.len(), 5);
}

#[test]
fn baseline_checks_deny_bad_fixtures_with_their_messages() {
    let d = policy::evaluate(&[baseline()], fixture(&["pod-security-bad.yaml"]), &ctx());
    assert!(!d.allowed);
    let privileged = messages(&d, "Deployment", "privileged");
    assert!(
        privileged.contains(
            &"no-privileged: container \"app\" runs privileged; drop securityContext.privileged"
                .to_string()
        ),
        "{privileged:?}"
    );
    let v = d
        .violations
        .iter()
        .find(|v| v.message.starts_with("no-privileged"))
        .unwrap();
    assert_eq!(v.effect, Effect::Deny);
    assert_eq!(v.policy, "baseline");
    assert_eq!(
        v.field.as_deref(),
        Some("/spec/template/spec/containers/0/securityContext/privileged")
    );
    let t = v.target.as_ref().unwrap();
    assert_eq!(
        t.to_string(),
        "Deployment shop/privileged (fixtures/pod-security-bad.yaml)"
    );
    assert!(
        messages(&d, "DaemonSet", "node-agent")
            .iter()
            .any(|m| m.starts_with("no-host-path: volume \"logs\" mounts the node's /var/log"))
    );
    assert!(
        messages(&d, "Pod", "sniffer")
            .iter()
            .any(|m| m.contains("hostNetwork: true"))
    );
    // A CronJob's pod template is judged too.
    assert!(
        messages(&d, "CronJob", "debugger")
            .iter()
            .any(|m| m.contains("hostPID: true"))
    );

    let d = policy::evaluate(&[baseline()], fixture(&["images-bad.yaml"]), &ctx());
    assert!(messages(&d, "StatefulSet", "db").iter().any(|m| m
        == "image-tag: container \"postgres\" uses ghcr.io/acme/postgres:latest; :latest is not allowed, pin a version or digest"));
    assert!(
        messages(&d, "Job", "migrate")
            .iter()
            .any(|m| m.contains("without a tag"))
    );
    assert!(
        messages(&d, "Deployment", "cache")
            .iter()
            .any(|m| m.starts_with("image-registry: container \"redis\" uses redis:7.4"))
    );

    let d = policy::evaluate(&[baseline()], fixture(&["workloads-bad.yaml"]), &ctx());
    let lonely = messages(&d, "Deployment", "lonely");
    for want in [
        "required-labels: missing label team",
        "replicas: 1 replicas, fewer than the minimum 2",
        "resources: container \"app\" has no requests for cpu",
        "pod-disruption-budget: no PodDisruptionBudget in namespace shop selects the pods of Deployment lonely",
    ] {
        assert!(
            lonely.iter().any(|m| m == want),
            "{want} not in {lonely:#?}"
        );
    }
    assert_eq!(
        messages(&d, "Deployment", "swarm"),
        ["replicas: 50 replicas, more than the maximum 20"]
    );

    let d = policy::evaluate(&[baseline()], fixture(&["ingress-bad.yaml"]), &ctx());
    assert_eq!(
        messages(&d, "Ingress", "web"),
        [
            "ingress-conflicts: Ingress shop/web claims host shop.example.com path /, as does shop/web-canary"
        ]
    );
    assert_eq!(messages(&d, "Ingress", "web-canary").len(), 1);
}

#[test]
fn the_policy_test_files_shipped_in_examples_pass() {
    let report = testing::run(host(), &examples().join("policies")).expect("runs");
    let text = testing::to_text(&report);
    assert!(report.success(), "{text}");
    assert_eq!(report.files.len(), 2, "{text}");
    assert!(report.passed >= 10, "{text}");
}

#[test]
fn modes_enforce_warn_and_audit() {
    let bad = || vec![deployment("web", json!({}))];
    let with_mode = |mode| {
        Policy::new(
            "labels",
            builtin("baseline"),
            json!({"requiredLabels": {"labels": ["team"]}}),
        )
        .with_mode(mode)
    };
    let d = policy::evaluate(&[with_mode(PolicyMode::Enforce)], bad(), &ctx());
    assert!(!d.allowed);
    assert_eq!(d.denials().count(), 1);
    assert_eq!(d.policies[0].denials, 1);
    assert_eq!(d.verdicts[0].effect, Some(Effect::Deny));

    let d = policy::evaluate(&[with_mode(PolicyMode::Warn)], bad(), &ctx());
    assert!(d.allowed);
    assert_eq!(d.warnings().count(), 1);
    assert_eq!(d.denials().count(), 0);
    assert_eq!(d.policies[0].warnings, 1);

    let d = policy::evaluate(&[with_mode(PolicyMode::Audit)], bad(), &ctx());
    assert!(d.allowed);
    assert_eq!(d.warnings().count(), 0);
    let audits: Vec<_> = d.audits().collect();
    assert_eq!(audits.len(), 1);
    assert_eq!(audits[0].message, "required-labels: missing label team");
    assert_eq!(d.policies[0].audits, 1);

    // A warn verdict under enforce is a warning, not a denial.
    let warn_rule = Policy::new(
        "labels",
        builtin("baseline"),
        json!({"requiredLabels": {"labels": ["team"], "verdict": "warn"}}),
    );
    let d = policy::evaluate(&[warn_rule], bad(), &ctx());
    assert!(d.allowed);
    assert_eq!(d.warnings().count(), 1);
}

#[test]
fn exempt_objects_findings_are_dropped_and_counted() {
    let ex: Exemption = serde_json::from_value(json!({"names": ["legacy-*"]})).unwrap();
    let p = Policy::new(
        "labels",
        builtin("baseline"),
        json!({"requiredLabels": {"labels": ["team"]}}),
    )
    .with_exemptions(vec![ex]);
    let d = policy::evaluate(
        &[p],
        vec![
            deployment("legacy-app", json!({})),
            deployment("web", json!({})),
        ],
        &ctx(),
    );
    assert!(!d.allowed);
    assert_eq!(d.violations.len(), 1);
    assert_eq!(d.violations[0].target.as_ref().unwrap().name, "web");
    assert_eq!(d.policies[0].exempted, 1);
    assert_eq!(d.verdicts[0].effect, None);
}

#[test]
fn a_cross_object_cel_rule_sees_the_whole_release() {
    let p = Policy::new("pdb", builtin("rules"), settings_file("rules/pdb.yaml"));
    let mut objects = vec![deployment("web", json!({})), deployment("db", json!({}))];
    objects.extend(testing::fixtures(Path::new("."), &[], &[json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": "web", "namespace": "shop"}, "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}})]).unwrap());
    let d = policy::evaluate(&[p], objects, &ctx());
    assert!(!d.allowed);
    assert_eq!(d.violations.len(), 1, "{:#?}", d.violations);
    assert_eq!(d.violations[0].object, Some(1));
    assert_eq!(
        d.violations[0].message,
        "pod-disruption-budget: no PodDisruptionBudget in namespace shop selects the pods of Deployment db"
    );
}

#[test]
fn invalid_cel_fails_closed_naming_the_policy_rule_and_position() {
    let p = Policy::new(
        "house-rules",
        builtin("rules"),
        json!({"rules": [{"name": "replicas", "expression": "object.spec.replicas >= )"}]}),
    );
    let d = policy::evaluate(&[p], vec![deployment("web", json!({}))], &ctx());
    assert!(!d.allowed);
    let v = &d.violations[0];
    assert!(v.policy_error);
    assert_eq!(v.policy, "house-rules");
    assert!(
        v.message.contains("rule \"replicas\" (expression)"),
        "{}",
        v.message
    );
    assert!(v.message.contains("line 1, column 25"), "{}", v.message);
    let e = d.policies[0].error.as_deref().unwrap();
    assert!(e.contains("plugin rules"), "{e}");
}

fn team_owner() -> Arc<Plugin> {
    host()
        .load_file(&guest("plumb_policy_team_owner.wasm"), None)
        .expect("the example policy loads")
}

#[test]
fn mutations_are_applied_recorded_and_judged_again() {
    let owner = Policy::new(
        "team-owner",
        team_owner(),
        json!({"defaultTeam": "shop", "teams": ["shop"]}),
    );
    let labels = Policy::new(
        "labels",
        builtin("baseline"),
        json!({"requiredLabels": {"labels": ["team"]}}),
    );
    // The label check comes first: in round 1 it judges the unlabelled object; the mutation
    // triggers round 2, whose verdict is about the mutated object.
    let d = policy::evaluate(
        &[labels, owner],
        vec![
            deployment("web", json!({"app": "web"})),
            deployment("api", json!({"team": "shop"})),
        ],
        &ctx(),
    );
    assert!(d.allowed, "{:#?}", d.violations);
    assert_eq!(d.rounds, 2);
    assert_eq!(d.objects[0].object["metadata"]["labels"]["team"], "shop");
    assert_eq!(d.objects[0].object["metadata"]["labels"]["app"], "web");
    assert_eq!(
        d.objects[1].object,
        deployment("api", json!({"team": "shop"})).object
    );
    assert_eq!(d.mutations.len(), 1);
    let m = &d.mutations[0];
    assert_eq!(
        (m.policy.as_str(), m.object, m.round, m.applied),
        ("team-owner", 0, 1, true)
    );
    assert_eq!(m.reason, "default owner: label team=shop");
    assert_eq!(m.target.name, "web");
    assert_eq!(d.policies[1].mutations, 1);

    // Under audit, the mutation is recorded but not applied.
    let owner = Policy::new("team-owner", team_owner(), json!({"defaultTeam": "shop"}))
        .with_mode(PolicyMode::Audit);
    let d = policy::evaluate(&[owner], vec![deployment("web", json!({}))], &ctx());
    assert_eq!(d.mutations.len(), 1);
    assert!(!d.mutations[0].applied);
    assert_eq!(d.objects[0].object["metadata"]["labels"], json!({}));
    assert_eq!(d.rounds, 1);
}

fn hostile() -> Arc<Plugin> {
    host()
        .load_file(&guest("plumb_test_hostile_policy.wasm"), None)
        .expect("the hostile policy loads")
}

fn assert_fails_closed(d: &Decision, policy: &str, needle: &str) {
    assert!(!d.allowed, "{policy}: allowed");
    let v = d
        .violations
        .iter()
        .find(|v| v.policy == policy && v.policy_error)
        .unwrap_or_else(|| panic!("{policy}: no policy error in {:#?}", d.violations));
    assert_eq!(v.effect, Effect::Deny);
    assert!(v.message.contains(needle), "{policy}: {}", v.message);
    assert!(
        d.policies
            .iter()
            .find(|p| p.name == policy)
            .unwrap()
            .error
            .is_some()
    );
}

#[test]
fn a_policy_that_traps_errs_or_lies_fails_closed_and_plumb_goes_on() {
    let objects = || vec![deployment("web", json!({"team": "shop"}))];
    for (mode, needle) in [
        ("panic", "crashed"),
        ("error", "cannot judge this on purpose"),
        ("bad-index", "refers to object 8"),
        ("bad-patch", "cannot be applied"),
        ("rename", "/metadata/name"),
        ("churn", "do not converge"),
    ] {
        let p = Policy::new(mode, hostile(), json!({"mode": mode}));
        let good = Policy::new(
            "labels",
            builtin("baseline"),
            json!({"requiredLabels": {"labels": ["team"]}}),
        );
        let d = policy::evaluate(&[p, good], objects(), &ctx());
        assert_fails_closed(&d, mode, needle);
        // The other policy still judged.
        assert!(d.policies[1].error.is_none(), "{mode}");
        if mode == "rename" || mode == "bad-patch" {
            assert_eq!(d.objects[0].object, objects()[0].object, "{mode}");
        }
    }
    // Under warn and audit, the same failures are a warning and a record.
    let p = Policy::new("panic", hostile(), json!({"mode": "panic"})).with_mode(PolicyMode::Warn);
    let d = policy::evaluate(&[p], objects(), &ctx());
    assert!(d.allowed);
    assert_eq!(d.warnings().count(), 1);
    assert!(d.warnings().next().unwrap().policy_error);
    let p = Policy::new("error", hostile(), json!({"mode": "error"})).with_mode(PolicyMode::Audit);
    let d = policy::evaluate(&[p], objects(), &ctx());
    assert!(d.allowed);
    assert_eq!(d.audits().count(), 1);
    // The hostile plugin itself still works afterwards (a fresh instance per call).
    let p = Policy::new("deny-all", hostile(), json!({"mode": "deny-all"}));
    let d = policy::evaluate(&[p], objects(), &ctx());
    assert_eq!(d.denials().count(), 2);
    assert!(
        d.violations
            .iter()
            .any(|v| v.object.is_none() && !v.policy_error)
    );
}

#[test]
fn a_policy_that_loops_is_stopped_by_the_deadline_and_fails_closed() {
    let h = PluginHost::new(
        Limits {
            timeout: Duration::from_millis(300),
            ..Limits::default()
        },
        cache(),
    )
    .unwrap();
    let p = h
        .load_file(&guest("plumb_test_hostile_policy.wasm"), None)
        .unwrap();
    let started = Instant::now();
    let d = policy::evaluate(
        &[Policy::new("loop", p.clone(), json!({"mode": "loop"}))],
        vec![deployment("web", json!({}))],
        &ctx(),
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_fails_closed(&d, "loop", "deadline");
    let d = policy::evaluate(
        &[Policy::new("loop", p, json!({"mode": "loop"})).with_mode(PolicyMode::Warn)],
        vec![deployment("web", json!({}))],
        &ctx(),
    );
    assert!(d.allowed);
    assert_eq!(d.warnings().count(), 1);
}

#[test]
fn policies_that_cannot_load_fail_closed_under_enforce() {
    let dir = tempfile::tempdir().unwrap();
    let refs: Vec<PolicyRef> = serde_json::from_value(json!([
        {"path": "missing.wasm"},
        {"path": guest("plumb_test_hostile_policy.wasm").display().to_string(), "sha256": "00", "mode": "warn"},
        {"name": "baseline", "exemptions": [{}]},
        {"name": "no-such-builtin", "mode": "audit"},
    ]))
    .unwrap();
    let policies = policy::load(host(), &refs, dir.path());
    let d = policy::evaluate(&policies, vec![deployment("web", json!({}))], &ctx());
    assert!(!d.allowed);
    let errs: Vec<(&str, Effect)> = d
        .violations
        .iter()
        .map(|v| (v.policy.as_str(), v.effect))
        .collect();
    assert_eq!(
        errs,
        [
            ("missing.wasm", Effect::Deny),
            (refs[1].path.as_deref().unwrap(), Effect::Warn),
            ("baseline", Effect::Deny),
            ("no-such-builtin", Effect::Audit),
        ]
    );
    assert!(d.violations[0].message.contains("missing.wasm"));
    assert!(d.violations[1].message.contains("pinned"));
    assert!(d.violations[2].message.contains("every object"));
}

#[test]
fn the_example_app_uses_the_team_policy_by_path_pinned() {
    let app = plumb::app::App::resolve(&examples().join("shop"), &Default::default()).unwrap();
    let pinned = app.spec.policies[0].sha256.clone().unwrap();
    let file = examples().join("shop/policies/team-owner.wasm");
    let digest = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(std::fs::read(&file).unwrap()))
    };
    assert_eq!(pinned, digest, "examples/shop/plumb.yaml pins another file");
    let checked = policy::check::check(host(), &app).expect("checks");
    let d = &checked.decision;
    assert!(d.allowed, "{}", policy::check::to_text(d));
    assert_eq!(d.policies[0].name, "policies/team-owner.wasm");
    assert_eq!(d.policies[0].plugin.as_deref(), Some("team-owner@0.1.0"));
    // The Deployment and PDB had no team label: the team's policy added it, on record.
    let mutated: Vec<&str> = d.mutations.iter().map(|m| m.target.name.as_str()).collect();
    assert_eq!(mutated, ["web", "web"]);
    let dep = d
        .objects
        .iter()
        .find(|s| s.object["kind"] == "Deployment")
        .unwrap();
    assert_eq!(dep.object["metadata"]["labels"]["team"], "shop");
    // The warn-mode CEL rule warns.
    let w: Vec<_> = d.warnings().collect();
    assert_eq!(w.len(), 1);
    assert!(
        w[0].message
            .starts_with("oncall: Deployment web names no on-call rotation")
    );
    // Origins are relative to the source root (the enclosing Git work tree).
    let origin = w[0].target.as_ref().unwrap().origin.clone().unwrap();
    assert!(
        origin.ends_with("examples/shop/manifests/web.yaml"),
        "{origin}"
    );
}
