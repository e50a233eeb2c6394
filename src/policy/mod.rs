//! Policy stage: every policy plugin an app lists judges the whole rendered release before
//! anything of it is applied.
//!
//! [`evaluate`] is the gate. It runs the policies in the order the app spec lists them, applies
//! their JSON-Patch mutations, judges the mutated release again, and returns a [`Decision`]:
//! the objects as they may be applied, every finding with what it means under its policy's
//! mode, every mutation (which policy changed which object, and why), and [`Decision::allowed`].
//!
//! Semantics, in one place:
//!
//! - **Modes.** `enforce`: a `deny` finding makes the release denied (`allowed == false`;
//!   nothing of it may be applied), a `warn` finding is a warning. `warn`: every finding is a
//!   warning. `audit`: findings are recorded only, and the policy's mutations are recorded but
//!   not applied.
//! - **Failures.** A policy that cannot judge — its plugin fails to load, traps, runs out of
//!   time or memory, returns an error or output the host rejects (a bad object index, a patch
//!   that does not apply, a patch that renames an object) — fails closed under `enforce` (a
//!   release-level denial naming the policy and the error) and is a warning under `warn`, a
//!   record under `audit`. plumb itself never stops because of a policy.
//! - **Exemptions.** Every policy sees the whole release (so cross-object rules stay right,
//!   e.g. a PodDisruptionBudget in an exempt namespace still covers its Deployment); findings
//!   and mutations about an exempt object are dropped, and counted per policy. Release-level
//!   findings cannot be exempted.
//! - **Mutations, to a fixed point.** In a round, every policy judges the same snapshot of the
//!   release (the policies run in parallel); their patches are then applied in policy order
//!   and recorded. A patch that leaves an object unchanged is not a change; a patch that no
//!   longer applies because an earlier policy changed the object this round waits for the next
//!   round. When a round changed anything, every policy judges the result again in another
//!   round, up to [`MAX_ROUNDS`]; the findings of the last round are the verdict, so the
//!   verdict is about exactly the objects that will be applied. A policy that still changes
//!   objects in the last round does not converge: that is a failure of the policy (see above).

pub mod check;
pub mod testing;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::Serialize;
use serde_json::Value;
use tracing::{info_span, warn};

use crate::app::load_plugin;
use crate::plugin::{Context, Operation, Plugin, PluginHost, ReviewInput, Verdict};
use crate::render::{Release, RenderedObject};
use crate::spec::{Exemption, PolicyMode, PolicyRef};

/// How many review rounds the gate runs at most when policies mutate objects.
pub const MAX_ROUNDS: u32 = 3;

/// A policy ready to judge releases: its plugin (or why it could not be loaded), its settings,
/// its mode and exemptions.
#[derive(Debug, Clone)]
pub struct Policy {
    /// How reports name it: the built-in's name or the file path as written in the spec, with
    /// `#N` (its position in the list, from 1) when the app lists the same one twice.
    pub name: String,
    /// The loaded plugin, or the load error (reported by [`evaluate`], fail-closed under
    /// `enforce`).
    pub plugin: Result<Arc<Plugin>, String>,
    pub settings: Value,
    pub mode: PolicyMode,
    pub exemptions: Vec<Exemption>,
}

impl Policy {
    /// A policy over an already loaded plugin.
    pub fn new(name: impl Into<String>, plugin: Arc<Plugin>, settings: Value) -> Self {
        Policy {
            name: name.into(),
            plugin: Ok(plugin),
            settings,
            mode: PolicyMode::Enforce,
            exemptions: Vec::new(),
        }
    }

    pub fn with_mode(mut self, mode: PolicyMode) -> Self {
        self.mode = mode;
        self
    }

    pub fn with_exemptions(mut self, exemptions: Vec<Exemption>) -> Self {
        self.exemptions = exemptions;
        self
    }
}

/// Loads the policies an app spec lists (`spec.policies`), relative paths against `base_dir`.
/// Never fails: a policy that cannot be loaded keeps its error, and [`evaluate`] reports it
/// (fail-closed under `enforce`).
pub fn load(host: &PluginHost, refs: &[PolicyRef], base_dir: &Path) -> Vec<Policy> {
    let label = |r: &PolicyRef| {
        r.name
            .clone()
            .or_else(|| r.path.clone())
            .unwrap_or_else(|| "(unnamed)".into())
    };
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for r in refs {
        *counts.entry(label(r)).or_default() += 1;
    }
    refs.iter()
        .enumerate()
        .map(|(i, r)| {
            let base = label(r);
            let name = if counts.get(&base).copied().unwrap_or(0) > 1 {
                format!("{base}#{}", i + 1)
            } else {
                base
            };
            let plugin = match (&r.name, &r.path) {
                (None, None) => Err("names no plugin: give `name` (a built-in) or `path`".into()),
                _ => load_plugin(host, &r.plugin(), base_dir).map_err(|e| e.to_string()),
            }
            .and_then(|p| check_exemptions(&r.exemptions).map(|()| p));
            Policy {
                name,
                plugin,
                settings: r
                    .settings
                    .clone()
                    .unwrap_or_else(|| Value::Object(Default::default())),
                mode: r.mode,
                exemptions: r.exemptions.clone(),
            }
        })
        .collect()
}

fn check_exemptions(exemptions: &[Exemption]) -> Result<(), String> {
    for (i, e) in exemptions.iter().enumerate() {
        if e.namespaces.is_empty()
            && e.kinds.is_empty()
            && e.names.is_empty()
            && e.match_labels.is_empty()
        {
            return Err(format!(
                "exemption #{} names no namespace, kind, name or label: it would exempt every object",
                i + 1
            ));
        }
    }
    Ok(())
}

/// One object of a release as the gate judges it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Subject {
    /// The desired object (the live one for a delete); after [`evaluate`], mutated.
    pub object: Value,
    /// The file it was rendered from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    /// Its live counterpart, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<Value>,
    pub operation: Operation,
}

impl Subject {
    /// An object to be created (no live counterpart known).
    pub fn create(o: &RenderedObject) -> Self {
        Subject {
            object: o.value.clone(),
            origin: o.origin.clone(),
            live: None,
            operation: Operation::Create,
        }
    }
}

/// The objects of a release as subjects to create, for a gate without a cluster.
pub fn subjects(release: &Release) -> Vec<Subject> {
    release.objects.iter().map(Subject::create).collect()
}

/// Who an object is, for reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    pub api_version: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
}

/// Kinds that live outside namespaces (the well-known ones; others are taken as namespaced).
const CLUSTER_SCOPED: &[&str] = &[
    "Namespace",
    "Node",
    "PersistentVolume",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "StorageClass",
    "PriorityClass",
    "IngressClass",
    "RuntimeClass",
    "CSIDriver",
    "APIService",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
];

impl ObjectRef {
    /// Who `s` is; a namespaced object without a namespace is in `default_ns` (the app's).
    pub fn of(s: &Subject, default_ns: &str) -> Self {
        let str_at = |p: &str| s.object.pointer(p).and_then(Value::as_str);
        let kind = str_at("/kind").unwrap_or_default();
        let namespace = str_at("/metadata/namespace")
            .map(str::to_string)
            .or_else(|| {
                (!default_ns.is_empty() && !CLUSTER_SCOPED.contains(&kind))
                    .then(|| default_ns.to_string())
            });
        ObjectRef {
            api_version: str_at("/apiVersion").unwrap_or_default().to_string(),
            kind: kind.to_string(),
            namespace,
            name: str_at("/metadata/name").unwrap_or_default().to_string(),
            origin: s.origin.clone(),
        }
    }

    /// The namespace, or `default_ns` when the object names none.
    pub fn namespace_or<'a>(&'a self, default_ns: &'a str) -> &'a str {
        self.namespace.as_deref().unwrap_or(default_ns)
    }
}

impl std::fmt::Display for ObjectRef {
    /// `Deployment shop/web (deploy/web.yaml)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {ns}/{}", self.kind, self.name)?,
            None => write!(f, "{} {}", self.kind, self.name)?,
        }
        if let Some(o) = &self.origin {
            write!(f, " ({o})")?;
        }
        Ok(())
    }
}

/// What a finding means for the release, given its policy's mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// Recorded only (an `audit` policy).
    Audit,
    /// Shown to the user; the release may still be applied.
    Warn,
    /// The release is denied.
    Deny,
}

impl Effect {
    fn of(mode: PolicyMode, verdict: Verdict) -> Option<Effect> {
        match (mode, verdict) {
            (_, Verdict::Allow) => None,
            (PolicyMode::Enforce, Verdict::Deny) => Some(Effect::Deny),
            (PolicyMode::Enforce | PolicyMode::Warn, _) => Some(Effect::Warn),
            (PolicyMode::Audit, _) => Some(Effect::Audit),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Audit => "audit",
            Effect::Warn => "warn",
            Effect::Deny => "deny",
        }
    }
}

/// One finding of one policy, about one object or the whole release.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Violation {
    /// The policy's name (see [`Policy::name`]).
    pub policy: String,
    pub mode: PolicyMode,
    /// Index of the object in [`Decision::objects`]; none for a release-level finding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub object: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<ObjectRef>,
    /// What the policy said.
    pub verdict: Verdict,
    /// What it means under the policy's mode.
    pub effect: Effect,
    pub message: String,
    /// The offending field, as a JSON pointer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The policy could not judge (the message says why); not a finding of the plugin.
    pub policy_error: bool,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.target {
            Some(t) => write!(f, "{t}: ")?,
            None => f.write_str("release: ")?,
        }
        write!(f, "policy {}: {}", self.policy, self.message)?;
        if let Some(field) = &self.field {
            write!(f, " (at {field})")?;
        }
        Ok(())
    }
}

/// A mutation a policy asked for.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppliedMutation {
    pub policy: String,
    pub object: usize,
    pub target: ObjectRef,
    pub reason: String,
    /// The RFC 6902 patch.
    pub patch: Value,
    /// The review round it came from (1-based).
    pub round: u32,
    /// False for an `audit` policy: recorded, not applied.
    pub applied: bool,
}

/// What the gate concluded about one policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyOutcome {
    pub name: String,
    /// `name@version` of the plugin, when it loaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    pub mode: PolicyMode,
    /// Findings with effect deny / warn / audit in the final round.
    pub denials: usize,
    pub warnings: usize,
    pub audits: usize,
    /// Findings and mutations dropped because their object is exempt.
    pub exempted: usize,
    /// Mutations it applied (or, under audit, would have applied), over all rounds.
    pub mutations: usize,
    /// Why it could not judge, when it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Time spent in the plugin, over all rounds.
    pub millis: f64,
}

/// Verdict of the gate about one object.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectVerdict {
    pub target: ObjectRef,
    /// The strongest effect of any finding about it; none when it passed every policy.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effect: Option<Effect>,
    /// The policies that found something about it.
    pub policies: Vec<String>,
}

/// The gate's answer for one release: what may be applied, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    pub app: String,
    pub revision: String,
    /// False when any enforced policy denied (or could not judge): nothing of the release may
    /// be applied.
    pub allowed: bool,
    /// Review rounds run (more than one when policies mutated objects).
    pub rounds: u32,
    /// The release as it may be applied: mutations included, in the original order.
    pub objects: Vec<Subject>,
    /// Per object, in the same order.
    pub verdicts: Vec<ObjectVerdict>,
    /// Per policy, in spec order.
    pub policies: Vec<PolicyOutcome>,
    /// Every finding of the final round (and every policy failure), in policy order.
    pub violations: Vec<Violation>,
    pub mutations: Vec<AppliedMutation>,
}

impl Decision {
    /// Findings that deny the release.
    pub fn denials(&self) -> impl Iterator<Item = &Violation> {
        self.violations.iter().filter(|v| v.effect == Effect::Deny)
    }

    /// Findings to show the user as warnings.
    pub fn warnings(&self) -> impl Iterator<Item = &Violation> {
        self.violations.iter().filter(|v| v.effect == Effect::Warn)
    }

    /// Findings recorded only.
    pub fn audits(&self) -> impl Iterator<Item = &Violation> {
        self.violations.iter().filter(|v| v.effect == Effect::Audit)
    }

    /// The objects as values, ready to apply (only meaningful when [`Decision::allowed`]).
    pub fn values(&self) -> impl Iterator<Item = &Value> {
        self.objects.iter().map(|s| &s.object)
    }
}

/// Judges `subjects` with `policies` (in order) and returns what may be applied.
///
/// This is the call `plumb apply` / `plumb diff` make between render and apply:
///
/// ```text
/// let policies = policy::load(&host, &app.spec.policies, &app.base_dir);
/// let subjects = /* the release's objects with their live counterparts and operations */;
/// let decision = policy::evaluate(&policies, subjects, &app.context());
/// if !decision.allowed { /* report decision.denials(), write nothing */ }
/// for w in decision.warnings() { /* show */ }
/// apply(decision.values()); // the mutated objects
/// ```
///
/// Never fails and never panics on plugin misbehaviour: a policy that cannot judge becomes a
/// [`Violation`] with `policy_error: true` (a denial under `enforce`). See the module docs for
/// modes, exemptions and the mutation rounds. Plugin calls are synchronous and CPU-bound: from
/// async code, call this on a blocking thread.
pub fn evaluate(policies: &[Policy], subjects: Vec<Subject>, context: &Context) -> Decision {
    let span = info_span!("policy_gate", app = %context.app, revision = %context.revision, policies = policies.len(), objects = subjects.len());
    let _entered = span.enter();
    let mut objects = subjects;
    // What the plugins see: the objects as JSON, serialized once for every policy of every
    // round, and again only where a round changed them.
    let mut input = ReviewInput::of(
        objects
            .iter()
            .map(|s| (&s.object, s.live.as_ref(), s.operation)),
    );
    // The objects as the policies of this round saw them, for those changed since.
    let mut seen: HashMap<usize, Value> = HashMap::new();
    let mut outcomes: Vec<PolicyOutcome> = policies
        .iter()
        .map(|p| PolicyOutcome {
            name: p.name.clone(),
            plugin: p
                .plugin
                .as_ref()
                .ok()
                .map(|pl| format!("{}@{}", pl.name(), pl.metadata().version)),
            sha256: p.plugin.as_ref().ok().map(|pl| pl.digest().to_string()),
            mode: p.mode,
            denials: 0,
            warnings: 0,
            audits: 0,
            exempted: 0,
            mutations: 0,
            error: None,
            millis: 0.0,
        })
        .collect();
    let mut mutations: Vec<AppliedMutation> = Vec::new();
    let mut violations: Vec<Violation> = Vec::new();
    let mut rounds = 0;

    for round in 1..=MAX_ROUNDS {
        rounds = round;
        violations.clear();
        seen.clear();
        // Every policy judges the same snapshot (`input`), in parallel; results are then taken
        // in policy order, so the outcome does not depend on scheduling.
        let results = review_all(policies, &input, context, &span, round);
        let mut changed_by: Vec<usize> = Vec::new();
        let mut changed: Vec<usize> = Vec::new();
        for (pi, (p, result)) in policies.iter().zip(results).enumerate() {
            let outcome = &mut outcomes[pi];
            outcome.denials = 0;
            outcome.warnings = 0;
            outcome.audits = 0;
            outcome.exempted = 0;
            outcome.error = None;
            let review = match (&p.plugin, result) {
                (Err(e), _) => {
                    fail(
                        p,
                        outcome,
                        &mut violations,
                        format!("cannot be loaded: {e}"),
                    );
                    continue;
                }
                (Ok(_), None) => {
                    fail(p, outcome, &mut violations, "was not run".into());
                    continue;
                }
                (Ok(_), Some((result, millis))) => {
                    outcome.millis += millis;
                    match result {
                        Ok(r) => r,
                        Err(e) => {
                            warn!(policy = %p.name, error = %e, "policy could not judge the release");
                            fail(p, outcome, &mut violations, e);
                            continue;
                        }
                    }
                }
            };
            // Mutations first, all or nothing per policy: a bad patch is a policy failure. A
            // patch that applies to the snapshot the policy saw but not after an earlier
            // policy's change this round is a conflict: it waits for the next round, where the
            // policy sees the change.
            let apply = p.mode != PolicyMode::Audit;
            let mut patched: Vec<(usize, Value)> = Vec::new();
            let mut records = Vec::new();
            let mut bad = None;
            let mut conflict = false;
            for m in &review.mutations {
                let i = m.object as usize;
                if is_exempt(&p.exemptions, &objects[i], &context.namespace) {
                    outcome.exempted += 1;
                    continue;
                }
                let current = patched
                    .iter()
                    .rev()
                    .find(|(j, _)| *j == i)
                    .map(|(_, v)| v)
                    .unwrap_or(&objects[i].object);
                // The object as this round's policies saw it.
                let before = seen.get(&i).unwrap_or(&objects[i].object);
                match apply_patch(current, &m.patch) {
                    Ok(next) if next == *current => {}
                    Ok(next) => {
                        records.push(AppliedMutation {
                            policy: p.name.clone(),
                            object: i,
                            target: ObjectRef::of(&objects[i], &context.namespace),
                            reason: m.reason.clone(),
                            patch: m.patch.clone(),
                            round,
                            applied: apply,
                        });
                        patched.push((i, next));
                    }
                    Err(_) if *current != *before && apply_patch(before, &m.patch).is_ok() => {
                        conflict = true;
                    }
                    Err(e) => {
                        bad = Some(format!(
                            "its mutation of {} ({}) cannot be applied: {e}",
                            ObjectRef::of(&objects[i], &context.namespace),
                            m.reason
                        ));
                        break;
                    }
                }
            }
            if let Some(e) = bad {
                fail(p, outcome, &mut violations, e);
                continue;
            }
            if conflict && apply {
                changed_by.push(pi);
            }
            outcome.mutations += records.len();
            mutations.extend(records);
            if apply && !patched.is_empty() {
                for (i, v) in patched {
                    let before = std::mem::replace(&mut objects[i].object, v);
                    seen.entry(i).or_insert(before);
                    changed.push(i);
                }
                changed_by.push(pi);
            }
            for f in review.findings {
                let Some(effect) = Effect::of(p.mode, f.verdict) else {
                    continue;
                };
                let index = f.object.map(|i| i as usize);
                if let Some(i) = index
                    && is_exempt(&p.exemptions, &objects[i], &context.namespace)
                {
                    outcome.exempted += 1;
                    continue;
                }
                match effect {
                    Effect::Deny => outcome.denials += 1,
                    Effect::Warn => outcome.warnings += 1,
                    Effect::Audit => outcome.audits += 1,
                }
                violations.push(Violation {
                    policy: p.name.clone(),
                    mode: p.mode,
                    object: index,
                    target: index.map(|i| ObjectRef::of(&objects[i], &context.namespace)),
                    verdict: f.verdict,
                    effect,
                    message: f.message,
                    field: f.field,
                    policy_error: false,
                });
            }
        }
        if changed_by.is_empty() {
            break;
        }
        changed.sort_unstable();
        changed.dedup();
        for i in changed {
            let s = &objects[i];
            input.set(i, &s.object, s.live.as_ref(), s.operation);
        }
        if round == MAX_ROUNDS {
            changed_by.dedup();
            for pi in changed_by {
                let p = &policies[pi];
                fail(
                    p,
                    &mut outcomes[pi],
                    &mut violations,
                    format!(
                        "still changed objects in review round {MAX_ROUNDS}: its mutations do not converge"
                    ),
                );
            }
        }
    }

    let allowed = !violations.iter().any(|v| v.effect == Effect::Deny);
    let verdicts = objects
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mine: Vec<&Violation> = violations.iter().filter(|v| v.object == Some(i)).collect();
            let mut names: Vec<String> = mine.iter().map(|v| v.policy.clone()).collect();
            names.dedup();
            ObjectVerdict {
                target: ObjectRef::of(s, &context.namespace),
                effect: mine.iter().map(|v| v.effect).max(),
                policies: names,
            }
        })
        .collect();
    tracing::info!(
        allowed,
        rounds,
        denials = violations
            .iter()
            .filter(|v| v.effect == Effect::Deny)
            .count(),
        warnings = violations
            .iter()
            .filter(|v| v.effect == Effect::Warn)
            .count(),
        mutations = mutations.len(),
        "policy gate"
    );
    Decision {
        app: context.app.clone(),
        revision: context.revision.clone(),
        allowed,
        rounds,
        objects,
        verdicts,
        policies: outcomes,
        violations,
        mutations,
    }
}

/// One policy's answer and the milliseconds it took; `None` when its plugin did not load.
type Answer = Option<(Result<crate::plugin::Review, String>, f64)>;

/// Runs every loaded policy over `input` (the round's snapshot of the release, serialized once),
/// on up to as many threads as the machine has cores.
/// A panic in the host while running a plugin is caught and becomes that policy's error.
fn review_all(
    policies: &[Policy],
    input: &ReviewInput,
    context: &Context,
    parent: &tracing::Span,
    round: u32,
) -> Vec<Answer> {
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<Answer>> = policies.iter().map(|_| Mutex::new(None)).collect();
    let work = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(p) = policies.get(i) else {
                break;
            };
            let Ok(plugin) = &p.plugin else {
                continue;
            };
            let _span = info_span!(parent: parent, "policy", app = %context.app, revision = %context.revision, plugin = %plugin.name(), policy = %p.name, mode = ?p.mode, round).entered();
            let started = Instant::now();
            let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                plugin.review_json(input, &p.settings, context)
            }))
            .map_err(|_| format!("plugin {}: the host panicked running it", plugin.name()))
            .and_then(|r| r.map_err(|e| e.to_string()));
            let millis = started.elapsed().as_secs_f64() * 1e3;
            *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some((result, millis));
        }
    };
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(policies.len());
    if workers <= 1 {
        work();
    } else {
        std::thread::scope(|s| {
            for _ in 1..workers {
                s.spawn(work);
            }
            work();
        });
    }
    slots
        .into_iter()
        .map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()))
        .collect()
}

/// [`evaluate`] over a rendered release, every object to be created (no cluster known).
pub fn evaluate_release(policies: &[Policy], release: &Release, context: &Context) -> Decision {
    evaluate(policies, subjects(release), context)
}

/// Records that policy `p` could not judge: a release-level violation whose effect follows the
/// policy's mode (fail closed under enforce).
fn fail(p: &Policy, outcome: &mut PolicyOutcome, violations: &mut Vec<Violation>, error: String) {
    let effect = match p.mode {
        PolicyMode::Enforce => Effect::Deny,
        PolicyMode::Warn => Effect::Warn,
        PolicyMode::Audit => Effect::Audit,
    };
    match effect {
        Effect::Deny => outcome.denials += 1,
        Effect::Warn => outcome.warnings += 1,
        Effect::Audit => outcome.audits += 1,
    }
    // Findings it made earlier in this round are void: it did not finish judging.
    violations.retain(|v| v.policy != p.name);
    violations.push(Violation {
        policy: p.name.clone(),
        mode: p.mode,
        object: None,
        target: None,
        verdict: Verdict::Deny,
        effect,
        message: format!("the policy could not judge the release: {error}"),
        field: None,
        policy_error: true,
    });
    outcome.error = Some(error);
}

/// Applies an RFC 6902 patch to a copy of `doc`. The patch may not change the object's
/// identity (apiVersion, kind, namespace, name): a policy adjusts objects, it does not swap them.
fn apply_patch(doc: &Value, patch: &Value) -> Result<Value, String> {
    let ops: json_patch::Patch =
        serde_json::from_value(patch.clone()).map_err(|e| format!("not a JSON Patch: {e}"))?;
    let mut next = doc.clone();
    json_patch::patch(&mut next, &ops).map_err(|e| e.to_string())?;
    crate::render::check_object(&next).map_err(|e| format!("the result is invalid: {e}"))?;
    for p in [
        "/apiVersion",
        "/kind",
        "/metadata/name",
        "/metadata/namespace",
    ] {
        if doc.pointer(p) != next.pointer(p) {
            return Err(format!("it changes {p}, which a policy may not change"));
        }
    }
    Ok(next)
}

/// Whether `s` matches any exemption (every field an exemption sets must match).
pub fn is_exempt(exemptions: &[Exemption], s: &Subject, default_ns: &str) -> bool {
    let o = &s.object;
    let str_at = |p: &str| o.pointer(p).and_then(Value::as_str);
    let ns = str_at("/metadata/namespace").unwrap_or(default_ns);
    let kind = str_at("/kind").unwrap_or_default();
    let name = str_at("/metadata/name").unwrap_or_default();
    exemptions.iter().any(|e| {
        (e.namespaces.is_empty() || e.namespaces.iter().any(|n| glob_match(n, ns)))
            && (e.kinds.is_empty() || e.kinds.iter().any(|k| k == kind))
            && (e.names.is_empty() || e.names.iter().any(|n| glob_match(n, name)))
            && e.match_labels.iter().all(|(k, v)| {
                o.pointer("/metadata/labels")
                    .and_then(|l| l.get(k))
                    .and_then(Value::as_str)
                    == Some(v.as_str())
            })
    })
}

/// `pattern` with an optional trailing `*` (prefix match), else an exact match.
fn glob_match(pattern: &str, s: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => s.starts_with(prefix),
        None => pattern == s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn subject(v: Value) -> Subject {
        Subject {
            object: v,
            origin: None,
            live: None,
            operation: Operation::Create,
        }
    }

    #[test]
    fn exemptions_match_every_field_they_set() {
        let s = subject(
            json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "debug-1", "labels": {"tier": "ops"}}}),
        );
        let ex = |v: Value| -> Vec<Exemption> { vec![serde_json::from_value(v).unwrap()] };
        assert!(is_exempt(&ex(json!({"namespaces": ["shop"]})), &s, "shop"));
        assert!(!is_exempt(&ex(json!({"namespaces": ["x"]})), &s, "shop"));
        assert!(is_exempt(
            &ex(json!({"kinds": ["Pod"], "names": ["debug-*"]})),
            &s,
            "shop"
        ));
        assert!(!is_exempt(
            &ex(json!({"kinds": ["Pod"], "names": ["web"]})),
            &s,
            "shop"
        ));
        assert!(is_exempt(
            &ex(json!({"matchLabels": {"tier": "ops"}})),
            &s,
            "shop"
        ));
        assert!(!is_exempt(
            &ex(json!({"matchLabels": {"tier": "web"}})),
            &s,
            "shop"
        ));
        assert!(check_exemptions(&ex(json!({}))).is_err());
    }

    #[test]
    fn patches_apply_but_may_not_rename() {
        let doc = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}});
        let next = apply_patch(
            &doc,
            &json!([{"op": "add", "path": "/metadata/labels", "value": {"team": "x"}}]),
        )
        .unwrap();
        assert_eq!(next["metadata"]["labels"]["team"], "x");
        let e = apply_patch(
            &doc,
            &json!([{"op": "replace", "path": "/metadata/name", "value": "b"}]),
        )
        .unwrap_err();
        assert!(e.contains("/metadata/name"), "{e}");
        let e = apply_patch(&doc, &json!([{"op": "remove", "path": "/nope"}])).unwrap_err();
        assert!(!e.is_empty());
        assert!(apply_patch(&doc, &json!({"op": "add"})).is_err());
    }

    #[test]
    fn modes_map_verdicts_to_effects() {
        use PolicyMode::*;
        assert_eq!(Effect::of(Enforce, Verdict::Deny), Some(Effect::Deny));
        assert_eq!(Effect::of(Enforce, Verdict::Warn), Some(Effect::Warn));
        assert_eq!(Effect::of(Warn, Verdict::Deny), Some(Effect::Warn));
        assert_eq!(Effect::of(Audit, Verdict::Deny), Some(Effect::Audit));
        assert_eq!(Effect::of(Enforce, Verdict::Allow), None);
    }
}
