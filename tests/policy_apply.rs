//! The policy gate in `plumb apply` and `plumb diff`, against a real API server: an enforced
//! denial writes nothing, a warning still applies, a mutation is what lands in the cluster.

mod common;

use std::path::Path;

use common::{app_dir, kubectl, ok, plumb, stderr, stdout};

fn team_owner() -> (String, String) {
    let wasm = Path::new(env!("PLUMB_GUEST_DIR")).join("plumb_policy_team_owner.wasm");
    let bytes = std::fs::read(&wasm).unwrap();
    use sha2::Digest;
    (
        wasm.display().to_string(),
        hex::encode(sha2::Sha256::digest(&bytes)),
    )
}

fn spec(name: &str, ns: &str, policies: &str) -> String {
    format!(
        "apiVersion: plumb.dev/v1alpha1\nkind: App\nmetadata:\n  name: {name}\nspec:\n  destination:\n    namespace: {ns}\n  policies:\n{policies}"
    )
}

const NS: &str =
    "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: NAME\n  labels: {team: shop}\n";

fn resource_versions(ns: &str) -> String {
    let o = kubectl(&[
        "get",
        "configmaps",
        "-n",
        ns,
        "-o",
        "jsonpath={range .items[*]}{.metadata.name}={.metadata.resourceVersion} {end}",
    ]);
    stdout(&o)
}

#[test]
fn an_enforced_denial_writes_nothing() {
    let (wasm, sha) = team_owner();
    let d = app_dir(&[
        (
            "plumb.yaml",
            &spec(
                "denied",
                "p-deny",
                &format!("  - path: {wasm}\n    sha256: {sha}\n    settings: {{teams: [shop]}}\n"),
            ),
        ),
        ("ns.yaml", &NS.replace("NAME", "p-deny")),
        (
            "cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: unowned\ndata: {k: v}\n",
        ),
    ]);
    let out = plumb(&["apply", d.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("deny this release; nothing was applied"),
        "{err}"
    );
    assert!(
        err.contains("ConfigMap") && err.contains("unowned") && err.contains("team-owner"),
        "{err}"
    );
    // Zero writes: not even the namespace (or the inventory) exists.
    assert!(!kubectl(&["get", "namespace", "p-deny"]).status.success());
    let diff = plumb(&["diff", d.path().to_str().unwrap()]);
    assert_eq!(
        diff.status.code(),
        Some(2),
        "diff reports the denial as an error: {}",
        stderr(&diff)
    );
}

#[test]
fn a_warning_still_applies_and_a_mutation_is_what_lands() {
    let (wasm, sha) = team_owner();
    let policies = format!(
        "  - path: {wasm}\n    sha256: {sha}\n    settings: {{defaultTeam: shop}}\n  - name: rules\n    mode: warn\n    settings:\n      rules:\n      - name: has-note\n        match: {{kinds: [ConfigMap]}}\n        expression: \"has(object.data) && 'note' in object.data\"\n        message: \"ConfigMaps should carry a note\"\n"
    );
    let d = app_dir(&[
        ("plumb.yaml", &spec("mutated", "p-mutate", &policies)),
        ("ns.yaml", &NS.replace("NAME", "p-mutate")),
        (
            "cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata: {k: v}\n",
        ),
    ]);
    let out = plumb(&["apply", d.path().to_str().unwrap()]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("warning: mutated (policy)") && err.contains("ConfigMaps should carry a note"),
        "{err}"
    );
    assert!(
        err.contains("changed") && err.contains("default owner: label team=shop"),
        "{err}"
    );
    let team = ok(kubectl(&[
        "get",
        "configmap",
        "settings",
        "-n",
        "p-mutate",
        "-o",
        "jsonpath={.metadata.labels.team}",
    ]));
    assert_eq!(team, "shop", "the mutated object is the one applied");
    // The gate runs in diff too: with the mutation, the cluster is already in sync.
    let diff = plumb(&["diff", d.path().to_str().unwrap()]);
    assert_eq!(
        diff.status.code(),
        Some(0),
        "{}{}",
        stdout(&diff),
        stderr(&diff)
    );
    let before = resource_versions("p-mutate");
    ok(plumb(&["apply", d.path().to_str().unwrap()]));
    assert_eq!(
        resource_versions("p-mutate"),
        before,
        "re-applying a mutated release writes nothing"
    );
}
