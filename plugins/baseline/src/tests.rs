use super::*;
use serde_json::json;

fn objs(v: Vec<Value>) -> Vec<ReviewObject> {
    v.into_iter()
        .map(|object| ReviewObject {
            object,
            live: None,
            operation: Operation::Create,
        })
        .collect()
}

fn run(settings: Value, objects: Vec<Value>) -> Vec<(Option<u32>, String)> {
    let s: Settings = serde_json::from_value(settings).expect("settings");
    review(&objs(objects), &s, "shop")
        .findings
        .into_iter()
        .map(|f| (f.object, f.message))
        .collect()
}

fn deploy(name: &str, containers: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}}, "spec": {"containers": containers}}}})
}

#[test]
fn images_are_parsed_like_docker_does() {
    assert_eq!(
        parse_image("nginx"),
        ("docker.io/library/nginx".into(), None, None)
    );
    assert_eq!(
        parse_image("nginx:1.27"),
        ("docker.io/library/nginx".into(), Some("1.27"), None)
    );
    assert_eq!(
        parse_image("localhost:5000/team/app"),
        ("localhost:5000/team/app".into(), None, None)
    );
    assert_eq!(
        parse_image("ghcr.io/acme/app:v1@sha256:abc"),
        ("ghcr.io/acme/app".into(), Some("v1"), Some("sha256:abc"))
    );
    assert_eq!(
        parse_image("acme/app:2"),
        ("docker.io/acme/app".into(), Some("2"), None)
    );
}

#[test]
fn image_checks_cover_registries_and_tags() {
    let got = run(
        json!({"images": {"registries": ["ghcr.io/acme"]}}),
        vec![deploy(
            "web",
            json!([
                {"name": "ok", "image": "ghcr.io/acme/web:1.0"},
                {"name": "latest", "image": "ghcr.io/acme/web:latest"},
                {"name": "untagged", "image": "ghcr.io/acme/web"},
                {"name": "pinned", "image": "ghcr.io/acme/web@sha256:0123"},
                {"name": "elsewhere", "image": "docker.io/library/nginx:1.27"},
                {"name": "prefix", "image": "ghcr.io/acmeevil/web:1"}
            ]),
        )],
    );
    let msgs: Vec<&str> = got.iter().map(|(_, m)| m.as_str()).collect();
    assert_eq!(msgs.len(), 4, "{msgs:#?}");
    assert!(msgs[0].starts_with("image-tag: container \"latest\""));
    assert!(msgs[1].starts_with("image-tag: container \"untagged\""));
    assert!(msgs[2].starts_with("image-registry: container \"elsewhere\""));
    assert!(msgs[3].starts_with("image-registry: container \"prefix\""));
}

#[test]
fn pod_security_checks_reach_every_workload() {
    let cronjob = json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "cj"},
        "spec": {"jobTemplate": {"spec": {"template": {"spec": {"hostPID": true,
            "volumes": [{"name": "root", "hostPath": {"path": "/"}}],
            "initContainers": [{"name": "setup", "image": "x:1", "securityContext": {"privileged": true}}],
            "containers": [{"name": "main", "image": "x:1"}]}}}}}});
    let got = run(
        json!({"noPrivileged": {}, "noHostPath": {}, "noHostNamespaces": {}}),
        vec![
            cronjob,
            deploy("ok", json!([{"name": "a", "image": "x:1"}])),
        ],
    );
    let msgs: Vec<&str> = got.iter().map(|(_, m)| m.as_str()).collect();
    assert_eq!(
        msgs,
        [
            "no-privileged: container \"setup\" runs privileged; drop securityContext.privileged",
            "no-host-path: volume \"root\" mounts the node's / (hostPath); use a PersistentVolumeClaim, configMap or emptyDir",
            "no-host-namespaces: the pod shares the node's namespace (hostPID: true)",
        ]
    );
    assert!(got.iter().all(|(i, _)| *i == Some(0)));
}

#[test]
fn resources_replicas_and_labels() {
    let got = run(
        json!({"resources": {}, "replicas": {"min": 3, "max": 5}, "requiredLabels": {"labels": ["team"], "kinds": ["Deployment"]}}),
        vec![
            deploy(
                "web",
                json!([{"name": "a", "image": "x:1", "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "1Gi"}}}]),
            ),
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}}),
        ],
    );
    let msgs: Vec<&str> = got.iter().map(|(_, m)| m.as_str()).collect();
    assert_eq!(
        msgs,
        [
            "required-labels: missing label team",
            "replicas: 2 replicas, fewer than the minimum 3",
            "resources: container \"a\" has no limits for cpu",
        ]
    );
}

#[test]
fn pdbs_cover_deployments_by_selector_and_namespace() {
    let pdb = |name: &str, ns: Option<&str>, app: &str| {
        let mut p = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": name},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": app}}}});
        if let Some(ns) = ns {
            p["metadata"]["namespace"] = json!(ns);
        }
        p
    };
    let got = run(
        json!({"podDisruptionBudget": {}}),
        vec![
            deploy("web", json!([])),
            deploy("api", json!([])),
            deploy("db", json!([])),
            pdb("web", None, "web"),
            pdb("api", Some("elsewhere"), "api"),
        ],
    );
    let idx: Vec<Option<u32>> = got.iter().map(|(i, _)| *i).collect();
    assert_eq!(idx, [Some(1), Some(2)], "{got:?}");
    assert_eq!(
        got[1].1,
        "pod-disruption-budget: no PodDisruptionBudget in namespace shop selects the pods of Deployment db"
    );
}

#[test]
fn ingresses_claiming_the_same_host_and_path_conflict() {
    let ing = |name: &str, host: &str, path: &str| {
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": name},
            "spec": {"rules": [{"host": host, "http": {"paths": [{"path": path, "pathType": "Prefix",
                "backend": {"service": {"name": name, "port": {"number": 80}}}}]}}]}})
    };
    let got = run(
        json!({"ingressConflicts": {}}),
        vec![
            ing("a", "shop.example.com", "/"),
            ing("b", "shop.example.com", "/"),
            ing("c", "shop.example.com", "/api"),
        ],
    );
    assert_eq!(
        got,
        [
            (
                Some(0),
                "ingress-conflicts: Ingress shop/a claims host shop.example.com path /, as does shop/b".to_string()
            ),
            (
                Some(1),
                "ingress-conflicts: Ingress shop/b claims host shop.example.com path /, as does shop/a".to_string()
            ),
        ]
    );
}

#[test]
fn deletes_are_not_judged_and_warn_verdicts_are_kept() {
    let s: Settings =
        serde_json::from_value(json!({"requiredLabels": {"labels": ["team"], "verdict": "warn"}}))
            .unwrap();
    let mut o = objs(vec![
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}}),
    ]);
    o[1].operation = Operation::Delete;
    let r = review(&o, &s, "");
    assert_eq!(r.findings.len(), 1);
    assert_eq!(r.findings[0].verdict, Verdict::Warn);
}
