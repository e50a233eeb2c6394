//! `plumb render`, `plumb plugin` and `plumb schema` as a user runs them: the real binary,
//! real files, real exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn plumb(args: &[&str], cache: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_plumb"))
        .args(args)
        .env("PLUMB_CACHE_DIR", cache)
        .env_remove("RUST_LOG")
        .output()
        .expect("run plumb")
}

fn shared_cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-cache")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn docs(yaml: &str) -> Vec<serde_json::Value> {
    serde_saphyr::from_multiple(yaml).expect("plumb prints valid YAML")
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

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/hello")
}

#[test]
fn renders_the_hello_example() {
    let out = plumb(&["render", example().to_str().unwrap()], &shared_cache());
    assert!(out.status.success(), "{}", stderr(&out));
    let objects = docs(&stdout(&out));
    let ids: Vec<String> = objects
        .iter()
        .map(|o| {
            format!(
                "{}/{}",
                o["kind"].as_str().unwrap(),
                o["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        ids,
        [
            "ConfigMap/hello-greeting",
            "Deployment/hello",
            "Service/hello",
            "Namespace/hello"
        ]
    );
    assert_eq!(objects[0]["data"]["greeting"], "Hello from plumb!\n");
    assert_eq!(
        objects[1]["spec"]["template"]["spec"]["containers"][0]["args"][1],
        "--http-port=8080"
    );

    let json = plumb(
        &["render", example().to_str().unwrap(), "-o", "json"],
        &shared_cache(),
    );
    let list: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(list["kind"], "List");
    assert_eq!(list["items"].as_array().unwrap(), &objects);
}

#[test]
fn plain_reads_nested_multi_document_trees_in_order() {
    let cm = |n: &str| format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {n}\n");
    let d = write_tree(&[
        ("app/z.yaml", &cm("z")),
        (
            "app/base/a.yml",
            &format!(
                "---\n# only a comment\n---\n{}---\n\n---\n{}",
                cm("base-1"),
                cm("base-2")
            ),
        ),
        ("app/base/notes.txt", "not a manifest"),
        (
            "app/b.json",
            r#"{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "b"}}"#,
        ),
    ]);
    let out = plumb(
        &["render", d.path().join("app").to_str().unwrap()],
        &shared_cache(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let names: Vec<String> = docs(&stdout(&out))
        .iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["b", "base-1", "base-2", "z"]);

    let flat = plumb(
        &[
            "render",
            d.path().join("app").to_str().unwrap(),
            "--set-setting",
            "recurse=false",
        ],
        &shared_cache(),
    );
    let names: Vec<String> = docs(&stdout(&flat))
        .iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["b", "z"]);
}

#[test]
fn invalid_yaml_fails_naming_file_and_line() {
    let d = write_tree(&[
        (
            "app/ok.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n",
        ),
        (
            "app/bad.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [bad\n",
        ),
    ]);
    let out = plumb(
        &["render", d.path().join("app").to_str().unwrap()],
        &shared_cache(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).is_empty(),
        "nothing is printed from a failed render"
    );
    let err = stderr(&out);
    assert!(
        err.lines().any(|l| l
            .starts_with("error: plugin plain: app/bad.yaml:4:9: invalid YAML: unclosed bracket")),
        "{err}"
    );
}

#[test]
fn a_user_plugin_loads_by_path_and_its_pin_is_checked() {
    let wasm = Path::new(env!("PLUMB_GUEST_DIR")).join("plumb_test_hostile.wasm");
    let d = write_tree(&[("app/in.txt", "hello\n")]);
    let app = d.path().join("app");
    let out = plumb(
        &[
            "render",
            app.to_str().unwrap(),
            "--renderer",
            wasm.to_str().unwrap(),
            "--set-setting",
            "mode=ok",
            "--set-setting",
            "paths=[\"app/in.txt\"]",
        ],
        &shared_cache(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let objects = docs(&stdout(&out));
    assert_eq!(objects[0]["data"]["text"], "hello\n");
    assert_eq!(
        objects[1]["data"]["path"], "app",
        "the renderer is told the app's path inside the root"
    );

    let out = plumb(
        &[
            "render",
            app.to_str().unwrap(),
            "--renderer",
            wasm.to_str().unwrap(),
            "--plugin-sha256",
            &"ab".repeat(32),
        ],
        &shared_cache(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("was pinned; refusing to load it"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_app_spec_selects_renderer_and_settings() {
    let d = write_tree(&[
        (
            "deploy/plumb.yaml",
            "apiVersion: plumb.dev/v1alpha1\nkind: App\nmetadata:\n  name: shop\nspec:\n  source:\n    path: manifests\n  renderer:\n    name: plain\n    settings:\n      exclude: [\"tests/*\"]\n  destination:\n    namespace: shop\n",
        ),
        (
            "deploy/manifests/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shop\n",
        ),
        ("deploy/manifests/tests/fixture.yaml", "not: an object\n"),
    ]);
    let out = plumb(
        &[
            "render",
            d.path().join("deploy/plumb.yaml").to_str().unwrap(),
        ],
        &shared_cache(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(docs(&stdout(&out)).len(), 1);
    let bad = plumb(
        &[
            "render",
            d.path().join("deploy").to_str().unwrap(),
            "--set-setting",
            "exclude=[]",
        ],
        &shared_cache(),
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).contains("deploy/manifests/tests/fixture.yaml"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn the_renderer_is_detected_and_the_choice_logged() {
    let d = write_tree(&[(
        "app/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n",
    )]);
    let out = plumb(
        &["render", "-v", d.path().join("app").to_str().unwrap()],
        &shared_cache(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("detected the renderer") && stderr(&out).contains("renderer=plain"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn output_is_identical_across_processes_and_uses_the_compile_cache() {
    let cache = tempfile::tempdir().unwrap();
    let first = plumb(&["render", example().to_str().unwrap()], cache.path());
    assert!(first.status.success());
    let compiled: Vec<_> = walk(cache.path())
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    assert_eq!(
        compiled.len(),
        1,
        "the first run stores the compiled plain plugin"
    );
    let before = std::fs::metadata(&compiled[0]).unwrap().modified().unwrap();
    let second = plumb(
        &["render", example().to_str().unwrap(), "-vv"],
        cache.path(),
    );
    assert_eq!(first.stdout, second.stdout);
    assert!(
        stderr(&second).contains("outcome=Hit"),
        "{}",
        stderr(&second)
    );
    assert_eq!(
        std::fs::metadata(&compiled[0]).unwrap().modified().unwrap(),
        before
    );
}

#[test]
fn plugin_inspect_and_list_describe_plugins() {
    let out = plumb(
        &["plugin", "inspect", "plain", "-o", "json"],
        &shared_cache(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["name"], "plain");
    assert_eq!(v["kind"], "renderer");
    assert_eq!(v["world"], "plumb:plugin/renderer-plugin@0.1.0");
    assert_eq!(
        v["settingsSchema"]["properties"]["recurse"]["type"],
        "boolean"
    );
    let list = plumb(&["plugin", "list"], &shared_cache());
    assert!(stdout(&list).starts_with("plain "), "{}", stdout(&list));
    let missing = plumb(&["plugin", "inspect", "nosuch"], &shared_cache());
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("no built-in plugin named \"nosuch\""),
        "{}",
        stderr(&missing)
    );
}

#[test]
fn schema_prints_the_app_spec_json_schema() {
    let out = plumb(&["schema"], &shared_cache());
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["title"], "App");
    let spec = &v["$defs"]["AppSpec"]["properties"];
    for field in ["source", "renderer", "policies", "destination"] {
        assert!(spec.get(field).is_some(), "{field} in {spec}");
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p))
        } else {
            out.push(p)
        }
    }
    out
}
