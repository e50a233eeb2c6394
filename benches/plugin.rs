//! Plugin host costs: warm call overhead (goal ≤ 50 µs), a 100-manifest render, and a cold
//! compile vs a cached load of a component. Run with `cargo bench --bench plugin`.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use plumb::plugin::{CompileCache, Context, Limits, PluginHost};
use plumb::source::{LocalDir, SourceTree};
use serde_json::json;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn p95(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() * 95 / 100]
}

fn main() {
    let hostile = Path::new(env!("PLUMB_GUEST_DIR")).join("plumb_test_hostile.wasm");
    let dir = tempfile::tempdir().expect("tempdir");
    let apps = dir.path().join("apps");
    std::fs::create_dir_all(apps.join("empty")).expect("mkdir");
    std::fs::create_dir_all(apps.join("hundred")).expect("mkdir");
    for i in 0..100 {
        std::fs::write(
            apps.join("hundred").join(format!("cm-{i:03}.yaml")),
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\n  labels:\n    app: bench\ndata:\n  key: value-{i}\n"),
        )
        .expect("write");
    }
    let tree: Arc<dyn SourceTree> = Arc::new(LocalDir::open(&apps).expect("open"));
    let ctx = |path: &str| Context {
        app: "bench".into(),
        path: path.into(),
        revision: "local".into(),
        ..Default::default()
    };

    // Cold compile vs cached load, several rounds each, fresh hosts.
    let cache_dir = dir.path().join("cache");
    let mut cold = Vec::new();
    let mut cached = Vec::new();
    for round in 0..5 {
        let host = PluginHost::new(Limits::default(), CompileCache::disabled()).expect("host");
        let t = Instant::now();
        host.load_builtin("plain").expect("load");
        cold.push(t.elapsed());
        if round == 0 {
            let warm =
                PluginHost::new(Limits::default(), CompileCache::at(&cache_dir)).expect("host");
            warm.load_builtin("plain").expect("populate cache");
        }
        let host = PluginHost::new(Limits::default(), CompileCache::at(&cache_dir)).expect("host");
        let t = Instant::now();
        host.load_builtin("plain").expect("load");
        cached.push(t.elapsed());
    }
    let (cold, cached) = (median(cold), median(cached));
    println!(
        "plain component (~{} KB): cold compile+load {cold:?}, cached load {cached:?} ({:.0}x faster)",
        plumb::plugin::BUILTINS
            .iter()
            .find(|b| b.name == "plain")
            .map(|b| b.wasm.len() / 1024)
            .unwrap_or(0),
        cold.as_secs_f64() / cached.as_secs_f64()
    );

    let host = PluginHost::new(Limits::default(), CompileCache::at(&cache_dir)).expect("host");
    let empty = host.load_file(&hostile, None).expect("load hostile");
    let plain = host.load_builtin("plain").expect("load plain");
    let settings = json!({"mode": "empty"});
    for _ in 0..200 {
        empty
            .render(&settings, &ctx("empty"), tree.clone())
            .expect("render");
    }
    let mut calls = Vec::new();
    for _ in 0..3000 {
        let t = Instant::now();
        empty
            .render(&settings, &ctx("empty"), tree.clone())
            .expect("render");
        calls.push(t.elapsed());
    }
    let (m, p) = (median(calls.clone()), p95(calls));
    let verdict = if m <= Duration::from_micros(50) {
        "meets"
    } else {
        "MISSES"
    };
    println!(
        "warm call overhead (empty render, fresh store + instance per call): median {m:?}, p95 {p:?} — {verdict} the 50 µs goal ({:.2}x of it)",
        m.as_secs_f64() / 50e-6
    );

    let none = json!({});
    for _ in 0..20 {
        plumb::render::render(&plain, &none, &ctx("hundred"), tree.clone()).expect("render");
    }
    let mut renders = Vec::new();
    for _ in 0..300 {
        let t = Instant::now();
        let r =
            plumb::render::render(&plain, &none, &ctx("hundred"), tree.clone()).expect("render");
        assert_eq!(r.objects.len(), 100);
        renders.push(t.elapsed());
    }
    let m100 = median(renders.clone());
    println!(
        "plain render of 100 small manifests (read, parse, check, incl. call overhead): median {m100:?}, p95 {:?}, {:.1} µs per manifest",
        p95(renders),
        m100.as_secs_f64() * 1e6 / 100.0
    );
}
