//! Helpers for policies over Kubernetes objects: where the pod spec of a workload is, its
//! containers, labels, and label selectors. A policy that checks pods must check the pod
//! templates of Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs and CronJobs too.

use serde_json::Value;

/// The pod template of an object: a Pod itself, or the template inside a workload.
#[derive(Debug, Clone, Copy)]
pub struct PodTemplate<'a> {
    /// The pod's `metadata` (the template's metadata for a workload), when present.
    pub metadata: Option<&'a Value>,
    /// The pod spec.
    pub spec: &'a Value,
    /// JSON pointer of `spec` inside the object (e.g. `/spec/template/spec`).
    pub pointer: &'static str,
}

/// Where the pod spec lives, by kind.
pub fn pod_spec_pointer(kind: &str) -> Option<(&'static str, &'static str)> {
    match kind {
        "Pod" => Some(("/metadata", "/spec")),
        "PodTemplate" => Some(("/template/metadata", "/template/spec")),
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "ReplicationController"
        | "Job" => Some(("/spec/template/metadata", "/spec/template/spec")),
        "CronJob" => Some((
            "/spec/jobTemplate/spec/template/metadata",
            "/spec/jobTemplate/spec/template/spec",
        )),
        _ => None,
    }
}

/// The pod template of `object`, if it is a Pod or a workload with a pod template.
pub fn pod_template(object: &Value) -> Option<PodTemplate<'_>> {
    let (meta, spec) = pod_spec_pointer(object.get("kind")?.as_str()?)?;
    Some(PodTemplate {
        metadata: pointer(object, meta),
        spec: pointer(object, spec).filter(|s| s.is_object())?,
        pointer: spec,
    })
}

/// One container of a pod spec, with the JSON pointer of the container inside the object.
#[derive(Debug, Clone)]
pub struct ContainerRef<'a> {
    pub container: &'a Value,
    /// e.g. `/spec/template/spec/initContainers/0`.
    pub pointer: String,
    /// `containers`, `initContainers` or `ephemeralContainers`.
    pub list: &'static str,
}

impl ContainerRef<'_> {
    pub fn name(&self) -> &str {
        self.container
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
    }
}

/// Every container of a pod template: init, regular and ephemeral.
pub fn containers<'a>(t: &PodTemplate<'a>) -> Vec<ContainerRef<'a>> {
    let mut out = Vec::new();
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        if let Some(items) = t.spec.get(list).and_then(Value::as_array) {
            for (i, c) in items.iter().enumerate() {
                out.push(ContainerRef {
                    container: c,
                    pointer: format!("{}/{list}/{i}", t.pointer),
                    list,
                });
            }
        }
    }
    out
}

/// `kind`, `namespace` (or `default_ns` when the object names none) and `name` of an object.
pub fn identity<'a>(object: &'a Value, default_ns: &'a str) -> (&'a str, &'a str, &'a str) {
    let meta = |k: &str| object.get("metadata")?.get(k)?.as_str();
    (
        object.get("kind").and_then(Value::as_str).unwrap_or(""),
        meta("namespace").unwrap_or(default_ns),
        meta("name").unwrap_or(""),
    )
}

/// [`Value::pointer`], without its cost for the common case: a pointer with no escapes
/// (`~0`, `~1`) is looked up without copying its tokens. Policies look up a few pointers in
/// every object of a release.
pub fn pointer<'a>(value: &'a Value, pointer: &str) -> Option<&'a Value> {
    if pointer.contains('~') || !(pointer.is_empty() || pointer.starts_with('/')) {
        return value.pointer(pointer);
    }
    pointer
        .split('/')
        .skip(1)
        .try_fold(value, |v, token| match v {
            Value::Object(map) => map.get(token),
            // As `Value::pointer`: digits only, no leading zero.
            Value::Array(items)
                if !token.starts_with('+') && (token == "0" || !token.starts_with('0')) =>
            {
                items.get(token.parse::<usize>().ok()?)
            }
            _ => None,
        })
}

/// A label of an object, when set.
pub fn label<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object.get("metadata")?.get("labels")?.get(key)?.as_str()
}

/// Whether a Kubernetes label selector (`matchLabels` and `matchExpressions`) selects `labels`.
/// An empty selector selects everything, as Kubernetes has it for PodDisruptionBudgets and
/// NetworkPolicies. A missing selector (`None`) selects nothing.
pub fn selector_matches(selector: Option<&Value>, labels: Option<&Value>) -> bool {
    let Some(selector) = selector.and_then(Value::as_object) else {
        return false;
    };
    let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
    if let Some(ml) = selector.get("matchLabels").and_then(Value::as_object) {
        for (k, v) in ml {
            if get(k) != v.as_str() {
                return false;
            }
        }
    }
    if let Some(exprs) = selector.get("matchExpressions").and_then(Value::as_array) {
        for e in exprs {
            let key = e.get("key").and_then(Value::as_str).unwrap_or("");
            let values: Vec<&str> = e
                .get("values")
                .and_then(Value::as_array)
                .map(|v| v.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let ok = match e.get("operator").and_then(Value::as_str).unwrap_or("") {
                "In" => get(key).is_some_and(|v| values.contains(&v)),
                "NotIn" => get(key).is_none_or(|v| !values.contains(&v)),
                "Exists" => get(key).is_some(),
                "DoesNotExist" => get(key).is_none(),
                _ => false,
            };
            if !ok {
                return false;
            }
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_pod_specs_in_every_workload_kind() {
        for (kind, obj) in [
            (
                "Pod",
                json!({"kind": "Pod", "spec": {"containers": [{"name": "a"}]}}),
            ),
            (
                "Deployment",
                json!({"kind": "Deployment", "spec": {"template": {"spec": {"containers": [{"name": "a"}]}}}}),
            ),
            (
                "CronJob",
                json!({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "a"}], "initContainers": [{"name": "i"}]}}}}}}),
            ),
        ] {
            let t = pod_template(&obj).unwrap_or_else(|| panic!("{kind}"));
            let cs = containers(&t);
            assert!(cs.iter().any(|c| c.name() == "a"), "{kind}");
        }
        assert!(pod_template(&json!({"kind": "ConfigMap"})).is_none());
        let cj = json!({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [], "initContainers": [{"name": "i"}]}}}}}});
        let t = pod_template(&cj).unwrap();
        assert_eq!(
            containers(&t)[0].pointer,
            "/spec/jobTemplate/spec/template/spec/initContainers/0"
        );
    }

    #[test]
    fn pointers_resolve_like_serde_json() {
        let v = json!({"a": {"b/c": [1, {"d": "x"}], "e~f": 2, "": 3}, "l": [[0]]});
        for p in [
            "",
            "/a",
            "/a/b~1c/1/d",
            "/a/b~1c/0",
            "/a/e~0f",
            "/a/",
            "/l/0/0",
            "/l/00",
            "/l/+0",
            "/l/1",
            "/a/x",
            "a",
            "/a/b~1c/-",
        ] {
            assert_eq!(pointer(&v, p), v.pointer(p), "{p:?}");
        }
    }

    #[test]
    fn label_selectors_match_like_kubernetes() {
        let labels = json!({"app": "web", "tier": "front"});
        let sel = |s: Value| selector_matches(Some(&s), Some(&labels));
        assert!(sel(json!({"matchLabels": {"app": "web"}})));
        assert!(!sel(json!({"matchLabels": {"app": "db"}})));
        assert!(sel(json!({})));
        assert!(sel(
            json!({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["front", "x"]}]})
        ));
        assert!(!sel(
            json!({"matchExpressions": [{"key": "tier", "operator": "DoesNotExist"}]})
        ));
        assert!(!selector_matches(None, Some(&labels)));
    }
}
