//! The policy gate, warm: ten policies (the built-in baseline twice, seven CEL rule files from
//! examples/policies/rules — two of them cross-object — and the example team policy) over a
//! 1,000-object release. Goal: ≤ 100 ms in total. Run with `cargo bench --bench policy`.

use std::path::Path;
use std::time::{Duration, Instant};

use plumb::plugin::{CompileCache, Context, Limits, Operation, PluginHost};
use plumb::policy::{self, Policy, Subject};
use serde_json::{Value, json};

const GOAL: Duration = Duration::from_millis(100);
const OBJECTS: usize = 1000;

/// 200 apps of five objects: Deployment, Service, PodDisruptionBudget, ConfigMap, Ingress.
fn release() -> Vec<Subject> {
    let mut out = Vec::with_capacity(OBJECTS);
    for i in 0..OBJECTS / 5 {
        let app = format!("app-{i:03}");
        let labels = json!({"team": "shop", "app.kubernetes.io/name": app});
        let objects = [
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": app, "namespace": "shop", "labels": labels},
                "spec": {"replicas": 3, "selector": {"matchLabels": {"app": app}},
                    "template": {"metadata": {"labels": {"app": app}}, "spec": {"containers": [{
                        "name": "app", "image": format!("ghcr.io/acme/{app}:1.{i}.0"),
                        "ports": [{"containerPort": 8080}],
                        "env": [{"name": "MODE", "value": "production"}, {"name": "INDEX", "value": i.to_string()}],
                        "securityContext": {"privileged": false, "allowPrivilegeEscalation": false, "runAsNonRoot": true},
                        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}}]}}}}),
            json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": app, "namespace": "shop", "labels": labels},
                "spec": {"selector": {"app": app}, "ports": [{"port": 80, "targetPort": 8080}]}}),
            json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                "metadata": {"name": app, "namespace": "shop", "labels": labels},
                "spec": {"minAvailable": 2, "selector": {"matchLabels": {"app": app}}}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": app, "namespace": "shop", "labels": labels},
                "data": {"config.yaml": format!("name: {app}\nreplicas: 3\nfeatures: [a, b, c]\n")}}),
            json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                "metadata": {"name": app, "namespace": "shop", "labels": labels},
                "spec": {"rules": [{"host": "shop.example.com", "http": {"paths": [{
                    "path": format!("/{app}"), "pathType": "Prefix",
                    "backend": {"service": {"name": app, "port": {"number": 80}}}}]}}]}}),
        ];
        for object in objects {
            out.push(Subject {
                object,
                origin: Some(format!("apps/{app}.yaml")),
                live: None,
                operation: Operation::Create,
            });
        }
    }
    out
}

fn settings(file: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/policies")
        .join(file);
    let text = std::fs::read_to_string(&path).expect("settings file");
    serde_saphyr::from_str(&text).expect("settings YAML")
}

fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let host =
        PluginHost::new(Limits::default(), CompileCache::at(dir.path())).expect("plugin host");
    let baseline = host.load_builtin("baseline").expect("baseline");
    let rules = host.load_builtin("rules").expect("rules");
    let owner = host
        .load_file(
            &Path::new(env!("PLUMB_GUEST_DIR")).join("plumb_policy_team_owner.wasm"),
            None,
        )
        .expect("team-owner");
    let mut policies = vec![
        Policy::new(
            "baseline",
            baseline.clone(),
            settings("baseline-settings.yaml"),
        ),
        Policy::new(
            "baseline-labels",
            baseline,
            json!({"requiredLabels": {"labels": ["team", "app.kubernetes.io/name"]}}),
        ),
        Policy::new("team-owner", owner, json!({"teams": ["shop"]})),
    ];
    for f in [
        "required-labels",
        "pod-security",
        "images",
        "resources",
        "replicas",
        "pdb",
        "ingress-conflicts",
    ] {
        policies.push(Policy::new(
            f,
            rules.clone(),
            settings(&format!("rules/{f}.yaml")),
        ));
    }
    assert_eq!(policies.len(), 10);
    let ctx = Context {
        app: "bench".into(),
        namespace: "shop".into(),
        revision: "local".into(),
        ..Default::default()
    };
    let objects = release();

    // Warm up (first calls fault in the compiled code), and check the release passes.
    let d = policy::evaluate(&policies, objects.clone(), &ctx);
    assert!(
        d.allowed,
        "the benchmark release should pass: {:#?}",
        d.violations.iter().take(5).collect::<Vec<_>>()
    );

    let rounds = 10;
    let mut times = Vec::with_capacity(rounds);
    let mut per_policy = vec![0.0f64; policies.len()];
    for _ in 0..rounds {
        let input = objects.clone();
        let t = Instant::now();
        let d = policy::evaluate(&policies, input, &ctx);
        times.push(t.elapsed());
        for (acc, p) in per_policy.iter_mut().zip(&d.policies) {
            *acc += p.millis / rounds as f64;
        }
    }
    times.sort();
    let median = times[times.len() / 2];
    let best = times[0];
    println!(
        "policy gate, warm: {} policies over {OBJECTS} objects: median {median:.1?}, best {best:.1?} ({} runs)",
        policies.len(),
        rounds
    );
    println!(
        "per object: {:.1} µs (all ten policies), {:.2} µs per policy-object",
        median.as_secs_f64() * 1e6 / OBJECTS as f64,
        median.as_secs_f64() * 1e6 / (OBJECTS * policies.len()) as f64
    );
    println!(
        "goal ≤ {GOAL:?}: median is {:.2}x the goal ({})",
        median.as_secs_f64() / GOAL.as_secs_f64(),
        if median <= GOAL { "met" } else { "NOT met" }
    );
    println!(
        "time inside each plugin call (they run in parallel, so these add up to more than the total):"
    );
    for (p, ms) in policies.iter().zip(per_policy) {
        println!("  {:<18} {ms:>7.1} ms", p.name);
    }

    // The floor: a policy that does nothing still gets every object as JSON text and parses it.
    let idle = host
        .load_file(
            &Path::new(env!("PLUMB_GUEST_DIR")).join("plumb_test_hostile_policy.wasm"),
            None,
        )
        .expect("hostile-policy");
    let idle = [Policy::new("idle", idle, json!({"mode": "allow"}))];
    policy::evaluate(&idle, objects.clone(), &ctx);
    let mut floor = Vec::new();
    for _ in 0..rounds {
        let input = objects.clone();
        let t = Instant::now();
        policy::evaluate(&idle, input, &ctx);
        floor.push(t.elapsed());
    }
    floor.sort();
    println!(
        "floor: one policy that does nothing over the same release: {:.1?} (transport: objects to JSON, into the sandbox, parsed)",
        floor[floor.len() / 2]
    );
}
