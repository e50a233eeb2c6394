//! `plumb apply` and `plumb diff` against a real kube-apiserver + etcd on 127.0.0.1, checked
//! with the reference kubectl (v1.35) as an independent client.

mod common;

use common::{app_dir, kubectl, ok, plumb, stderr, stdout, write_files};
use serde_json::Value;

fn ns(name: &str) -> String {
    format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n")
}

fn cm(name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  key: \"{value}\"\n"
    )
}

fn get(kind: &str, namespace: &str, name: &str) -> Option<Value> {
    let o = kubectl(&[
        "get",
        kind,
        "-n",
        namespace,
        name,
        "-o",
        "json",
        "--show-managed-fields",
    ]);
    if !o.status.success() {
        // Not there (yet), or its kind not served yet (a CRD being established).
        let err = stderr(&o);
        assert!(
            err.contains("NotFound") || err.contains("doesn't have a resource type"),
            "kubectl get failed: {err}"
        );
        return None;
    }
    Some(serde_json::from_slice(&o.stdout).expect("kubectl prints JSON"))
}

/// name → resourceVersion of every object plumb applied in a namespace (members of an app's
/// inventory, and inventory parents). Objects the control plane adds on its own schedule (the
/// default token Secret, kube-root-ca.crt) are left out: they are not plumb's writes.
fn versions(namespace: &str) -> Vec<(String, String)> {
    let mut v = Vec::new();
    for selector in [
        "applyset.kubernetes.io/part-of",
        "applyset.kubernetes.io/id",
    ] {
        let o = kubectl(&[
            "get",
            "configmaps,secrets,deployments",
            "-n",
            namespace,
            "-l",
            selector,
            "-o",
            "json",
        ]);
        let list: Value = serde_json::from_slice(&ok(o).into_bytes()).unwrap();
        v.extend(list["items"].as_array().unwrap().iter().map(|i| {
            (
                format!(
                    "{}/{}",
                    i["kind"].as_str().unwrap(),
                    i["metadata"]["name"].as_str().unwrap()
                ),
                i["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            )
        }));
    }
    v.sort();
    v
}

fn managers(obj: &Value) -> Vec<String> {
    obj["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["manager"].as_str().unwrap().to_string())
        .collect()
}

fn apply(dir: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["apply", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    plumb(&args)
}

#[test]
fn apply_creates_objects_owned_by_plumb_and_reapply_writes_nothing() {
    let d = app_dir(&[
        (
            "plumb.yaml",
            "apiVersion: plumb.dev/v1alpha1\nkind: App\nmetadata:\n  name: basic\nspec:\n  destination:\n    namespace: t-basic\n",
        ),
        ("ns.yaml", &ns("t-basic")),
        ("cm.yaml", &cm("settings", "one")),
        (
            "deploy.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n",
        ),
    ]);
    let out = ok(apply(d.path(), &[]));
    assert!(out.contains("ConfigMap t-basic/settings created"), "{out}");
    assert!(out.contains("Deployment.apps t-basic/web created"), "{out}");
    let live = get("configmap", "t-basic", "settings").expect("created");
    assert_eq!(live["data"]["key"], "one");
    assert_eq!(
        managers(&live),
        ["plumb"],
        "server-side applied with field manager plumb"
    );
    assert!(
        live["metadata"]["labels"]["applyset.kubernetes.io/part-of"]
            .as_str()
            .unwrap()
            .starts_with("applyset-")
    );
    let parent = get("configmap", "t-basic", "plumb-app-basic").expect("the ApplySet parent");
    assert_eq!(
        parent["metadata"]["labels"]["applyset.kubernetes.io/id"],
        live["metadata"]["labels"]["applyset.kubernetes.io/part-of"]
    );
    assert_eq!(
        parent["metadata"]["annotations"]["applyset.kubernetes.io/contains-group-kinds"],
        "ConfigMap,Deployment.apps,Namespace"
    );

    let before = versions("t-basic");
    let again = ok(apply(d.path(), &[]));
    assert!(
        again.contains("0 created, 0 configured, 3 unchanged"),
        "{again}"
    );
    assert_eq!(
        versions("t-basic"),
        before,
        "an unchanged re-apply writes nothing"
    );
}

#[test]
fn an_edited_field_is_updated_and_diff_shows_exactly_that_field() {
    let d = app_dir(&[
        ("ns.yaml", &ns("t-edit")),
        ("cm.yaml", &cm("settings", "one")),
        ("other.yaml", &cm("other", "same")),
    ]);
    ok(apply(d.path(), &["-n", "t-edit"]));
    write_files(d.path(), &[("cm.yaml", &cm("settings", "two"))]);

    let diff = plumb(&["diff", d.path().to_str().unwrap(), "-n", "t-edit"]);
    assert_eq!(
        diff.status.code(),
        Some(1),
        "diff exits 1 when there are differences: {}",
        stderr(&diff)
    );
    let text = stdout(&diff);
    assert!(
        text.contains("--- live/ConfigMap t-edit/settings")
            && text.contains("-  key: one\n+  key: two\n"),
        "{text}"
    );
    let changed: Vec<&str> = text
        .lines()
        .filter(|l| {
            (l.starts_with('+') || l.starts_with('-'))
                && !l.starts_with("+++")
                && !l.starts_with("---")
        })
        .collect();
    assert_eq!(
        changed,
        ["-  key: one", "+  key: two"],
        "only the changed field: {text}"
    );
    assert!(
        text.contains("0 to create, 1 to update, 0 to delete, 2 unchanged"),
        "{text}"
    );

    let out = ok(apply(d.path(), &["-n", "t-edit"]));
    assert!(
        out.contains("ConfigMap t-edit/settings configured"),
        "{out}"
    );
    assert_eq!(
        get("configmap", "t-edit", "settings").unwrap()["data"]["key"],
        "two"
    );
    let clean = plumb(&["diff", d.path().to_str().unwrap(), "-n", "t-edit"]);
    assert_eq!(clean.status.code(), Some(0), "{}", stdout(&clean));
}

#[test]
fn a_crd_and_its_custom_resources_apply_in_one_run() {
    let crd = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  scope: Namespaced\n  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n        properties:\n          spec:\n            type: object\n            properties:\n              size: {type: integer}\n";
    let d = app_dir(&[
        ("crd.yaml", crd),
        ("ns.yaml", &ns("t-crd")),
        (
            "widget.yaml",
            "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: small\nspec:\n  size: 3\n",
        ),
    ]);
    let out = ok(apply(d.path(), &["-n", "t-crd", "--wait=60s"]));
    assert!(
        out.contains("Widget.example.com t-crd/small created"),
        "{out}"
    );
    let w = get("widget", "t-crd", "small").expect("the custom resource exists");
    assert_eq!(w["spec"]["size"], 3);
}

#[test]
fn prune_deletes_only_what_plumb_applied_and_no_longer_renders() {
    let d = app_dir(&[
        ("ns.yaml", &ns("t-prune")),
        ("a.yaml", &cm("keep", "1")),
        ("b.yaml", &cm("gone", "1")),
        ("c.yaml", &cm("opted-out", "1")),
    ]);
    ok(apply(d.path(), &["-n", "t-prune"]));
    // Someone else's object in the same namespace, and one that only copies plumb's label.
    ok(kubectl(&[
        "create",
        "configmap",
        "theirs",
        "-n",
        "t-prune",
        "--from-literal=k=v",
    ]));
    let id = get("configmap", "t-prune", "keep").unwrap()["metadata"]["labels"]["applyset.kubernetes.io/part-of"].as_str().unwrap().to_string();
    ok(kubectl(&[
        "create",
        "configmap",
        "impostor",
        "-n",
        "t-prune",
        "--from-literal=k=v",
    ]));
    ok(kubectl(&[
        "label",
        "configmap",
        "impostor",
        "-n",
        "t-prune",
        &format!("applyset.kubernetes.io/part-of={id}"),
    ]));
    ok(kubectl(&[
        "annotate",
        "configmap",
        "opted-out",
        "-n",
        "t-prune",
        "plumb.dev/prune=disabled",
    ]));

    std::fs::remove_file(d.path().join("b.yaml")).unwrap();
    std::fs::remove_file(d.path().join("c.yaml")).unwrap();
    let diff = stdout(&plumb(&[
        "diff",
        d.path().to_str().unwrap(),
        "-n",
        "t-prune",
        "--prune",
    ]));
    assert!(
        diff.contains("0 to create, 0 to update, 1 to delete"),
        "{diff}"
    );
    let out = ok(apply(d.path(), &["-n", "t-prune", "--prune"]));
    assert!(out.contains("ConfigMap t-prune/gone pruned"), "{out}");
    assert!(
        out.contains("ConfigMap t-prune/opted-out kept: annotated plumb.dev/prune: disabled"),
        "{out}"
    );
    assert!(out.contains("ConfigMap t-prune/impostor kept"), "{out}");
    assert!(get("configmap", "t-prune", "gone").is_none());
    for stays in ["keep", "theirs", "impostor", "opted-out"] {
        assert!(
            get("configmap", "t-prune", stays).is_some(),
            "{stays} must stay"
        );
    }
}

#[test]
fn a_failed_or_empty_render_prunes_nothing() {
    let d = app_dir(&[
        ("app/ns.yaml", &ns("t-empty")),
        ("app/a.yaml", &cm("a", "1")),
    ]);
    let app = d.path().join("app");
    ok(apply(&app, &["-n", "t-empty", "--prune"]));

    // A broken file: the render fails, nothing is applied or pruned.
    write_files(
        d.path(),
        &[(
            "app/a.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: [broken\n",
        )],
    );
    let failed = apply(&app, &["-n", "t-empty", "--prune"]);
    assert_eq!(failed.status.code(), Some(1));
    assert!(
        stderr(&failed).contains("app/a.yaml"),
        "{}",
        stderr(&failed)
    );
    assert!(get("configmap", "t-empty", "a").is_some());

    // An empty render: refused unless allowed.
    std::fs::remove_file(app.join("a.yaml")).unwrap();
    std::fs::remove_file(app.join("ns.yaml")).unwrap();
    let empty = apply(&app, &["-n", "t-empty", "--prune"]);
    assert_eq!(empty.status.code(), Some(1));
    assert!(
        stderr(&empty).contains("has no objects; refusing to prune"),
        "{}",
        stderr(&empty)
    );
    assert!(
        get("configmap", "t-empty", "a").is_some(),
        "nothing pruned after an empty render"
    );
}

#[test]
fn a_conflict_names_the_other_manager_and_force_takes_ownership() {
    let d = app_dir(&[
        ("ns.yaml", &ns("t-conflict")),
        ("cm.yaml", &cm("shared", "mine")),
    ]);
    ok(apply(d.path(), &["-n", "t-conflict"]));
    // Another manager takes the field with server-side apply.
    let theirs = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(theirs.path(), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n  namespace: t-conflict\ndata:\n  key: theirs\n").unwrap();
    ok(kubectl(&[
        "apply",
        "--server-side",
        "--force-conflicts",
        "--field-manager=ops-team",
        "-f",
        theirs.path().to_str().unwrap(),
    ]));

    write_files(d.path(), &[("cm.yaml", &cm("shared", "mine-again"))]);
    let out = apply(d.path(), &["-n", "t-conflict"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("ConfigMap t-conflict/shared")
            && err.contains(".data.key")
            && err.contains("ops-team"),
        "{err}"
    );
    assert!(err.contains("--force-conflicts"), "{err}");
    assert_eq!(
        get("configmap", "t-conflict", "shared").unwrap()["data"]["key"],
        "theirs"
    );

    ok(apply(d.path(), &["-n", "t-conflict", "--force-conflicts"]));
    let live = get("configmap", "t-conflict", "shared").unwrap();
    assert_eq!(live["data"]["key"], "mine-again");
}

#[test]
fn dry_run_writes_nothing() {
    let d = app_dir(&[("ns.yaml", &ns("t-dry")), ("cm.yaml", &cm("first", "1"))]);
    ok(apply(d.path(), &["-n", "t-dry"]));
    write_files(
        d.path(),
        &[
            ("cm.yaml", &cm("first", "2")),
            ("new.yaml", &cm("second", "1")),
        ],
    );
    let before = versions("t-dry");
    let out = ok(apply(d.path(), &["-n", "t-dry", "--dry-run", "--prune"]));
    assert!(out.contains("(dry run: nothing was written)"), "{out}");
    assert!(
        out.contains("ConfigMap t-dry/second created (dry run)"),
        "{out}"
    );
    assert!(
        out.contains("ConfigMap t-dry/first configured (dry run)"),
        "{out}"
    );
    assert_eq!(versions("t-dry"), before);
    assert!(get("configmap", "t-dry", "second").is_none());
}

const BAD_DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: bad\nspec:\n  replicas: -1\n  selector:\n    matchLabels:\n      app: bad\n  template:\n    metadata:\n      labels:\n        app: bad\n    spec:\n      containers:\n      - name: c\n        image: nginx:1.27\n";

#[test]
fn an_object_the_server_rejects_stops_the_release_before_any_write() {
    ok(kubectl(&["create", "namespace", "t-reject"]));
    let d = app_dir(&[
        ("a.yaml", &cm("a", "1")),
        ("bad.yaml", BAD_DEPLOYMENT),
        ("b.yaml", &cm("b", "1")),
    ]);
    let out = apply(d.path(), &["-n", "t-reject"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("rejected 1 of 3 objects in a dry run; nothing was written"),
        "{err}"
    );
    assert!(
        err.contains("Deployment.apps t-reject/bad (from bad.yaml)")
            && err.contains("spec.replicas"),
        "{err}"
    );
    assert!(get("configmap", "t-reject", "a").is_none(), "zero writes");
    assert!(get("configmap", "t-reject", "b").is_none(), "zero writes");

    // In a namespace the release creates, the check waits for the namespace, then still stops
    // everything after the first stage.
    let d = app_dir(&[
        ("ns.yaml", &ns("t-reject-new")),
        ("a.yaml", &cm("a", "1")),
        ("bad.yaml", BAD_DEPLOYMENT),
    ]);
    let out = apply(d.path(), &["-n", "t-reject-new"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("Deployment.apps t-reject-new/bad (from bad.yaml)")
            && err.contains("rejected in a dry run; only the first stage"),
        "{err}"
    );
    assert!(
        kubectl(&["get", "namespace", "t-reject-new"])
            .status
            .success()
    );
    assert!(get("configmap", "t-reject-new", "a").is_none(), "{err}");

    // Fixed: applies.
    write_files(d.path(), &[("bad.yaml", &cm("was-bad", "1"))]);
    ok(apply(d.path(), &["-n", "t-reject-new"]));
    assert!(get("configmap", "t-reject-new", "a").is_some());
}

#[test]
fn an_unknown_kind_or_a_bad_scope_is_refused_before_any_write() {
    let d = app_dir(&[
        ("ns.yaml", &ns("t-unknown")),
        ("cm.yaml", &cm("would-be", "1")),
        (
            "x.yaml",
            "apiVersion: example.com/v1\nkind: Gizmo\nmetadata:\n  name: g\n",
        ),
        (
            "crb.yaml",
            "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: t-unknown-role\n  namespace: oops\nrules: []\n",
        ),
    ]);
    let out = apply(d.path(), &["-n", "t-unknown"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("nothing was applied"), "{err}");
    assert!(
        err.contains("Gizmo g (from x.yaml): the cluster does not serve example.com/v1 Gizmo"),
        "{err}"
    );
    assert!(err.contains("ClusterRole t-unknown-role (from crb.yaml): is cluster-scoped but names namespace \"oops\""), "{err}");
    let o = kubectl(&["get", "namespace", "t-unknown"]);
    assert!(!o.status.success(), "zero writes: not even the namespace");

    let dup = app_dir(&[("a.yaml", &cm("twice", "1")), ("b.yaml", &cm("twice", "2"))]);
    let out = apply(dup.path(), &["-n", "default"]);
    assert!(
        stderr(&out).contains(
            "ConfigMap default/twice (from b.yaml): appears twice in the release (also in a.yaml)"
        ),
        "{}",
        stderr(&out)
    );
}

#[test]
fn wait_reports_each_object_not_ready_and_why() {
    let d = app_dir(&[
        ("ns.yaml", &ns("t-wait")),
        (
            "deploy.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: never\nspec:\n  replicas: 2\n  selector:\n    matchLabels: {app: never}\n  template:\n    metadata:\n      labels: {app: never}\n    spec:\n      containers:\n      - name: c\n        image: nginx:1.27\n",
        ),
        ("cm.yaml", &cm("ready", "1")),
    ]);
    // No scheduler or kubelet here: pods never run, so the Deployment never becomes available.
    let out = apply(d.path(), &["-n", "t-wait", "--wait=3s"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("timed out after 3s waiting for 1 objects to become ready"),
        "{err}"
    );
    assert!(err.contains("Deployment.apps t-wait/never: "), "{err}");
    assert!(!err.contains("ConfigMap t-wait/ready"), "{err}");
}

#[test]
fn wait_returns_once_a_job_completes_and_fails_fast_when_one_fails() {
    let job = |name: &str| {
        format!(
            "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {name}\nspec:\n  backoffLimit: 0\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: c\n        image: busybox:1.36\n"
        )
    };
    let d = app_dir(&[("ns.yaml", &ns("t-ready")), ("job.yaml", &job("migrate"))]);
    let spawn = |dir: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_plumb"))
            .args([
                "apply",
                dir.to_str().unwrap(),
                "-n",
                "t-ready",
                "--wait=90s",
            ])
            .env("KUBECONFIG", common::kubeconfig())
            .env(
                "PLUMB_CACHE_DIR",
                std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-cache"),
            )
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    // Play the Job's pod: no kubelet runs here, so the test reports the outcome itself. A
    // finished Job is left alone by the job controller.
    let finish = |name: &str, condition: &str| {
        let started = std::time::Instant::now();
        while get("job", "t-ready", name).is_none() {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(60),
                "the Job was never created"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        std::thread::sleep(std::time::Duration::from_millis(1500));
        let patch = format!(
            r#"{{"status":{{"conditions":[{{"type":"{condition}","status":"True","reason":"Test","message":"reported by the test"}}]}}}}"#
        );
        ok(kubectl(&[
            "patch",
            "job",
            name,
            "-n",
            "t-ready",
            "--subresource=status",
            "--type=merge",
            "-p",
            &patch,
        ]));
    };
    let child = spawn(d.path());
    finish("migrate", "Complete");
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Job.batch t-ready/migrate created"),
        "{}",
        stdout(&out)
    );

    write_files(d.path(), &[("job2.yaml", &job("seed"))]);
    let child = spawn(d.path());
    finish("seed", "Failed");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("Job.batch t-ready/seed: job failed: reported by the test"),
        "{err}"
    );
}

#[test]
fn an_empty_render_prunes_only_when_allowed() {
    let d = app_dir(&[
        (
            "plumb.yaml",
            "apiVersion: plumb.dev/v1alpha1\nkind: App\nmetadata:\n  name: allowed\nspec:\n  destination: {namespace: default}\n  prune: {enabled: true, allowEmpty: true}\n",
        ),
        ("a.yaml", &cm("allowed-a", "1")),
    ]);
    ok(apply(d.path(), &[]));
    assert!(get("configmap", "default", "allowed-a").is_some());
    std::fs::remove_file(d.path().join("a.yaml")).unwrap();
    let out = ok(apply(d.path(), &[]));
    assert!(out.contains("ConfigMap default/allowed-a pruned"), "{out}");
    assert!(get("configmap", "default", "allowed-a").is_none());
}

#[test]
fn dev_cluster_up_and_down_manage_their_own_processes() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("dev");
    let up = std::process::Command::new(env!("CARGO_BIN_EXE_plumb"))
        .args(["dev", "cluster", "up", "--dir", state.to_str().unwrap()])
        .output()
        .unwrap();
    let printed = ok(up);
    let kubeconfig = state.join("kubeconfig");
    assert_eq!(
        printed,
        format!("export KUBECONFIG={}\n", kubeconfig.display())
    );
    let pids: Vec<u32> = std::fs::read_to_string(state.join("pids"))
        .unwrap()
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(pids.len(), 3);
    let version = std::process::Command::new(env!("CARGO_BIN_EXE_plumb"))
        .args(["apply", "--dry-run", env!("CARGO_MANIFEST_DIR")])
        .env("KUBECONFIG", &kubeconfig)
        .output()
        .unwrap();
    // The project root is not an app of manifests; what matters is that the cluster answered.
    assert!(
        !stderr(&version).contains("cannot reach the cluster"),
        "{}",
        stderr(&version)
    );
    let again = std::process::Command::new(env!("CARGO_BIN_EXE_plumb"))
        .args(["dev", "cluster", "up", "--dir", state.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        stderr(&again).contains("already running"),
        "{}",
        stderr(&again)
    );
    let down = std::process::Command::new(env!("CARGO_BIN_EXE_plumb"))
        .args(["dev", "cluster", "down", "--dir", state.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        stderr(&down).contains("3 processes stopped"),
        "{}",
        stderr(&down)
    );
    for pid in pids {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists()
                || std::fs::read_to_string(format!("/proc/{pid}/status"))
                    .unwrap_or_default()
                    .contains("zombie"),
            "process {pid} still running"
        );
    }
    assert!(!state.exists());
}
