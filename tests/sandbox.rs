//! The plugin sandbox against hostile plugins (built from tests/plugins/hostile): every
//! misbehaviour ends in a typed error naming the plugin, and the same host keeps rendering
//! good plugins afterwards.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use plumb::plugin::{CacheOutcome, CompileCache, Context, Limits, Plugin, PluginError, PluginHost};
use plumb::render;
use plumb::source::{LocalDir, SourceTree};
use serde_json::{Value, json};

fn hostile_wasm() -> PathBuf {
    Path::new(env!("PLUMB_GUEST_DIR")).join("plumb_test_hostile.wasm")
}

/// One compile cache for the whole test binary: compiling in a debug build is slow.
fn cache() -> CompileCache {
    CompileCache::at(Path::new(env!("CARGO_TARGET_TMPDIR")).join("sandbox-cache"))
}

fn host(limits: Limits) -> PluginHost {
    PluginHost::new(limits, cache()).expect("host")
}

fn tree() -> (tempfile::TempDir, Arc<dyn SourceTree>) {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("root/app")).unwrap();
    std::fs::write(
        d.path().join("root/app/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: good\ndata:\n  k: v\n",
    )
    .unwrap();
    std::fs::write(d.path().join("secret.txt"), "outside the root\n").unwrap();
    std::os::unix::fs::symlink("../../secret.txt", d.path().join("root/app/escape.txt")).unwrap();
    let t: Arc<dyn SourceTree> = Arc::new(LocalDir::open(&d.path().join("root")).unwrap());
    (d, t)
}

fn ctx() -> Context {
    Context {
        app: "test".into(),
        path: "app".into(),
        revision: "local".into(),
        ..Default::default()
    }
}

fn run(
    p: &Plugin,
    settings: Value,
    t: &Arc<dyn SourceTree>,
) -> Result<render::Release, PluginError> {
    render::render(p, &settings, &ctx(), t.clone())
}

/// After any failure, the same host still renders a good plugin correctly.
fn assert_host_still_works(h: &PluginHost, t: &Arc<dyn SourceTree>) {
    let plain = h.load_builtin("plain").unwrap();
    let r = run(&plain, json!({}), t).expect("the good plugin still renders");
    assert_eq!(r.objects.len(), 1);
    assert_eq!(r.objects[0].value["data"]["k"], "v");
    let hostile = h.load_file(&hostile_wasm(), None).unwrap();
    let r = run(&hostile, json!({"mode": "ok", "paths": ["app/cm.yaml"]}), t)
        .expect("a fresh instance after a trap");
    assert!(
        r.objects[0].value["data"]["text"]
            .as_str()
            .unwrap()
            .contains("name: good")
    );
}

#[test]
fn an_infinite_loop_is_stopped_by_the_deadline() {
    let (_d, t) = tree();
    let h = host(Limits {
        timeout: Duration::from_millis(300),
        ..Limits::default()
    });
    let p = h.load_file(&hostile_wasm(), None).unwrap();
    let started = Instant::now();
    let err = run(&p, json!({"mode": "loop"}), &t).unwrap_err();
    let took = started.elapsed();
    assert!(
        matches!(err, PluginError::Timeout { ref plugin, limit } if plugin == "hostile" && limit == Duration::from_millis(300)),
        "{err}"
    );
    assert!(took < Duration::from_secs(2), "stopped after {took:?}");
    assert!(
        err.to_string().contains("hostile") && err.to_string().contains("deadline"),
        "{err}"
    );
    assert_host_still_works(&h, &t);
}

#[test]
fn a_memory_bomb_is_stopped_at_the_cap() {
    let (_d, t) = tree();
    let h = host(Limits {
        memory: 32 << 20,
        ..Limits::default()
    });
    let p = h.load_file(&hostile_wasm(), None).unwrap();
    let err = run(&p, json!({"mode": "memory", "mib": 200}), &t).unwrap_err();
    match &err {
        PluginError::MemoryLimit {
            plugin,
            limit,
            requested,
        } => {
            assert_eq!(plugin, "hostile");
            assert_eq!(*limit, 32 << 20);
            assert!(*requested > 32 << 20);
        }
        other => panic!("expected a memory-limit error, got {other}"),
    }
    // Within the cap, the same plugin allocates fine.
    let ok = run(&p, json!({"mode": "memory", "mib": 8}), &t).unwrap();
    assert_eq!(ok.objects[0].value["data"]["chunks"], "8");
    assert_host_still_works(&h, &t);
}

#[test]
fn runaway_recursion_ends_in_an_error() {
    let (_d, t) = tree();
    let h = host(Limits::default());
    let p = h.load_file(&hostile_wasm(), None).unwrap();
    let err = run(&p, json!({"mode": "recurse"}), &t).unwrap_err();
    assert!(
        matches!(err, PluginError::StackOverflow { ref plugin } if plugin == "hostile"),
        "{err}"
    );
    assert_host_still_works(&h, &t);
}

#[test]
fn a_gigantic_output_is_stopped_at_the_cap() {
    let (_d, t) = tree();
    let h = host(Limits {
        output: 4 << 20,
        ..Limits::default()
    });
    let p = h.load_file(&hostile_wasm(), None).unwrap();
    let err = run(&p, json!({"mode": "huge-output", "mib": 8}), &t).unwrap_err();
    match &err {
        PluginError::OutputTooLarge {
            plugin,
            limit,
            size,
        } => {
            assert_eq!(plugin, "hostile");
            assert_eq!(*limit, 4 << 20);
            assert!(*size > 8 << 20);
        }
        other => panic!("expected an output-cap error, got {other}"),
    }
    assert_host_still_works(&h, &t);
}

#[test]
fn reading_outside_the_root_is_denied() {
    let (_d, t) = tree();
    let h = host(Limits::default());
    let p = h.load_file(&hostile_wasm(), None).unwrap();
    for path in [
        "../x",
        "/etc/passwd",
        "app/../../secret.txt",
        "app/escape.txt",
    ] {
        let r = run(&p, json!({"mode": "read", "path": path}), &t).unwrap();
        let result = r.objects[0].value["data"]["result"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            result.starts_with("error: access denied"),
            "{path}: {result}"
        );
        assert!(
            r.reads.contains(path),
            "the host records what was asked for: {:?}",
            r.reads
        );
    }
    // Inside the root, the same call reads.
    let r = run(&p, json!({"mode": "read", "path": "app/cm.yaml"}), &t).unwrap();
    assert!(
        r.objects[0].value["data"]["result"]
            .as_str()
            .unwrap()
            .starts_with("read ")
    );
    assert_host_still_works(&h, &t);
}

#[test]
fn a_panic_surfaces_as_an_error_naming_the_plugin() {
    let (_d, t) = tree();
    let h = host(Limits::default());
    let p = h.load_file(&hostile_wasm(), None).unwrap();
    let err = run(&p, json!({"mode": "panic"}), &t).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, PluginError::Trap { .. }), "{text}");
    assert!(text.starts_with("plugin hostile: crashed"), "{text}");
    assert!(
        text.contains("panics on purpose"),
        "the panic message from stderr is shown: {text}"
    );
    assert_host_still_works(&h, &t);
}

#[test]
fn a_chatty_plugin_is_not_stopped_by_its_stderr() {
    let (_d, t) = tree();
    let h = host(Limits::default());
    let p = h.load_file(&hostile_wasm(), None).unwrap();
    let r = run(&p, json!({"mode": "chatty"}), &t).unwrap();
    assert_eq!(r.objects[0].name(), "chatty");
}

#[test]
fn output_that_is_not_an_object_is_an_error_naming_plugin_and_index() {
    let (_d, t) = tree();
    let h = host(Limits::default());
    let p = h.load_file(&hostile_wasm(), None).unwrap();
    let err = run(&p, json!({"mode": "not-object"}), &t).unwrap_err();
    assert!(
        matches!(err, PluginError::InvalidOutput { index: 0, .. }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        "plugin hostile: object #0 (from x.yaml): no apiVersion"
    );
}

#[test]
fn settings_that_fail_the_schema_are_refused_before_the_plugin_runs() {
    let (_d, t) = tree();
    let h = host(Limits {
        timeout: Duration::from_secs(60),
        ..Limits::default()
    });
    let p = h.load_file(&hostile_wasm(), None).unwrap();
    // Were this run, it would allocate far past the cap; it must not run at all.
    let err = run(&p, json!({"mode": "memory", "mib": "lots"}), &t).unwrap_err();
    assert!(matches!(err, PluginError::InvalidSettings { .. }), "{err}");
    let plain = h.load_builtin("plain").unwrap();
    let err = run(&plain, json!({"recurse": "yes", "typo": 1}), &t).unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("plugin plain: invalid settings"), "{text}");
    assert!(
        text.contains("/recurse") && text.contains("typo"),
        "each violation is named: {text}"
    );
}

#[test]
fn the_sandbox_has_a_fixed_clock_and_fixed_randomness() {
    let (_d, t) = tree();
    let h = host(Limits::default());
    let p = h.load_file(&hostile_wasm(), None).unwrap();
    let a = run(&p, json!({"mode": "entropy"}), &t).unwrap();
    let b = run(&p, json!({"mode": "entropy"}), &t).unwrap();
    assert_eq!(a.objects[0].value, b.objects[0].value);
    assert_eq!(
        a.objects[0].value["data"]["now"], "0",
        "no commit time: the epoch"
    );
    let with_time = Context {
        commit_time: Some(1_700_000_000),
        ..ctx()
    };
    let c = render::render(&p, &json!({"mode": "entropy"}), &with_time, t.clone()).unwrap();
    assert_eq!(
        c.objects[0].value["data"]["now"], "1700000000",
        "the clock reads the commit time"
    );
}

#[test]
fn a_pinned_digest_must_match() {
    let h = host(Limits::default());
    let err = h
        .load_file(&hostile_wasm(), Some(&"0".repeat(64)))
        .unwrap_err();
    assert!(matches!(err, PluginError::DigestMismatch { .. }), "{err}");
    let bytes = std::fs::read(hostile_wasm()).unwrap();
    let digest = hex_sha256(&bytes);
    let p = h
        .load_file(
            &hostile_wasm(),
            Some(&format!("sha256:{}", digest.to_uppercase())),
        )
        .unwrap();
    assert_eq!(p.digest(), digest);
}

#[test]
fn a_module_that_is_not_a_plumb_component_is_refused_clearly() {
    let h = host(Limits::default());
    let err = h
        .load_bytes("junk.wasm", b"\0asm\x01\0\0\0", None)
        .unwrap_err();
    assert!(matches!(err, PluginError::Load { .. }), "{err}");
    let err = h.load_bytes("text.wasm", b"hello", None).unwrap_err();
    assert!(
        err.to_string().starts_with("plugin text.wasm: cannot load"),
        "{err}"
    );
}

#[test]
fn the_same_input_renders_the_same_bytes_across_a_restart() {
    let (_d, t) = tree();
    let dir = tempfile::tempdir().unwrap();
    let render_once = || {
        let h = PluginHost::new(Limits::default(), CompileCache::at(dir.path())).unwrap();
        let p = h.load_file(&hostile_wasm(), None).unwrap();
        let out = run(&p, json!({"mode": "entropy"}), &t).unwrap();
        let plain = h.load_builtin("plain").unwrap();
        let out2 = run(&plain, json!({}), &t).unwrap();
        let bytes =
            plumb::yaml::to_yaml_stream(out.objects.iter().chain(&out2.objects).map(|o| &o.value));
        (bytes, p.cache_outcome(), plain.cache_outcome())
    };
    let (first, o1, o2) = render_once();
    assert_eq!((o1, o2), (CacheOutcome::Compiled, CacheOutcome::Compiled));
    let (second, o1, o2) = render_once();
    assert_eq!(
        (o1, o2),
        (CacheOutcome::Hit, CacheOutcome::Hit),
        "the restart loads the cached compiled components"
    );
    assert_eq!(first, second);
}

#[test]
fn a_corrupted_cache_file_is_ignored_not_loaded() {
    let (_d, t) = tree();
    let dir = tempfile::tempdir().unwrap();
    let h = PluginHost::new(Limits::default(), CompileCache::at(dir.path())).unwrap();
    h.load_file(&hostile_wasm(), None).unwrap();
    drop(h);
    let files: Vec<PathBuf> = walk(dir.path())
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    assert_eq!(files.len(), 1);
    let mut bytes = std::fs::read(&files[0]).unwrap();
    let n = bytes.len();
    bytes[n / 2] ^= 0xff;
    std::fs::write(&files[0], &bytes).unwrap();
    let h = PluginHost::new(Limits::default(), CompileCache::at(dir.path())).unwrap();
    let p = h.load_file(&hostile_wasm(), None).unwrap();
    assert_eq!(
        p.cache_outcome(),
        CacheOutcome::Compiled,
        "a file failing its checksum is recompiled"
    );
    assert!(run(&p, json!({"mode": "ok"}), &t).is_ok());
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

fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
