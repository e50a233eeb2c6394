//! `plumb render` from Git, as a user runs it: the real binary against `git daemon` on loopback.

mod git_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use git_support::{Daemon, Fixture, git, run};
use plumb::app::{App, Overrides};

fn plumb(args: &[&str], cache: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_plumb"))
        .args(args)
        .env("PLUMB_CACHE_DIR", cache)
        .env_remove("RUST_LOG")
        .env_remove("PLUMB_GIT_TOKEN")
        .env_remove("PLUMB_GIT_PASSWORD")
        .output()
        .expect("run plumb")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn hostile_wasm() -> PathBuf {
    Path::new(env!("PLUMB_GUEST_DIR")).join("plumb_test_hostile.wasm")
}

fn repo() -> Fixture {
    let f = Fixture::new("repo");
    f.write(&[
        ("base/cm.yaml", &Fixture::config_map("base", "1")),
        ("app/cm.yaml", &Fixture::config_map("app", "1")),
        ("evil/cm.yaml", &Fixture::config_map("evil", "1")),
    ]);
    f.symlink("app/shared.yaml", "../base/cm.yaml");
    f.symlink("evil/passwd.yaml", "/etc/passwd");
    f.commit("first");
    f.publish();
    f
}

#[test]
fn renders_a_git_source_end_to_end() {
    let f = repo();
    let d = Daemon::start(&f.srv);
    let url = format!("git://127.0.0.1:{}/repo", d.port);
    let out = plumb(
        &[
            "render", "--source", &url, "--ref", "main", "--path", "app", "-o", "json",
        ],
        &f.cache,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["app", "base"],
        "the in-repository symlink is followed"
    );

    // A symbolic link to /etc/passwd is refused, naming it.
    let out = plumb(
        &[
            "render", "--source", &url, "--ref", "main", "--path", "evil",
        ],
        &f.cache,
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("passwd.yaml") && err.contains("outside the repository"),
        "{err}"
    );

    // A revision that does not exist: the URL and what exists.
    let out = plumb(&["render", "--source", &url, "--ref", "nope"], &f.cache);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains(&url) && err.contains("branches: main"),
        "{err}"
    );

    // The server goes away: the cached revision renders, with a warning naming the error.
    drop(d);
    let out = plumb(
        &["render", "--source", &url, "--ref", "main", "--path", "app"],
        &f.cache,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("warning") && err.contains("cannot fetch"),
        "{err}"
    );
}

#[test]
fn the_plugin_clock_reads_the_commit_time_and_reads_are_confined() {
    let f = repo();
    let d = Daemon::start(&f.srv);
    let url = d.url("repo");
    let commit = f.head();
    let ct = git(&f.work, &["log", "-1", "--format=%ct"]);

    let overrides = Overrides {
        source: Some(url.clone()),
        revision: Some("main".into()),
        source_path: Some("app".into()),
        cache_dir: Some(f.cache.clone()),
        ..Default::default()
    };
    let app = App::resolve(Path::new("/nonexistent-input"), &overrides).unwrap();
    assert_eq!(app.name, "app");
    let ctx = app.context();
    assert_eq!(ctx.revision, commit);
    assert_eq!(ctx.author.as_deref(), Some("Ada Author <ada@example.com>"));
    assert_eq!(ctx.commit_time, Some(ct.parse().unwrap()));
    assert_eq!(ctx.path, "app");

    let wasm = hostile_wasm();
    let render = |settings: &[&str]| {
        let mut args = vec![
            "render",
            "--source",
            &url,
            "--path",
            "app",
            "--renderer",
            wasm.to_str().unwrap(),
            "-o",
            "json",
        ];
        for s in settings {
            args.extend(["--set-setting", s]);
        }
        let out = plumb(&args, &f.cache);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        list["items"][0]["data"].clone()
    };
    assert_eq!(render(&["mode=entropy"])["now"], ct.as_str());
    let r = render(&["mode=read", "path=evil/passwd.yaml"]);
    let result = r["result"].as_str().unwrap();
    assert!(
        result.starts_with("error:") && result.contains("/etc/passwd"),
        "{result}"
    );
    let r = render(&["mode=read", "path=base/cm.yaml"]);
    assert!(r["result"].as_str().unwrap().starts_with("read "), "{r}");
}

#[test]
fn an_app_spec_names_its_repository_and_requires_signatures() {
    let f = repo();
    let d = Daemon::start(&f.srv);
    let url = d.url("repo");
    let keys = f.tmp.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let key = keys.join("signer");
    run(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "signer", "-f"])
        .arg(&key));
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();

    let spec_dir = f.tmp.path().join("deploy");
    std::fs::create_dir_all(&spec_dir).unwrap();
    let spec = spec_dir.join("plumb.yaml");
    std::fs::write(
        &spec,
        format!(
            "apiVersion: plumb.dev/v1alpha1\nkind: App\nmetadata:\n  name: shop\nspec:\n  source:\n    repoURL: {url}\n    targetRevision: main\n    path: app\n    signatureMode: require\n    trustedKeys:\n    - {}\n  destination:\n    namespace: shop\n",
            public.trim()
        ),
    )
    .unwrap();

    // The head commit is unsigned: refused, naming the commit.
    let unsigned = f.head();
    let out = plumb(&["render", spec.to_str().unwrap()], &f.cache);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains(&unsigned) && err.contains("not signed"),
        "{err}"
    );

    // Signed with the trusted key: renders.
    f.write(&[("app/cm.yaml", &Fixture::config_map("app", "2"))]);
    f.commit_signed_ssh(&key, "signed");
    f.publish();
    let out = plumb(&["render", spec.to_str().unwrap()], &f.cache);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("value: \"2\""),
        "{}",
        text(&out.stdout)
    );

    // The schema documents the new fields.
    let out = plumb(&["schema"], &f.cache);
    let schema = text(&out.stdout);
    assert!(schema.contains("signatureMode") && schema.contains("trustedKeys"));
}
