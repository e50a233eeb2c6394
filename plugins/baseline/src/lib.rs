//! `baseline`: ready-made policies, each a named check enabled by its settings key (`{}` turns
//! a check on with its defaults; a missing key leaves it off). Pod checks cover Pods and the
//! pod templates of Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs and CronJobs.
//!
//! | settings key          | rule name(s)                     | denies |
//! |-----------------------|----------------------------------|--------|
//! | `requiredLabels`      | `required-labels`                | an object without one of `labels` |
//! | `noPrivileged`        | `no-privileged`                  | a container with `securityContext.privileged: true` |
//! | `noHostPath`          | `no-host-path`                   | a `hostPath` volume |
//! | `noHostNamespaces`    | `no-host-namespaces`             | `hostNetwork`, `hostPID` or `hostIPC` |
//! | `images`              | `image-registry`, `image-tag`    | an image outside `registries`; `:latest` or no tag |
//! | `resources`           | `resources`                      | a container without the `requests` / `limits` listed |
//! | `replicas`            | `replicas`                       | `spec.replicas` outside `min`..`max` |
//! | `podDisruptionBudget` | `pod-disruption-budget`          | a Deployment no PodDisruptionBudget of the release selects |
//! | `ingressConflicts`    | `ingress-conflicts`              | two Ingresses claiming the same host and path |
//!
//! Every message starts with its rule name and `: `. Each check takes `verdict: warn` to warn
//! instead of deny.

use std::collections::{BTreeMap, HashMap};

use plumb_plugin_sdk::schemars::{self, JsonSchema};
use plumb_plugin_sdk::{
    Context, Diagnostic, Finding, Metadata, Operation, Policy, Review, ReviewObject, Verdict, k8s,
};
use serde::Deserialize;
use serde_json::Value;

/// What a failed check means.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum CheckVerdict {
    #[default]
    Deny,
    Warn,
}

impl From<CheckVerdict> for Verdict {
    fn from(v: CheckVerdict) -> Verdict {
        match v {
            CheckVerdict::Deny => Verdict::Deny,
            CheckVerdict::Warn => Verdict::Warn,
        }
    }
}

/// A check with no options but its verdict.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Simple {
    #[serde(default)]
    pub verdict: CheckVerdict,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RequiredLabels {
    /// Label keys every object must carry, with a non-empty value.
    pub labels: Vec<String>,
    /// Only objects of these kinds (empty: every object).
    #[serde(default)]
    pub kinds: Vec<String>,
    #[serde(default)]
    pub verdict: CheckVerdict,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Images {
    /// Allowed registries or repository prefixes (`registry.example.com`,
    /// `ghcr.io/acme`); an image without a registry is on `docker.io`. Empty: any registry.
    #[serde(default)]
    pub registries: Vec<String>,
    /// Allow `:latest` and untagged images (default: no).
    #[serde(default)]
    pub allow_latest: bool,
    #[serde(default)]
    pub verdict: CheckVerdict,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Resources {
    /// Resource names every container must request (default: cpu, memory).
    #[serde(default = "cpu_memory")]
    pub requests: Vec<String>,
    /// Resource names every container must limit (default: cpu, memory).
    #[serde(default = "cpu_memory")]
    pub limits: Vec<String>,
    #[serde(default)]
    pub verdict: CheckVerdict,
}

fn cpu_memory() -> Vec<String> {
    vec!["cpu".into(), "memory".into()]
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Replicas {
    #[serde(default)]
    pub min: Option<u64>,
    #[serde(default)]
    pub max: Option<u64>,
    #[serde(default)]
    pub verdict: CheckVerdict,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PodDisruptionBudget {
    /// Workload kinds that need a PodDisruptionBudget (default: Deployment).
    #[serde(default)]
    pub kinds: Vec<String>,
    /// Only workloads with at least this many replicas (default: every one).
    #[serde(default)]
    pub min_replicas: Option<u64>,
    #[serde(default)]
    pub verdict: CheckVerdict,
}

/// Settings of `baseline`: the checks to run.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Settings {
    #[serde(default)]
    pub required_labels: Option<RequiredLabels>,
    #[serde(default)]
    pub no_privileged: Option<Simple>,
    #[serde(default)]
    pub no_host_path: Option<Simple>,
    #[serde(default)]
    pub no_host_namespaces: Option<Simple>,
    #[serde(default)]
    pub images: Option<Images>,
    #[serde(default)]
    pub resources: Option<Resources>,
    #[serde(default)]
    pub replicas: Option<Replicas>,
    #[serde(default)]
    pub pod_disruption_budget: Option<PodDisruptionBudget>,
    #[serde(default)]
    pub ingress_conflicts: Option<Simple>,
}

pub struct Baseline;

impl Policy for Baseline {
    type Settings = Settings;

    fn metadata() -> Metadata {
        Metadata::new(
            "baseline",
            env!("CARGO_PKG_VERSION"),
            "Ready-made checks: labels, pod security, images, resources, replicas, PDB coverage, Ingress conflicts",
        )
    }

    fn review(
        objects: &[ReviewObject],
        settings: Settings,
        ctx: &Context,
    ) -> Result<Review, Diagnostic> {
        Ok(review(objects, &settings, &ctx.namespace))
    }
}

#[cfg(target_arch = "wasm32")]
plumb_plugin_sdk::export_policy!(Baseline);

struct Out {
    findings: Vec<Finding>,
}

impl Out {
    fn push(&mut self, i: usize, verdict: CheckVerdict, message: String, field: Option<String>) {
        self.findings.push(Finding {
            object: Some(i as u32),
            verdict: verdict.into(),
            message,
            field,
        });
    }
}

/// Runs the enabled checks over the objects being created or updated (a delete is never
/// denied by these checks).
pub fn review(objects: &[ReviewObject], s: &Settings, default_ns: &str) -> Review {
    let mut out = Out {
        findings: Vec::new(),
    };
    let live: Vec<(usize, &Value)> = objects
        .iter()
        .enumerate()
        .filter(|(_, o)| o.operation != Operation::Delete)
        .map(|(i, o)| (i, &o.object))
        .collect();
    for &(i, o) in &live {
        if let Some(c) = &s.required_labels {
            required_labels(&mut out, i, o, c);
        }
        if let Some(c) = &s.replicas {
            replicas(&mut out, i, o, c);
        }
        let Some(t) = k8s::pod_template(o) else {
            continue;
        };
        let containers = k8s::containers(&t);
        if let Some(c) = &s.no_privileged {
            for cr in &containers {
                if k8s::pointer(cr.container, "/securityContext/privileged")
                    == Some(&Value::Bool(true))
                {
                    out.push(
                        i,
                        c.verdict,
                        format!(
                            "no-privileged: container {:?} runs privileged; drop securityContext.privileged",
                            cr.name()
                        ),
                        Some(format!("{}/securityContext/privileged", cr.pointer)),
                    );
                }
            }
        }
        if let Some(c) = &s.no_host_path
            && let Some(vols) = t.spec.get("volumes").and_then(Value::as_array)
        {
            for (vi, v) in vols.iter().enumerate() {
                if let Some(hp) = v.get("hostPath") {
                    out.push(
                        i,
                        c.verdict,
                        format!(
                            "no-host-path: volume {:?} mounts the node's {} (hostPath); use a PersistentVolumeClaim, configMap or emptyDir",
                            v.get("name").and_then(Value::as_str).unwrap_or(""),
                            hp.get("path").and_then(Value::as_str).unwrap_or("?")
                        ),
                        Some(format!("{}/volumes/{vi}/hostPath", t.pointer)),
                    );
                }
            }
        }
        if let Some(c) = &s.no_host_namespaces {
            for key in ["hostNetwork", "hostPID", "hostIPC"] {
                if t.spec.get(key) == Some(&Value::Bool(true)) {
                    out.push(
                        i,
                        c.verdict,
                        format!(
                            "no-host-namespaces: the pod shares the node's namespace ({key}: true)"
                        ),
                        Some(format!("{}/{key}", t.pointer)),
                    );
                }
            }
        }
        if let Some(c) = &s.images {
            for cr in &containers {
                images(&mut out, i, cr, c);
            }
        }
        if let Some(c) = &s.resources {
            for cr in containers
                .iter()
                .filter(|c| c.list != "ephemeralContainers")
            {
                resources(&mut out, i, cr, c);
            }
        }
    }
    if let Some(c) = &s.pod_disruption_budget {
        pdb_coverage(&mut out, &live, c, default_ns);
    }
    if let Some(c) = &s.ingress_conflicts {
        ingress_conflicts(&mut out, &live, c, default_ns);
    }
    Review {
        findings: out.findings,
        mutations: Vec::new(),
    }
}

fn required_labels(out: &mut Out, i: usize, o: &Value, c: &RequiredLabels) {
    let kind = o.get("kind").and_then(Value::as_str).unwrap_or("");
    if !c.kinds.is_empty() && !c.kinds.iter().any(|k| k == kind) {
        return;
    }
    let missing: Vec<&str> = c
        .labels
        .iter()
        .filter(|l| k8s::label(o, l).is_none_or(str::is_empty))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        out.push(
            i,
            c.verdict,
            format!(
                "required-labels: missing label{} {}",
                if missing.len() > 1 { "s" } else { "" },
                missing.join(", ")
            ),
            Some("/metadata/labels".into()),
        );
    }
}

fn replicas(out: &mut Out, i: usize, o: &Value, c: &Replicas) {
    let kind = o.get("kind").and_then(Value::as_str).unwrap_or("");
    if !matches!(kind, "Deployment" | "StatefulSet" | "ReplicaSet") {
        return;
    }
    // Kubernetes defaults spec.replicas to 1.
    let n = k8s::pointer(o, "/spec/replicas")
        .and_then(Value::as_u64)
        .unwrap_or(1);
    if let Some(min) = c.min.filter(|m| n < *m) {
        out.push(
            i,
            c.verdict,
            format!("replicas: {n} replicas, fewer than the minimum {min}"),
            Some("/spec/replicas".into()),
        );
    }
    if let Some(max) = c.max.filter(|m| n > *m) {
        out.push(
            i,
            c.verdict,
            format!("replicas: {n} replicas, more than the maximum {max}"),
            Some("/spec/replicas".into()),
        );
    }
}

/// An image reference, split: (repository with registry, e.g. `docker.io/library/nginx`, tag,
/// digest).
pub fn parse_image(image: &str) -> (String, Option<&str>, Option<&str>) {
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (image, None),
    };
    let slash = rest.rfind('/').map(|p| p + 1).unwrap_or(0);
    let (name, tag) = match rest[slash..].rfind(':') {
        Some(c) => (&rest[..slash + c], Some(&rest[slash + c + 1..])),
        None => (rest, None),
    };
    let first = name.split('/').next().unwrap_or("");
    let has_registry =
        name.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let full = if has_registry {
        name.to_string()
    } else if name.contains('/') {
        format!("docker.io/{name}")
    } else {
        format!("docker.io/library/{name}")
    };
    (full, tag, digest)
}

fn images(out: &mut Out, i: usize, cr: &k8s::ContainerRef<'_>, c: &Images) {
    let Some(image) = cr.container.get("image").and_then(Value::as_str) else {
        return;
    };
    let field = Some(format!("{}/image", cr.pointer));
    let (repo, tag, digest) = parse_image(image);
    if !c.registries.is_empty()
        && !c.registries.iter().any(|r| {
            let r = r.trim_end_matches('/');
            repo == r || repo.starts_with(&format!("{r}/"))
        })
    {
        out.push(
            i,
            c.verdict,
            format!(
                "image-registry: container {:?} uses {image}, which is not from an allowed registry ({})",
                cr.name(),
                c.registries.join(", ")
            ),
            field.clone(),
        );
    }
    if !c.allow_latest && digest.is_none() {
        match tag {
            None => out.push(
                i,
                c.verdict,
                format!(
                    "image-tag: container {:?} uses {image} without a tag (that is :latest); pin a version or digest",
                    cr.name()
                ),
                field,
            ),
            Some("latest") => out.push(
                i,
                c.verdict,
                format!(
                    "image-tag: container {:?} uses {image}; :latest is not allowed, pin a version or digest",
                    cr.name()
                ),
                field,
            ),
            Some(_) => {}
        }
    }
}

fn resources(out: &mut Out, i: usize, cr: &k8s::ContainerRef<'_>, c: &Resources) {
    for (section, wanted) in [("requests", &c.requests), ("limits", &c.limits)] {
        let have = cr.container.get("resources").and_then(|r| r.get(section));
        let missing: Vec<&str> = wanted
            .iter()
            .filter(|r| have.and_then(|h| h.get(r.as_str())).is_none())
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            out.push(
                i,
                c.verdict,
                format!(
                    "resources: container {:?} has no {section} for {}",
                    cr.name(),
                    missing.join(", ")
                ),
                Some(format!("{}/resources/{section}", cr.pointer)),
            );
        }
    }
}

fn pdb_coverage(out: &mut Out, objects: &[(usize, &Value)], c: &PodDisruptionBudget, ns: &str) {
    let kinds: Vec<&str> = if c.kinds.is_empty() {
        vec!["Deployment"]
    } else {
        c.kinds.iter().map(String::as_str).collect()
    };
    // PDBs by (namespace, one of their matchLabels), so a workload only checks the PDBs that
    // can select it; PDBs without matchLabels are checked against every workload.
    let mut by_label: HashMap<(&str, &str, &str), Vec<&Value>> = HashMap::new();
    let mut unindexed: Vec<(&str, &Value)> = Vec::new();
    for &(_, p) in objects {
        if p.get("kind").and_then(Value::as_str) != Some("PodDisruptionBudget") {
            continue;
        }
        let pns = k8s::identity(p, ns).1;
        let first = k8s::pointer(p, "/spec/selector/matchLabels")
            .and_then(Value::as_object)
            .and_then(|m| m.iter().next())
            .and_then(|(k, v)| Some((k.as_str(), v.as_str()?)));
        match first {
            Some((k, v)) => by_label.entry((pns, k, v)).or_default().push(p),
            None => unindexed.push((pns, p)),
        }
    }
    for &(i, o) in objects {
        let (kind, ons, name) = k8s::identity(o, ns);
        if !kinds.contains(&kind) {
            continue;
        }
        let replicas = k8s::pointer(o, "/spec/replicas")
            .and_then(Value::as_u64)
            .unwrap_or(1);
        if c.min_replicas.is_some_and(|m| replicas < m) {
            continue;
        }
        let labels = k8s::pod_template(o)
            .and_then(|t| t.metadata)
            .and_then(|m| m.get("labels"));
        let selects = |p: &Value| k8s::selector_matches(k8s::pointer(p, "/spec/selector"), labels);
        let indexed = labels
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| by_label.get(&(ons, k.as_str(), v.as_str()?)))
            .flatten()
            .any(|p| selects(p));
        let covered = indexed || unindexed.iter().any(|(pns, p)| *pns == ons && selects(p));
        if !covered {
            out.push(
                i,
                c.verdict,
                format!(
                    "pod-disruption-budget: no PodDisruptionBudget in namespace {ons} selects the pods of {kind} {name}"
                ),
                Some("/spec/template/metadata/labels".into()),
            );
        }
    }
}

fn ingress_conflicts(out: &mut Out, objects: &[(usize, &Value)], c: &Simple, ns: &str) {
    // (class, host, path) -> the Ingresses (index, namespace/name) claiming it.
    let mut claims: BTreeMap<(String, String, String), Vec<(usize, String)>> = BTreeMap::new();
    for &(i, o) in objects {
        if o.get("kind").and_then(Value::as_str) != Some("Ingress") {
            continue;
        }
        let (_, ons, name) = k8s::identity(o, ns);
        let id = format!("{ons}/{name}");
        let class = k8s::pointer(o, "/spec/ingressClassName")
            .or_else(|| o.pointer("/metadata/annotations/kubernetes.io~1ingress.class"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let Some(rules) = k8s::pointer(o, "/spec/rules").and_then(Value::as_array) else {
            continue;
        };
        for r in rules {
            let host = r
                .get("host")
                .and_then(Value::as_str)
                .unwrap_or("*")
                .to_string();
            let paths = k8s::pointer(r, "/http/paths").and_then(Value::as_array);
            for p in paths.into_iter().flatten() {
                let path = p
                    .get("path")
                    .and_then(Value::as_str)
                    .unwrap_or("/")
                    .to_string();
                let claimants = claims
                    .entry((class.clone(), host.clone(), path))
                    .or_default();
                if !claimants.iter().any(|(j, _)| *j == i) {
                    claimants.push((i, id.clone()));
                }
            }
        }
    }
    for ((_, host, path), claimants) in claims {
        if claimants.len() < 2 {
            continue;
        }
        for (i, id) in &claimants {
            let others: Vec<&str> = claimants
                .iter()
                .filter(|(j, _)| j != i)
                .map(|(_, o)| o.as_str())
                .collect();
            out.push(
                *i,
                c.verdict,
                format!(
                    "ingress-conflicts: Ingress {id} claims host {host} path {path}, as does {}",
                    others.join(", ")
                ),
                Some("/spec/rules".into()),
            );
        }
    }
}

#[cfg(test)]
mod tests;
