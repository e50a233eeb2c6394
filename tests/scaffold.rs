//! `plumb plugin new`: the scaffolded crates build for wasm32-wasip2, pass their own tests, and
//! load into plumb — with nothing but the files plumb wrote.

use std::path::Path;
use std::process::Command;

fn cargo(dir: &Path, args: &[&str], target: &Path) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "cargo {args:?} in {} failed:\n{}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn plumb(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_plumb"))
        .args(args)
        .env(
            "PLUMB_CACHE_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("scaffold-cache"),
        )
        .output()
        .expect("run plumb")
}

#[test]
fn scaffolded_plugins_build_pass_their_tests_and_load() {
    let d = tempfile::tempdir().unwrap();
    // One target dir for both crates, kept between runs: the dependencies build once.
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("scaffold-target");
    for (kind, name) in [("renderer", "txt-maps"), ("policy", "min-replicas")] {
        let out = plumb(&[
            "plugin",
            "new",
            kind,
            name,
            "--dir",
            d.path().to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let dir = d.path().join(name);
        cargo(&dir, &["test", "--quiet"], &target);
        cargo(
            &dir,
            &["build", "--release", "--target", "wasm32-wasip2", "--quiet"],
            &target,
        );
        let wasm = target
            .join("wasm32-wasip2/release")
            .join(format!("{}.wasm", name.replace('-', "_")));
        let inspect = plumb(&["plugin", "inspect", wasm.to_str().unwrap(), "-o", "json"]);
        assert!(
            inspect.status.success(),
            "{}",
            String::from_utf8_lossy(&inspect.stderr)
        );
        let meta: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
        assert_eq!(meta["name"], name);
        assert_eq!(meta["kind"], kind);
        if kind == "renderer" {
            let app = d.path().join("app");
            std::fs::create_dir_all(&app).unwrap();
            std::fs::write(app.join("greeting.txt"), "hello\n").unwrap();
            let out = plumb(&[
                "render",
                app.to_str().unwrap(),
                "--renderer",
                wasm.to_str().unwrap(),
                "--set-setting",
                "team=web",
                "-o",
                "json",
            ]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(list["items"][0]["metadata"]["name"], "greeting");
            assert_eq!(list["items"][0]["metadata"]["labels"]["team"], "web");
        }
    }
}
