//! `plumb watch` as a user runs it: a real process reacting to real file saves, applying to a
//! real API server (or diffing against the previous render when there is no cluster).

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use common::{app_dir, kubeconfig, kubectl, ok, write_files};

struct Watch {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Watch {
    fn start(args: &[&str], with_cluster: bool) -> Watch {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_plumb"));
        cmd.arg("watch").args(args).env(
            "PLUMB_CACHE_DIR",
            Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-cache"),
        );
        if with_cluster {
            cmd.env("KUBECONFIG", kubeconfig());
        } else {
            cmd.env("KUBECONFIG", "/nonexistent/kubeconfig");
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start plumb watch");
        let (tx, rx) = channel();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        Watch {
            child,
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// Reads output until a line contains `needle`; everything read is kept in `seen`.
    fn expect(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!(
                    "no line containing {needle:?}; output so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// Every line printed within `window`.
    fn drain(&mut self, window: Duration) -> Vec<String> {
        let deadline = Instant::now() + window;
        let mut out = Vec::new();
        while let Ok(line) = self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            self.seen.push(line.clone());
            out.push(line);
        }
        out
    }

    fn interrupt(mut self) -> std::process::ExitStatus {
        // SAFETY: kill with SIGINT on the PID of the child this test started.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "plumb watch did not exit within 30 s of ctrl-c:\n{}",
                    self.seen.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        self.drain(Duration::from_millis(200));
        assert!(
            self.seen.iter().any(|l| l == "stopped"),
            "{}",
            self.seen.join("\n")
        );
        status
    }
}

fn cm(name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  key: \"{value}\"\n"
    )
}

fn live_value(ns: &str, name: &str) -> Option<String> {
    let o = kubectl(&[
        "get",
        "configmap",
        name,
        "-n",
        ns,
        "-o",
        "jsonpath={.data.key}",
    ]);
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).into_owned())
}

#[test]
fn a_save_reaches_the_api_server_and_a_bad_save_is_survived() {
    let d = app_dir(&[
        (
            "ns.yaml",
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: w-apply\n",
        ),
        ("cm.yaml", &cm("settings", "one")),
    ]);
    let mut w = Watch::start(
        &[d.path().to_str().unwrap(), "--apply", "-n", "w-apply"],
        true,
    );
    w.expect("rendered in");
    assert_eq!(
        live_value("w-apply", "settings").as_deref(),
        Some("one"),
        "the first render is applied"
    );

    write_files(d.path(), &[("cm.yaml", &cm("settings", "two"))]);
    w.expect("cycle in");
    assert_eq!(live_value("w-apply", "settings").as_deref(), Some("two"));

    write_files(
        d.path(),
        &[(
            "cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: [oops\n",
        )],
    );
    let err = w.expect("error:");
    assert!(err.contains("cm.yaml"), "{err}");
    assert_eq!(
        live_value("w-apply", "settings").as_deref(),
        Some("two"),
        "a bad save changes nothing"
    );

    write_files(d.path(), &[("cm.yaml", &cm("settings", "three"))]);
    w.expect("cycle in");
    assert_eq!(
        live_value("w-apply", "settings").as_deref(),
        Some("three"),
        "the next good save recovers"
    );
    assert!(w.interrupt().success(), "ctrl-c exits cleanly");
}

#[test]
fn many_files_at_once_make_one_cycle_and_renames_are_handled() {
    let d = app_dir(&[("a.yaml", &cm("a", "1"))]);
    let mut w = Watch::start(
        &[
            d.path().to_str().unwrap(),
            "--no-cluster",
            "--debounce=100ms",
        ],
        false,
    );
    w.expect("rendered in");
    // A `git checkout`-like burst: 40 files at once.
    let files: Vec<(String, String)> = (0..40)
        .map(|i| (format!("burst/f{i:02}.yaml"), cm(&format!("f{i}"), "x")))
        .collect();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    write_files(d.path(), &refs);
    let out = w.drain(Duration::from_secs(3));
    let cycles = out.iter().filter(|l| l.contains("cycle in")).count();
    assert_eq!(cycles, 1, "one cycle for the burst:\n{}", out.join("\n"));
    assert_eq!(
        out.iter()
            .filter(|l| l.starts_with("+++ new/ConfigMap f"))
            .count(),
        40,
        "{}",
        out.join("\n")
    );

    std::fs::rename(d.path().join("a.yaml"), d.path().join("renamed.yaml")).unwrap();
    let out = w.drain(Duration::from_secs(2));
    assert!(
        out.iter().any(|l| l.contains("cycle in")),
        "a rename triggers a cycle:\n{}",
        out.join("\n")
    );
    assert!(
        out.iter().any(|l| l.contains("no change")),
        "same objects after a rename:\n{}",
        out.join("\n")
    );
    assert!(
        !out.iter().any(|l| l.contains("error")),
        "{}",
        out.join("\n")
    );

    // Editor noise alone never starts a cycle.
    std::fs::write(d.path().join(".renamed.yaml.swp"), "x").unwrap();
    std::fs::write(d.path().join("4913"), "").unwrap();
    let out = w.drain(Duration::from_millis(800));
    assert!(
        !out.iter().any(|l| l.contains("cycle in")),
        "{}",
        out.join("\n")
    );
    assert!(w.interrupt().success());
}

#[test]
fn a_rebuilt_renderer_plugin_is_reloaded() {
    let guests = Path::new(env!("PLUMB_GUEST_DIR"));
    let d = app_dir(&[
        (
            "plumb.yaml",
            "apiVersion: plumb.dev/v1alpha1\nkind: App\nmetadata:\n  name: rebuilt\nspec:\n  renderer:\n    path: renderer.wasm\n",
        ),
        ("cm.yaml", &cm("from-plain", "1")),
        (
            "app.toml",
            "name = \"from-toml\"\nimage = \"nginx:1.27\"\nport = 80\n",
        ),
    ]);
    std::fs::copy(
        guests.join("plumb_plain.wasm"),
        d.path().join("renderer.wasm"),
    )
    .unwrap();
    let mut w = Watch::start(&[d.path().to_str().unwrap(), "--no-cluster"], false);
    w.expect("rendered in");
    // "Rebuild" the plugin: a different component lands at the same path.
    std::fs::copy(
        guests.join("plumb_example_app_toml.wasm"),
        d.path().join("renderer.wasm"),
    )
    .unwrap();
    w.expect("+++ new/Deployment from-toml");
    w.expect("--- previous/ConfigMap from-plain");
    w.expect("cycle in");
    assert!(w.interrupt().success());
}

#[test]
fn watch_applies_through_the_same_pipeline_as_apply() {
    // The example renderer plugin, pinned, through watch --apply: objects land in the cluster.
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/toml-app");
    let d = app_dir(&[]);
    for f in ["plumb.yaml", "app.toml", "renderer/app-toml.wasm"] {
        std::fs::create_dir_all(d.path().join(f).parent().unwrap()).unwrap();
        std::fs::copy(example.join(f), d.path().join(f)).unwrap();
    }
    ok(kubectl(&["create", "namespace", "shop"]));
    let mut w = Watch::start(&[d.path().to_str().unwrap(), "--apply"], true);
    w.expect("rendered in");
    let o = ok(kubectl(&[
        "get",
        "deployment",
        "shop",
        "-n",
        "shop",
        "-o",
        "jsonpath={.spec.replicas}",
    ]));
    assert_eq!(o, "3");
    let toml = std::fs::read_to_string(d.path().join("app.toml"))
        .unwrap()
        .replace("replicas = 3", "replicas = 5");
    std::fs::write(d.path().join("app.toml"), toml).unwrap();
    w.expect("cycle in");
    let o = ok(kubectl(&[
        "get",
        "deployment",
        "shop",
        "-n",
        "shop",
        "-o",
        "jsonpath={.spec.replicas}",
    ]));
    assert_eq!(o, "5");
    assert!(w.interrupt().success());
}
