//! End-to-end tests over small trees (the differential tests against `kubectl kustomize` live in
//! the root package's `tests/kustomize_diff.rs`).

use std::fs;

use plumb_plugin_sdk::testing::DirSource;
use serde_json::json;

use super::render;

fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let p = dir.path().join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }
    dir
}

#[test]
fn overlay_with_prefix_namespace_and_generated_config_map() {
    let d = tree(&[
        (
            "base/kustomization.yaml",
            "resources:\n- deploy.yaml\nconfigMapGenerator:\n- name: cfg\n  literals:\n  - a=b\n",
        ),
        (
            "base/deploy.yaml",
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.0\n        envFrom:\n        - configMapRef:\n            name: cfg\n",
        ),
        (
            "prod/kustomization.yaml",
            "resources:\n- ../base\nnamespace: prod\nnamePrefix: p-\nimages:\n- name: nginx\n  newTag: \"2.0\"\n",
        ),
    ]);
    let out = render("prod", &DirSource::new(d.path())).unwrap();
    let names: Vec<&str> = out
        .objects
        .iter()
        .map(|o| o.value["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names[0].starts_with("p-cfg-"), "{names:?}");
    assert_eq!(names[1], "p-web");
    let dep = &out.objects[1].value;
    assert_eq!(dep["metadata"]["namespace"], json!("prod"));
    assert_eq!(
        dep["spec"]["template"]["spec"]["containers"][0]["image"],
        json!("nginx:2.0")
    );
    assert_eq!(
        dep["spec"]["template"]["spec"]["containers"][0]["envFrom"][0]["configMapRef"]["name"],
        json!(names[0])
    );
}

#[test]
fn errors_name_the_file() {
    let d = tree(&[
        ("a/kustomization.yaml", "resources:\n- missing.yaml\n"),
        ("b/kustomization.yaml", "resources:\n- ../c\n"),
        ("c/kustomization.yaml", "resources:\n- ../b\n"),
        ("d/kustomization.yaml", "resources:\n- x.yaml\n"),
        (
            "d/x.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [x\n",
        ),
        ("e/kustomization.yaml", "resources:\n- ../../outside\n"),
        (
            "f/kustomization.yaml",
            "resources:\n- https://github.com/org/repo//base?ref=v1\n",
        ),
    ]);
    let src = DirSource::new(d.path());
    let e = render("a", &src).unwrap_err();
    assert_eq!(e.file.as_deref(), Some("a/kustomization.yaml"), "{e}");
    assert!(e.message.contains("missing.yaml"), "{e}");
    let e = render("b", &src).unwrap_err();
    assert!(e.message.contains("cycle detected"), "{e}");
    let e = render("d", &src).unwrap_err();
    assert_eq!(e.file.as_deref(), Some("d/x.yaml"), "{e}");
    assert!(e.line.is_some());
    let e = render("e", &src).unwrap_err();
    assert!(e.message.contains("outside the repository"), "{e}");
    let e = render("f", &src).unwrap_err();
    assert!(e.message.contains("Vendor"), "{e}");
}

#[test]
fn deprecated_fields_warn_once_each() {
    let d = tree(&[
        (
            "app/kustomization.yaml",
            "resources:\n- cm.yaml\ncommonLabels:\n  a: b\npatchesStrategicMerge:\n- |-\n  apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: cm\n  data:\n    k: v\n",
        ),
        (
            "app/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n",
        ),
    ]);
    let out = render("app", &DirSource::new(d.path())).unwrap();
    let msgs: Vec<&str> = out.warnings.iter().map(|w| w.message.as_str()).collect();
    assert_eq!(msgs.len(), 2, "{msgs:?}");
    assert!(
        msgs[0].starts_with("'commonLabels' is deprecated. Please use 'labels' instead."),
        "{msgs:?}"
    );
    assert!(
        msgs[1].starts_with("'patchesStrategicMerge' is deprecated."),
        "{msgs:?}"
    );
    assert_eq!(
        out.warnings[0].file.as_deref(),
        Some("app/kustomization.yaml")
    );
    assert_eq!(out.objects[0].value["data"]["k"], json!("v"));
    assert_eq!(out.objects[0].value["metadata"]["labels"]["a"], json!("b"));
}
