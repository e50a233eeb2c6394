//! Apply stage: rendered objects meet the cluster. Discovery-driven, staged server-side apply
//! with field manager `plumb`; an ApplySet inventory so prune deletes only what plumb applied
//! and no longer renders; server-side dry-run diffs; kstatus-style health.
//!
//! Safety rules, enforced here and tested against a real API server:
//! - nothing is written when any object is invalid or of a kind the cluster does not know;
//! - prune never runs after a failed apply, never on an empty release unless allowed, and never
//!   deletes an object without plumb's inventory label *and* plumb's field manager, nor one
//!   annotated `plumb.dev/prune: disabled`.

pub mod diff;
pub mod health;
pub mod inventory;
pub mod resources;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use futures::StreamExt;
use http_body_util::BodyExt;
use kube::api::{
    Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PropagationPolicy,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::Status;
use kube::{Client, Config};
use serde_json::{Value, json};
use tracing::{Instrument, debug, info, info_span};

pub use health::Health;
use inventory::Parent;
use resources::{Resource, ResourceMap};

use crate::render::RenderedObject;

/// The field manager plumb applies with.
pub const FIELD_MANAGER: &str = "plumb";
/// Annotation that keeps a single object from ever being pruned (`plumb.dev/prune: disabled`).
pub const PRUNE_ANNOTATION: &str = "plumb.dev/prune";

/// Why applying failed. Messages name the object (kind, namespace, name, source file).
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("cannot load the kubeconfig: {0}")]
    Kubeconfig(String),
    #[error("cannot reach the cluster: {0}")]
    Connect(String),
    #[error("nothing was applied; the release is not valid for this cluster:\n{}", bullet(.0))]
    Invalid(Vec<String>),
    #[error("{} of {total} objects failed to apply (nothing was pruned):\n{}", .failures.len(), bullet(.failures))]
    Failed {
        failures: Vec<String>,
        total: usize,
        report: Box<ApplyReport>,
    },
    #[error(
        "the API server rejected {} of {total} objects in a dry run; nothing was written:\n{}",
        .failures.len(),
        bullet(.failures)
    )]
    Rejected { failures: Vec<String>, total: usize },
    #[error(
        "the release of app {app} has no objects; refusing to prune the {count} objects plumb applied before. Fix the render, or pass --allow-empty (spec: prune.allowEmpty) if the app really should own nothing"
    )]
    EmptyRelease { app: String, count: usize },
    #[error(
        "the app's namespace {0:?} does not exist; create it or add a Namespace object to the release"
    )]
    NoNamespace(String),
    #[error("timed out after {timeout:?} waiting for {} objects to become ready:\n{}", .pending.len(), bullet(.pending))]
    NotReady {
        timeout: Duration,
        pending: Vec<String>,
    },
    #[error("{} objects failed to become ready:\n{}", .failed.len(), bullet(.failed))]
    Unhealthy { failed: Vec<String> },
    #[error("Kubernetes API: {0}")]
    Kube(String),
}

impl From<kube::Error> for ApplyError {
    /// kube's own Display repeats the whole Status several times; keep the server's message.
    fn from(e: kube::Error) -> Self {
        match e {
            kube::Error::Api(st) => ApplyError::Kube(describe_status(&st, false)),
            other => ApplyError::Kube(other.to_string()),
        }
    }
}

fn bullet(items: &[String]) -> String {
    items
        .iter()
        .map(|i| format!("  - {i}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Identity of an object in the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId {
    pub group: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl std::fmt::Display for ObjectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let gk = inventory::group_kind(&self.group, &self.kind);
        match &self.namespace {
            Some(ns) => write!(f, "{gk} {ns}/{}", self.name),
            None => write!(f, "{gk} {}", self.name),
        }
    }
}

/// Objects applied before the rest: what the rest depends on.
fn is_first_stage(group: &str, kind: &str) -> bool {
    matches!(
        (group, kind),
        ("apiextensions.k8s.io", "CustomResourceDefinition")
            | ("", "Namespace")
            | ("rbac.authorization.k8s.io", "ClusterRole")
            | ("rbac.authorization.k8s.io", "ClusterRoleBinding")
    )
}

/// One object ready to apply.
#[derive(Debug, Clone)]
pub struct PlannedObject {
    pub id: ObjectId,
    pub resource: Resource,
    /// The object as it will be sent: namespace defaulted, inventory label added.
    pub object: Value,
    pub origin: Option<String>,
    pub first_stage: bool,
}

impl PlannedObject {
    fn describe(&self) -> String {
        match &self.origin {
            Some(o) => format!("{} (from {o})", self.id),
            None => self.id.to_string(),
        }
    }
}

/// A release checked against the cluster: every object resolved, namespaced, labelled.
#[derive(Debug, Clone)]
pub struct Plan {
    pub app: String,
    pub namespace: String,
    pub parent: Parent,
    pub objects: Vec<PlannedObject>,
}

impl Plan {
    /// `Kind.group` of every object, as the ApplySet parent records them.
    pub fn group_kinds(&self) -> BTreeSet<String> {
        self.objects
            .iter()
            .map(|o| inventory::group_kind(&o.id.group, &o.id.kind))
            .collect()
    }

    /// Namespaces of namespaced objects other than the parent's.
    pub fn additional_namespaces(&self) -> BTreeSet<String> {
        self.objects
            .iter()
            .filter_map(|o| o.id.namespace.clone())
            .filter(|ns| *ns != self.parent.namespace)
            .collect()
    }
}

/// Facts about the release recorded on the ApplySet parent (the audit trail in the cluster).
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    pub revision: String,
    pub author: Option<String>,
    pub renderer: String,
}

/// Whether a dry-run apply result is the live object unchanged: the same content and the same
/// fields owned by plumb (a real apply that only takes ownership of a field is not a no-op).
fn no_op(live: &Value, after: &Value) -> bool {
    fn plumb_fields(v: &Value) -> Vec<&Value> {
        v["metadata"]["managedFields"]
            .as_array()
            .map(|mf| {
                mf.iter()
                    .filter(|m| m["manager"] == FIELD_MANAGER && m["operation"] == "Apply")
                    .flat_map(|m| [&m["apiVersion"], &m["fieldsV1"]])
                    .collect()
            })
            .unwrap_or_default()
    }
    // Items of a list response carry no apiVersion/kind; the apply response does.
    fn content(v: &Value) -> Value {
        let mut v = diff::normalize(v.clone());
        if let Some(o) = v.as_object_mut() {
            o.remove("apiVersion");
            o.remove("kind");
        }
        v
    }
    let owned = plumb_fields(live);
    !owned.is_empty() && owned == plumb_fields(after) && content(live) == content(after)
}

/// What every object of a stage is applied with.
#[derive(Clone, Copy)]
struct Stage<'a> {
    opts: &'a ApplyOptions,
    /// resourceVersions of the inventory members before this apply.
    known: &'a HashMap<ObjectId, String>,
    progress: &'a dyn Progress,
}

/// How to apply.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Send everything with `dryRun=All`: the server validates, nothing is written.
    pub dry_run: bool,
    /// Delete inventory members that are no longer rendered.
    pub prune: bool,
    /// Allow pruning everything when the release is empty.
    pub allow_empty: bool,
    /// Take ownership of fields other field managers own.
    pub force_conflicts: bool,
    /// Wait this long for every object to become ready.
    pub wait: Option<Duration>,
    /// Requests in flight at once, within a stage.
    pub concurrency: usize,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            dry_run: false,
            prune: false,
            allow_empty: false,
            force_conflicts: false,
            wait: None,
            concurrency: 16,
        }
    }
}

/// What an apply did to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Created,
    Configured,
    Unchanged,
    Pruned,
}

/// What an apply did, object by object.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ApplyReport {
    pub dry_run: bool,
    pub objects: Vec<(String, Outcome)>,
    /// Inventory members left alone, and why (opt-out annotation, not managed by plumb).
    pub kept: Vec<(String, String)>,
}

impl ApplyReport {
    pub fn count(&self, outcome: Outcome) -> usize {
        self.objects.iter().filter(|(_, o)| *o == outcome).count()
    }

    /// `3 created, 1 configured, 10 unchanged, 1 pruned`.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} created, {} configured, {} unchanged, {} pruned",
            self.count(Outcome::Created),
            self.count(Outcome::Configured),
            self.count(Outcome::Unchanged),
            self.count(Outcome::Pruned)
        );
        if self.dry_run {
            s.push_str(" (dry run: nothing was written)");
        }
        s
    }
}

/// Receives progress while a release is applied (the CLI draws a bar).
pub trait Progress: Sync {
    fn start(&self, _total: usize) {}
    fn step(&self, _what: &str) {}
    fn finish(&self) {}
}

/// No progress display.
pub struct Quiet;
impl Progress for Quiet {}

/// A cluster to apply to.
#[derive(Clone)]
pub struct Cluster {
    pub client: Client,
    /// The namespace of the kubeconfig context (`default` when unset).
    pub default_namespace: String,
}

/// Connects as kubectl would: `--kubeconfig`, else `$KUBECONFIG`, else `~/.kube/config`, else
/// in-cluster; `--context` picks a context.
pub async fn connect(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
) -> Result<Cluster, ApplyError> {
    let options = KubeConfigOptions {
        context: context.map(String::from),
        ..Default::default()
    };
    let config = match kubeconfig {
        Some(path) => {
            let kc = Kubeconfig::read_from(path)
                .map_err(|e| ApplyError::Kubeconfig(format!("{}: {e}", path.display())))?;
            Config::from_custom_kubeconfig(kc, &options)
                .await
                .map_err(|e| ApplyError::Kubeconfig(e.to_string()))?
        }
        None if context.is_some() => Config::from_kubeconfig(&options)
            .await
            .map_err(|e| ApplyError::Kubeconfig(e.to_string()))?,
        None => Config::infer()
            .await
            .map_err(|e| ApplyError::Kubeconfig(e.to_string()))?,
    };
    let default_namespace = config.default_namespace.clone();
    let client = Client::try_from(config).map_err(|e| ApplyError::Connect(e.to_string()))?;
    Ok(Cluster {
        client,
        default_namespace,
    })
}

/// Applies releases to one cluster. Holds the discovery map, refreshed after CRDs are applied.
pub struct Applier {
    client: Client,
    resources: ResourceMap,
}

/// A member of the app's inventory as found in the cluster.
#[derive(Debug, Clone)]
struct Member {
    id: ObjectId,
    resource: Resource,
    resource_version: String,
    annotations: Value,
    managed_by_plumb: bool,
    /// The object as listed, to tell a no-op from a change after the dry run.
    live: Value,
}

impl Applier {
    pub async fn new(client: Client) -> Result<Applier, ApplyError> {
        let resources = ResourceMap::discover(&client)
            .await
            .map_err(|e| ApplyError::Connect(e.to_string()))?;
        Ok(Applier { client, resources })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Checks a release against the cluster and prepares it. Every problem is reported at once,
    /// before anything is written.
    pub fn plan(
        &self,
        app: &str,
        namespace: &str,
        objects: &[RenderedObject],
    ) -> Result<Plan, ApplyError> {
        let parent = Parent::for_app(app, namespace);
        let applyset_id = parent.id();
        let mut resources = self.resources.clone();
        for o in objects {
            if o.kind() == "CustomResourceDefinition"
                && o.api_version().starts_with("apiextensions.k8s.io/")
            {
                resources.add_crd(&o.value);
            }
        }
        let mut problems = Vec::new();
        let mut seen: HashMap<ObjectId, String> = HashMap::new();
        let mut planned = Vec::with_capacity(objects.len());
        for o in objects {
            let from = o
                .origin
                .as_ref()
                .map(|f| format!(" (from {f})"))
                .unwrap_or_default();
            let Some(resource) = resources.get(o.api_version(), o.kind()) else {
                problems.push(format!(
                    "{} {}{from}: the cluster does not serve {} {}; is a CRD missing, or the apiVersion wrong?",
                    o.kind(),
                    o.name(),
                    o.api_version(),
                    o.kind()
                ));
                continue;
            };
            let mut object = o.value.clone();
            let ns = match (resource.namespaced, o.namespace()) {
                (true, Some(ns)) => Some(ns.to_string()),
                (true, None) => Some(namespace.to_string()),
                (false, Some(ns)) => {
                    problems.push(format!(
                        "{} {}{from}: is cluster-scoped but names namespace {ns:?}; remove metadata.namespace",
                        o.kind(),
                        o.name()
                    ));
                    continue;
                }
                (false, None) => None,
            };
            if let (Some(ns), Some(meta)) = (
                &ns,
                object.get_mut("metadata").and_then(Value::as_object_mut),
            ) {
                meta.insert("namespace".into(), Value::String(ns.clone()));
            }
            if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
                let labels = meta.entry("labels").or_insert_with(|| json!({}));
                if !labels.is_object() {
                    *labels = json!({});
                }
                if let Some(l) = labels.as_object_mut() {
                    l.insert(
                        inventory::PART_OF.into(),
                        Value::String(applyset_id.clone()),
                    );
                }
            }
            let id = ObjectId {
                group: resource.api.group.clone(),
                kind: resource.api.kind.clone(),
                namespace: ns,
                name: o.name().to_string(),
            };
            if let Some(first) = seen.insert(id.clone(), o.origin.clone().unwrap_or_default()) {
                problems.push(format!(
                    "{id}{from}: appears twice in the release (also in {first})"
                ));
                continue;
            }
            let first_stage = is_first_stage(&id.group, &id.kind);
            planned.push(PlannedObject {
                id,
                resource: resource.clone(),
                object,
                origin: o.origin.clone(),
                first_stage,
            });
        }
        if !problems.is_empty() {
            return Err(ApplyError::Invalid(problems));
        }
        Ok(Plan {
            app: app.to_string(),
            namespace: namespace.to_string(),
            parent,
            objects: planned,
        })
    }

    fn api(&self, resource: &Resource, namespace: Option<&str>) -> Api<DynamicObject> {
        match (resource.namespaced, namespace) {
            (true, Some(ns)) => Api::namespaced_with(self.client.clone(), ns, &resource.api),
            (true, None) => Api::all_with(self.client.clone(), &resource.api),
            (false, _) => Api::all_with(self.client.clone(), &resource.api),
        }
    }

    /// Server-side apply of one object; tells created from updated by the HTTP status.
    async fn apply_one(
        &self,
        o: &PlannedObject,
        opts: &ApplyOptions,
    ) -> Result<(Value, bool), String> {
        let api = self.api(&o.resource, o.id.namespace.as_deref());
        let mut pp = PatchParams::apply(FIELD_MANAGER);
        pp.force = opts.force_conflicts;
        pp.dry_run = opts.dry_run;
        let request = kube::core::Request::new(api.resource_url())
            .patch(&o.id.name, &pp, &Patch::Apply(&o.object))
            .map_err(|e| e.to_string())?;
        let response = self
            .client
            .send(request.map(kube::client::Body::from))
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        if !status.is_success() {
            let st: Status = serde_json::from_slice(&body).unwrap_or_else(|_| {
                Status::failure(&String::from_utf8_lossy(&body), "").with_code(status.as_u16())
            });
            return Err(describe_status(&st, opts.force_conflicts));
        }
        let value: Value =
            serde_json::from_slice(&body).map_err(|e| format!("unreadable response: {e}"))?;
        Ok((value, status == http::StatusCode::CREATED))
    }

    /// The members of the app's inventory present in the cluster, for the given group-kinds.
    async fn members(
        &self,
        parent: &Parent,
        group_kinds: &BTreeSet<String>,
    ) -> Result<Vec<Member>, ApplyError> {
        let selector = format!("{}={}", inventory::PART_OF, parent.id());
        let mut out = Vec::new();
        for gk in group_kinds {
            let (group, kind) = inventory::split_group_kind(gk);
            let Some(resource) = self.resources.by_group_kind(&group, &kind).cloned() else {
                debug!(group_kind = %gk, "kind no longer served; nothing of it to prune");
                continue;
            };
            let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &resource.api);
            let list = api.list(&ListParams::default().labels(&selector)).await?;
            for item in list.items {
                let meta = &item.metadata;
                let managed_by_plumb = meta.managed_fields.as_ref().is_some_and(|mf| {
                    mf.iter()
                        .any(|m| m.manager.as_deref() == Some(FIELD_MANAGER))
                });
                out.push(Member {
                    id: ObjectId {
                        group: group.clone(),
                        kind: kind.clone(),
                        namespace: meta.namespace.clone(),
                        name: meta.name.clone().unwrap_or_default(),
                    },
                    resource: resource.clone(),
                    resource_version: meta.resource_version.clone().unwrap_or_default(),
                    annotations: serde_json::to_value(&meta.annotations).unwrap_or(Value::Null),
                    managed_by_plumb,
                    live: serde_json::to_value(&item).unwrap_or(Value::Null),
                });
            }
        }
        Ok(out)
    }

    async fn read_parent(&self, parent: &Parent) -> Result<Option<DynamicObject>, ApplyError> {
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), &parent.namespace, &config_map());
        Ok(api.get_opt(&parent.name).await?)
    }

    async fn write_parent(
        &self,
        plan: &Plan,
        group_kinds: &BTreeSet<String>,
        namespaces: &BTreeSet<String>,
        provenance: Option<&Provenance>,
    ) -> Result<(), ApplyError> {
        let mut annotations = json!({
            inventory::TOOLING: format!("plumb/v{}", env!("CARGO_PKG_VERSION")),
            inventory::CONTAINS_GROUP_KINDS: inventory::join_list(group_kinds),
        });
        if !namespaces.is_empty() {
            annotations[inventory::ADDITIONAL_NAMESPACES] = json!(inventory::join_list(namespaces));
        }
        if let Some(p) = provenance {
            if !p.revision.is_empty() {
                annotations["plumb.dev/revision"] = json!(p.revision);
            }
            if !p.renderer.is_empty() {
                annotations["plumb.dev/renderer"] = json!(p.renderer);
            }
            if let Some(a) = &p.author {
                annotations["plumb.dev/author"] = json!(a);
            }
        }
        let parent = json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": plan.parent.name,
                "namespace": plan.parent.namespace,
                "labels": {inventory::ID_LABEL: plan.parent.id(), "app.kubernetes.io/managed-by": "plumb", "plumb.dev/app": plan.app},
                "annotations": annotations,
            },
            "data": {"app": plan.app, "objects": plan.objects.len().to_string()},
        });
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), &plan.parent.namespace, &config_map());
        api.patch(
            &plan.parent.name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&parent),
        )
        .await?;
        Ok(())
    }

    async fn namespace_exists(&self, name: &str) -> Result<bool, ApplyError> {
        let api: Api<DynamicObject> = Api::all_with(self.client.clone(), &namespace_resource());
        Ok(api.get_opt(name).await?.is_some())
    }

    /// Applies a planned release: first-stage objects (CRDs, Namespaces, cluster RBAC), then,
    /// once CRDs are established, everything else; then prunes, then waits if asked.
    pub async fn apply(
        &mut self,
        plan: &Plan,
        provenance: &Provenance,
        opts: &ApplyOptions,
        progress: &dyn Progress,
    ) -> Result<ApplyReport, ApplyError> {
        let span = info_span!("apply", app = %plan.app, revision = %provenance.revision);
        self.apply_inner(plan, provenance, opts, progress)
            .instrument(span)
            .await
    }

    async fn apply_inner(
        &mut self,
        plan: &Plan,
        provenance: &Provenance,
        opts: &ApplyOptions,
        progress: &dyn Progress,
    ) -> Result<ApplyReport, ApplyError> {
        let started = Instant::now();
        let mut report = ApplyReport {
            dry_run: opts.dry_run,
            ..Default::default()
        };
        let old_parent = self.read_parent(&plan.parent).await?;
        let old_annotations = old_parent
            .as_ref()
            .and_then(|p| p.metadata.annotations.clone())
            .unwrap_or_default();
        let old_gks = inventory::parse_list(
            old_annotations
                .get(inventory::CONTAINS_GROUP_KINDS)
                .map(String::as_str),
        );
        let old_nss = inventory::parse_list(
            old_annotations
                .get(inventory::ADDITIONAL_NAMESPACES)
                .map(String::as_str),
        );
        let all_gks: BTreeSet<String> = old_gks.union(&plan.group_kinds()).cloned().collect();
        let all_nss: BTreeSet<String> = old_nss
            .union(&plan.additional_namespaces())
            .cloned()
            .collect();

        // Refuse an empty release before touching anything, if it would prune.
        let members = if old_gks.is_empty() {
            Vec::new()
        } else {
            self.members(&plan.parent, &all_gks).await?
        };
        if opts.prune && plan.objects.is_empty() && !opts.allow_empty && !members.is_empty() {
            return Err(ApplyError::EmptyRelease {
                app: plan.app.clone(),
                count: members.len(),
            });
        }
        // Validate before writing (as Flux does): every object the server can judge now is
        // applied with dryRun=All first, so one bad object stops the release before any write
        // instead of leaving half of it applied.
        let live: HashMap<&ObjectId, &Value> = members.iter().map(|m| (&m.id, &m.live)).collect();
        let mut unchanged = HashSet::new();
        let deferred = if opts.dry_run {
            HashSet::new()
        } else {
            let deferred = self.not_yet_checkable(plan).await?;
            let now: Vec<&PlannedObject> = plan
                .objects
                .iter()
                .filter(|o| !deferred.contains(&o.id))
                .collect();
            let failures = self.preflight(&now, opts, &live, &mut unchanged).await;
            if !failures.is_empty() {
                return Err(ApplyError::Rejected {
                    failures,
                    total: plan.objects.len(),
                });
            }
            deferred
        };
        let mut known: HashMap<ObjectId, String> = members
            .iter()
            .map(|m| (m.id.clone(), m.resource_version.clone()))
            .collect();
        let mut created_early = None;

        // The parent lives in the app's namespace; it must exist (or be created first).
        let ns_in_release = plan.objects.iter().find(|o| {
            o.id.group.is_empty() && o.id.kind == "Namespace" && o.id.name == plan.parent.namespace
        });
        if !self.namespace_exists(&plan.parent.namespace).await? {
            match ns_in_release {
                Some(ns) if !opts.dry_run => {
                    let (after, created) =
                        self.apply_one(ns, opts)
                            .await
                            .map_err(|e| ApplyError::Failed {
                                failures: vec![format!("{}: {e}", ns.describe())],
                                total: plan.objects.len(),
                                report: Box::new(report.clone()),
                            })?;
                    // Applied again with its stage: unchanged then, but created by this run.
                    known.insert(
                        ns.id.clone(),
                        after["metadata"]["resourceVersion"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string(),
                    );
                    if created {
                        created_early = Some(ns.id.to_string());
                    }
                }
                Some(_) => {}
                None => return Err(ApplyError::NoNamespace(plan.parent.namespace.clone())),
            }
        }
        // Record the superset of kinds first: if plumb dies mid-apply, the next run still finds
        // (and can prune) everything it may have written.
        if !opts.dry_run && (old_parent.is_none() || all_gks != old_gks || all_nss != old_nss) {
            let previous = Provenance {
                revision: old_annotations
                    .get("plumb.dev/revision")
                    .cloned()
                    .unwrap_or_default(),
                author: old_annotations.get("plumb.dev/author").cloned(),
                renderer: old_annotations
                    .get("plumb.dev/renderer")
                    .cloned()
                    .unwrap_or_default(),
            };
            self.write_parent(plan, &all_gks, &all_nss, Some(&previous))
                .await?;
        }

        progress.start(plan.objects.len());
        let (first, rest): (Vec<&PlannedObject>, Vec<&PlannedObject>) =
            plan.objects.iter().partition(|o| o.first_stage);
        let mut failures = Vec::new();
        let stage = Stage {
            opts,
            known: &known,
            progress,
        };
        self.apply_stage(&first, stage, &unchanged, &mut report, &mut failures)
            .await;
        let crds: Vec<&PlannedObject> = first
            .iter()
            .copied()
            .filter(|o| o.id.kind == "CustomResourceDefinition")
            .collect();
        if !crds.is_empty() && failures.is_empty() && !opts.dry_run {
            self.wait_established(&crds, &mut failures).await;
            // Their kinds are now served: refresh discovery for the second stage and for pruning.
            self.resources = ResourceMap::discover(&self.client)
                .await
                .map_err(|e| ApplyError::Connect(e.to_string()))?;
        }
        if failures.is_empty() {
            // Objects whose kind or namespace the first stage just created are checked now,
            // still before any of the second stage is written.
            let late: Vec<&PlannedObject> = rest
                .iter()
                .copied()
                .filter(|o| deferred.contains(&o.id))
                .collect();
            failures.extend(
                self.preflight(&late, opts, &live, &mut unchanged)
                    .await
                    .into_iter()
                    .map(|f| format!("{f} (rejected in a dry run; only the first stage — CRDs, Namespaces, cluster RBAC — was applied)")),
            );
        }
        if failures.is_empty() {
            self.apply_stage(&rest, stage, &unchanged, &mut report, &mut failures)
                .await;
        }
        progress.finish();
        if let Some(id) = created_early {
            for (oid, outcome) in &mut report.objects {
                if *oid == id && *outcome == Outcome::Unchanged {
                    *outcome = Outcome::Created;
                }
            }
        }
        if !failures.is_empty() {
            return Err(ApplyError::Failed {
                failures,
                total: plan.objects.len(),
                report: Box::new(report),
            });
        }

        if opts.prune {
            let current: BTreeSet<&ObjectId> = plan.objects.iter().map(|o| &o.id).collect();
            let mut doomed: Vec<&Member> = Vec::new();
            for m in &members {
                if current.contains(&m.id) {
                    continue;
                }
                if m.annotations.get(PRUNE_ANNOTATION).and_then(Value::as_str) == Some("disabled") {
                    report.kept.push((
                        m.id.to_string(),
                        format!("annotated {PRUNE_ANNOTATION}: disabled"),
                    ));
                } else if !m.managed_by_plumb {
                    report.kept.push((
                        m.id.to_string(),
                        format!(
                            "carries the inventory label but no fields managed by {FIELD_MANAGER}"
                        ),
                    ));
                } else {
                    doomed.push(m);
                }
            }
            // Reverse order: dependents first, then namespaces, cluster RBAC and CRDs.
            doomed.sort_by_key(|m| is_first_stage(&m.id.group, &m.id.kind));
            for m in doomed {
                let api = self.api(&m.resource, m.id.namespace.as_deref());
                let dp = DeleteParams {
                    dry_run: opts.dry_run,
                    propagation_policy: Some(PropagationPolicy::Background),
                    ..Default::default()
                };
                match api.delete(&m.id.name, &dp).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(s)) if s.is_not_found() => {}
                    Err(e) => failures.push(format!("{}: prune failed: {e}", m.id)),
                }
                info!(object = %m.id, dry_run = opts.dry_run, "pruned");
                report.objects.push((m.id.to_string(), Outcome::Pruned));
            }
            if !failures.is_empty() {
                return Err(ApplyError::Failed {
                    failures,
                    total: plan.objects.len(),
                    report: Box::new(report),
                });
            }
        }
        if !opts.dry_run {
            // After a prune the inventory is exactly this release; without one, keep the superset
            // so that a later prune still finds what this release no longer has.
            let (gks, nss) = if opts.prune {
                (plan.group_kinds(), plan.additional_namespaces())
            } else {
                (all_gks, all_nss)
            };
            self.write_parent(plan, &gks, &nss, Some(provenance))
                .await?;
        }
        info!(summary = %report.summary(), elapsed = ?started.elapsed(), "applied");
        if let (Some(timeout), false) = (opts.wait, opts.dry_run) {
            self.wait_healthy(plan, timeout).await?;
        }
        Ok(report)
    }

    /// Objects the server cannot validate before the first stage is applied: custom resources
    /// of a CRD in this release, and objects in a namespace this release creates.
    async fn not_yet_checkable(&self, plan: &Plan) -> Result<HashSet<ObjectId>, ApplyError> {
        // Only namespaces the release itself creates: an object in a namespace that neither
        // exists nor is in the release is checked (and refused) up front.
        let mut missing_ns = HashSet::new();
        let namespaces: BTreeSet<&str> = plan
            .objects
            .iter()
            .filter(|o| o.id.group.is_empty() && o.id.kind == "Namespace")
            .map(|o| o.id.name.as_str())
            .collect();
        for ns in namespaces {
            if !self.namespace_exists(ns).await? {
                missing_ns.insert(ns.to_string());
            }
        }
        Ok(plan
            .objects
            .iter()
            .filter(|o| {
                self.resources
                    .get(&o.resource.api.api_version, &o.resource.api.kind)
                    .is_none()
                    || o.id
                        .namespace
                        .as_ref()
                        .is_some_and(|ns| missing_ns.contains(ns))
            })
            .map(|o| o.id.clone())
            .collect())
    }

    /// Server-side dry-run apply of `objects`; the failures, in release order. Objects whose
    /// dry-run result is their live state (`live`, as listed) go into `unchanged`: the real
    /// apply would be a no-op, so it is skipped.
    async fn preflight(
        &self,
        objects: &[&PlannedObject],
        opts: &ApplyOptions,
        live: &HashMap<&ObjectId, &Value>,
        unchanged: &mut HashSet<ObjectId>,
    ) -> Vec<String> {
        let dry = ApplyOptions {
            dry_run: true,
            ..opts.clone()
        };
        let dry = &dry;
        let mut results: Vec<(usize, Result<bool, String>)> =
            futures::stream::iter(objects.iter().enumerate().map(|(i, o)| async move {
                let r = match self.apply_one(o, dry).await {
                    Ok((after, _)) => Ok(live.get(&o.id).is_some_and(|l| no_op(l, &after))),
                    Err(e) => Err(format!("{}: {e}", o.describe())),
                };
                (i, r)
            }))
            .buffer_unordered(opts.concurrency.max(1))
            .collect()
            .await;
        results.sort_by_key(|(i, _)| *i);
        let mut failures = Vec::new();
        for (i, r) in results {
            match r {
                Ok(true) => {
                    unchanged.insert(objects[i].id.clone());
                }
                Ok(false) => {}
                Err(e) => failures.push(e),
            }
        }
        failures
    }

    async fn apply_stage(
        &self,
        objects: &[&PlannedObject],
        stage: Stage<'_>,
        unchanged: &HashSet<ObjectId>,
        report: &mut ApplyReport,
        failures: &mut Vec<String>,
    ) {
        let Stage {
            opts,
            known,
            progress,
        } = stage;
        let results: Vec<(&ObjectId, Result<Outcome, String>)> =
            futures::stream::iter(objects.iter().map(|o| async move {
                if unchanged.contains(&o.id) {
                    return (&o.id, Ok(Outcome::Unchanged));
                }
                (&o.id, self.apply_with_outcome(o, opts, known).await)
            }))
            .buffer_unordered(opts.concurrency.max(1))
            .collect()
            .await;
        // Report in release order, whatever order the responses came in.
        let mut by_id: HashMap<&ObjectId, Result<Outcome, String>> = results.into_iter().collect();
        for o in objects {
            progress.step(&o.id.to_string());
            match by_id.remove(&o.id) {
                Some(Ok(outcome)) => {
                    debug!(object = %o.id, ?outcome, "applied");
                    report.objects.push((o.id.to_string(), outcome));
                }
                Some(Err(e)) => failures.push(format!("{}: {e}", o.describe())),
                None => {}
            }
        }
    }

    /// Applies one object and says what that did. A real apply tells created (HTTP 201) from
    /// updated, and unchanged by an unmoved resourceVersion; a dry run does not move
    /// resourceVersion, so the would-be object is compared with the live one instead.
    async fn apply_with_outcome(
        &self,
        o: &PlannedObject,
        opts: &ApplyOptions,
        known: &HashMap<ObjectId, String>,
    ) -> Result<Outcome, String> {
        if !opts.dry_run {
            let (after, created) = self.apply_one(o, opts).await?;
            return Ok(if created {
                Outcome::Created
            } else if known.get(&o.id).map(String::as_str)
                == after["metadata"]["resourceVersion"].as_str()
            {
                Outcome::Unchanged
            } else {
                Outcome::Configured
            });
        }
        let api = self.api(&o.resource, o.id.namespace.as_deref());
        let live = api
            .get_opt(&o.id.name)
            .await
            .ok()
            .flatten()
            .map(|l| serde_json::to_value(&l).unwrap_or_default());
        let (after, _) = self.apply_one(o, opts).await?;
        Ok(match live {
            None => Outcome::Created,
            Some(l) => {
                if diff::normalize(l) == diff::normalize(after) {
                    Outcome::Unchanged
                } else {
                    Outcome::Configured
                }
            }
        })
    }

    async fn wait_established(&self, crds: &[&PlannedObject], failures: &mut Vec<String>) {
        let deadline = Instant::now() + Duration::from_secs(60);
        for crd in crds {
            let api = self.api(&crd.resource, None);
            loop {
                match api.get_opt(&crd.id.name).await {
                    Ok(Some(live)) => {
                        match health::health(&serde_json::to_value(&live).unwrap_or_default()) {
                            Health::Ready => break,
                            Health::Failed(why) => {
                                failures.push(format!("{}: {why}", crd.describe()));
                                break;
                            }
                            Health::InProgress(_) => {}
                        }
                    }
                    Ok(None) => {}
                    Err(e) => {
                        failures.push(format!("{}: {e}", crd.describe()));
                        break;
                    }
                }
                if Instant::now() > deadline {
                    failures.push(format!("{}: not established after 60s", crd.describe()));
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }

    /// The health of every object of the plan, as the cluster reports it now.
    pub async fn health(&self, plan: &Plan) -> Result<Vec<(ObjectId, Health)>, ApplyError> {
        let checks = plan.objects.iter().map(|o| async move {
            let api = self.api(&o.resource, o.id.namespace.as_deref());
            let h = match api.get_opt(&o.id.name).await? {
                Some(live) => health::health(&serde_json::to_value(&live).unwrap_or_default()),
                None => Health::InProgress("not found".into()),
            };
            Ok::<_, ApplyError>((o.id.clone(), h))
        });
        futures::stream::iter(checks)
            .buffer_unordered(16)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect()
    }

    /// Waits until every object is ready; names each one that is not, and why.
    pub async fn wait_healthy(&self, plan: &Plan, timeout: Duration) -> Result<(), ApplyError> {
        let deadline = Instant::now() + timeout;
        loop {
            let mut failed = Vec::new();
            let mut pending = Vec::new();
            for (id, h) in self.health(plan).await? {
                match h {
                    Health::Failed(why) => failed.push(format!("{id}: {why}")),
                    Health::InProgress(why) => pending.push(format!("{id}: {why}")),
                    Health::Ready => {}
                }
            }
            if !failed.is_empty() {
                return Err(ApplyError::Unhealthy { failed });
            }
            if pending.is_empty() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(ApplyError::NotReady { timeout, pending });
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// The live counterpart of every planned object (in plan order), `None` where it does not
    /// exist yet (or its kind or namespace will only exist once this release is applied).
    pub async fn live(&self, plan: &Plan) -> Result<Vec<Option<Value>>, ApplyError> {
        let reads = plan.objects.iter().map(|o| async move {
            match self
                .api(&o.resource, o.id.namespace.as_deref())
                .get_opt(&o.id.name)
                .await
            {
                Ok(l) => Ok(l.map(|l| serde_json::to_value(&l).unwrap_or_default())),
                Err(kube::Error::Api(s)) if s.is_not_found() => Ok(None),
                Err(e) => Err(ApplyError::from(e)),
            }
        });
        futures::stream::iter(reads)
            .buffered(16)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect()
    }

    /// What a prune would delete now: inventory members no longer in the plan.
    pub async fn prune_candidates(
        &self,
        plan: &Plan,
    ) -> Result<Vec<(ObjectId, Value)>, ApplyError> {
        let Some(parent) = self.read_parent(&plan.parent).await? else {
            return Ok(Vec::new());
        };
        let annotations = parent.metadata.annotations.unwrap_or_default();
        let gks = inventory::parse_list(
            annotations
                .get(inventory::CONTAINS_GROUP_KINDS)
                .map(String::as_str),
        );
        let current: BTreeSet<&ObjectId> = plan.objects.iter().map(|o| &o.id).collect();
        let mut out = Vec::new();
        for m in self.members(&plan.parent, &gks).await? {
            let opted_out =
                m.annotations.get(PRUNE_ANNOTATION).and_then(Value::as_str) == Some("disabled");
            if current.contains(&m.id) || opted_out || !m.managed_by_plumb {
                continue;
            }
            let api = self.api(&m.resource, m.id.namespace.as_deref());
            if let Some(live) = api.get_opt(&m.id.name).await? {
                out.push((
                    m.id.clone(),
                    serde_json::to_value(&live).unwrap_or_default(),
                ));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }
}

fn config_map() -> kube::core::ApiResource {
    kube::core::ApiResource::erase::<k8s_openapi::api::core::v1::ConfigMap>(&())
}

fn namespace_resource() -> kube::core::ApiResource {
    kube::core::ApiResource::erase::<k8s_openapi::api::core::v1::Namespace>(&())
}

/// A readable account of a failed request; for conflicts, who owns which field.
fn describe_status(st: &Status, forced: bool) -> String {
    if st.is_conflict() {
        let causes: Vec<String> = st
            .details
            .as_ref()
            .map(|d| {
                d.causes
                    .iter()
                    .map(|c| format!("{} ({})", c.field, c.message))
                    .collect()
            })
            .unwrap_or_default();
        if !causes.is_empty() {
            let hint = if forced {
                ""
            } else {
                "; re-run with --force-conflicts to take ownership of these fields"
            };
            return format!(
                "conflict: other field managers own {}{hint}",
                causes.join(", ")
            );
        }
    }
    let mut msg = st.message.clone();
    if let Some(d) = &st.details {
        let causes: Vec<String> = d
            .causes
            .iter()
            .filter(|c| !c.message.is_empty() && !msg.contains(&c.message))
            .map(|c| {
                if c.field.is_empty() {
                    c.message.clone()
                } else {
                    format!("{}: {}", c.field, c.message)
                }
            })
            .collect();
        if !causes.is_empty() {
            msg.push_str(&format!(" ({})", causes.join("; ")));
        }
    }
    if msg.is_empty() {
        format!("HTTP {} {}", st.code, st.reason)
    } else {
        msg
    }
}

/// Counts of what a diff found.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DiffSummary {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
    pub unchanged: usize,
}

impl DiffSummary {
    pub fn has_changes(&self) -> bool {
        self.create + self.update + self.delete > 0
    }
}

impl std::fmt::Display for DiffSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} to create, {} to update, {} to delete, {} unchanged",
            self.create, self.update, self.delete, self.unchanged
        )
    }
}

/// Groups object ids by outcome, for printing.
pub fn by_outcome(report: &ApplyReport) -> BTreeMap<&'static str, Vec<&str>> {
    let mut m: BTreeMap<&'static str, Vec<&str>> = BTreeMap::new();
    for (id, o) in &report.objects {
        let k = match o {
            Outcome::Created => "created",
            Outcome::Configured => "configured",
            Outcome::Unchanged => "unchanged",
            Outcome::Pruned => "pruned",
        };
        m.entry(k).or_default().push(id);
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(value: &str, fields: Value, with_type: bool) -> Value {
        let mut v = json!({
            "metadata": {
                "name": "c", "namespace": "n", "resourceVersion": "7",
                "managedFields": [
                    {"manager": "plumb", "operation": "Apply", "apiVersion": "v1", "fieldsV1": fields,
                     "time": "2026-01-01T00:00:00Z"},
                    {"manager": "kubectl", "operation": "Update", "apiVersion": "v1", "fieldsV1": {}}
                ]
            },
            "data": {"key": value}
        });
        if with_type {
            v["apiVersion"] = json!("v1");
            v["kind"] = json!("ConfigMap");
        }
        v
    }

    #[test]
    fn a_dry_run_equal_to_the_listed_object_is_a_no_op() {
        let f = json!({"f:data": {"f:key": {}}});
        // List items have no apiVersion/kind; the apply response has them.
        assert!(no_op(
            &obj("1", f.clone(), false),
            &obj("1", f.clone(), true)
        ));
        // Changed content.
        assert!(!no_op(
            &obj("1", f.clone(), false),
            &obj("2", f.clone(), true)
        ));
        // Same content, but plumb would own other fields.
        let more = json!({"f:data": {"f:key": {}, "f:other": {}}});
        assert!(!no_op(&obj("1", f.clone(), false), &obj("1", more, true)));
        // Not owned by plumb yet: applying takes ownership, never skipped.
        let mut foreign = obj("1", f.clone(), false);
        foreign["metadata"]["managedFields"][0]["manager"] = json!("someone");
        assert!(!no_op(&foreign, &foreign.clone()));
    }
}
