//! `rules`: policies written as data. Each rule is a CEL expression — the language of Kubernetes
//! ValidatingAdmissionPolicy — that must evaluate to `true` for an object to pass.
//!
//! Every expression sees:
//!
//! | variable      | what |
//! |---------------|------|
//! | `object`      | the object under review (desired state; the live object for a delete) |
//! | `oldObject`   | its live counterpart in the cluster, or `null` |
//! | `release`     | every object of the release, in order (for cross-object rules) |
//! | `releaseByKind` | the objects of the release by kind, in order: `releaseByKind['Ingress']` (`[]` for a kind the release lacks) |
//! | `params`      | the `params` of the settings (`{}` when unset) |
//! | `variables`   | the settings' `variables`, evaluated for this object |
//! | `podSpec`     | the pod spec of a Pod or of a workload's pod template, or `null` |
//! | `podMetadata` | the pod (template) metadata, or `null` |
//! | `containers`  | every init, regular and ephemeral container of `podSpec` (`[]` without one) |
//! | `request`     | `{operation: "CREATE"\|"UPDATE"\|"DELETE", kind, namespace, name}` |
//! | `app`         | `{name, namespace, path, revision}` of the app |
//!
//! Besides the standard library and its `strings`, `lists` and `math` extensions, expressions
//! can call (see [`functions`]):
//!
//! | function | what |
//! |----------|------|
//! | `selects(selector, labels)` | whether a Kubernetes label selector selects the map `labels` (`null`: none): `matchLabels` and `matchExpressions` (`In`, `NotIn`, `Exists`, `DoesNotExist`), or a plain map of labels such as a Service's `spec.selector`. `{}` selects everything; `null` (no selector) nothing |
//! | `list.selecting(labels)` | the elements of `list` (objects) whose selector selects `labels`, in order: `spec.podSelector` for a NetworkPolicy, `spec.selector` otherwise; an object without one is never selected. Over a list of the release (`release`, `releaseByKind[…]`, or a variable holding one) the lookup goes through an index built once per review, so it costs the same however long the list is |
//! | `list.groupBy(x, key)` | a map from each `key` (evaluated with `x` bound to an element) to the elements with that key, in order; when `key` is a list, the element is filed under each of its keys (once). Keys are strings, ints, uints or bools |
//!
//! A variable that uses none of the per-object names (`object`, `oldObject`, `request`,
//! `podSpec`, `podMetadata`, `containers`) — e.g. `release.filter(o, o.kind == 'Ingress')` — is
//! evaluated once per review, not once per object: cross-object rules should collect what they
//! compare against in such a variable, and look objects up in it by key (`groupBy`) or by labels
//! (`selecting`) rather than compare every object with every other
//! (`examples/policies/rules/pdb.yaml`, `ingress-conflicts.yaml`).
//!
//! Each object is converted to CEL once per review, a part of it only when an expression reads
//! it, and shared: `object`, `release`, `podSpec` and the values copied into variables or
//! comprehensions are the same values, never copies (see [`values`]).
//!
//! A `scope: release` rule is evaluated once, without `object`, and its finding is about the
//! release as a whole. A rule whose expression cannot be evaluated (a missing field without
//! `has()`, a type error) fails with the rule's verdict: rules fail closed, like a
//! ValidatingAdmissionPolicy with `failurePolicy: Fail`.
//!
//! Every finding's message starts with the rule's name and `: `, so reports and `plumb policy
//! test` can tell rules apart.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use cel::common::types::{CelBool, CelMap, CelNull, CelString};
use cel::common::value::{CowVal, Val};
use cel::{Env, Program};
use plumb_plugin_sdk::schemars::{self, JsonSchema};
use plumb_plugin_sdk::{
    Context, Diagnostic, Finding, Metadata, Operation, Policy, Review, ReviewObject, Verdict, k8s,
};
use serde::Deserialize;
use serde_json::Value;

/// Settings of the `rules` policy.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Settings {
    /// Values every expression can read as `params`.
    #[serde(default)]
    pub params: Option<Value>,
    /// Named expressions evaluated for each object before its rules, readable as
    /// `variables.<name>`; a variable may use the ones before it.
    #[serde(default)]
    pub variables: Vec<Variable>,
    /// The rules, judged in order.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// A named CEL expression.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Variable {
    pub name: String,
    pub expression: String,
}

/// One rule: a CEL expression that must be `true`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Rule {
    /// Short name, shown at the start of every message of this rule.
    pub name: String,
    /// Which objects the rule judges. Default: every object created or updated.
    #[serde(default, rename = "match")]
    pub match_: Match,
    /// CEL; `true` means the object passes.
    pub expression: String,
    /// Shown when the expression is `false`.
    #[serde(default)]
    pub message: Option<String>,
    /// CEL giving the message as a string; wins over `message` when it evaluates.
    #[serde(default)]
    pub message_expression: Option<String>,
    /// What a failure means: `deny` (default) or `warn`.
    #[serde(default)]
    pub verdict: RuleVerdict,
    /// The offending field, as a JSON pointer, for reports.
    #[serde(default)]
    pub field: Option<String>,
    /// `object` (default): judged once per matching object. `release`: judged once, about the
    /// release as a whole, without `object`.
    #[serde(default)]
    pub scope: Scope,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RuleVerdict {
    #[default]
    Deny,
    Warn,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    #[default]
    Object,
    Release,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum MatchOperation {
    Create,
    Update,
    Delete,
}

/// Match criteria; every one given must hold.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Match {
    /// Kinds (`Deployment`, …); `*` or empty: any.
    #[serde(default)]
    pub kinds: Vec<String>,
    /// Namespaces (an object without one is in the app's namespace); empty: any.
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// Namespaces left out.
    #[serde(default)]
    pub exclude_namespaces: Vec<String>,
    /// Labels the object must carry with these values.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Only Pods and workloads with a pod template (then `podSpec` is never null).
    #[serde(default)]
    pub with_pod_spec: bool,
    /// Operations judged. Default: CREATE and UPDATE.
    #[serde(default)]
    pub operations: Vec<MatchOperation>,
    /// CEL that must be `true` for the rule to apply (like a matchCondition).
    #[serde(default)]
    pub condition: Option<String>,
}

pub struct Rules;

impl Policy for Rules {
    type Settings = Settings;

    fn metadata() -> Metadata {
        Metadata::new(
            "rules",
            env!("CARGO_PKG_VERSION"),
            "Policies as data: CEL rules (as in ValidatingAdmissionPolicy) over each object and the whole release",
        )
    }

    fn review(
        objects: &[ReviewObject],
        settings: Settings,
        ctx: &Context,
    ) -> Result<Review, Diagnostic> {
        let compiled = compile(&settings)?;
        let review = compiled.review(objects, ctx);
        // The instance is discarded after the call (see the SDK): tearing the compiled
        // programs down piece by piece would only cost time.
        std::mem::forget(compiled);
        std::mem::forget(settings);
        Ok(review)
    }
}

#[cfg(target_arch = "wasm32")]
plumb_plugin_sdk::export_policy!(Rules);

pub mod functions;
pub mod values;

use values::Shared;

struct CompiledRule<'s> {
    rule: &'s Rule,
    expression: Program,
    message: Option<Program>,
    condition: Option<Program>,
}

/// Settings compiled once per review.
pub struct Compiled<'s> {
    env: Arc<Env>,
    params: Value,
    variables: Vec<CompiledVariable<'s>>,
    rules: Vec<CompiledRule<'s>>,
    /// The variables some expression reads (only those are bound).
    uses: Uses,
}

/// Which of the variables bound for expressions some expression reads.
#[derive(Debug, Default)]
struct Uses {
    release: bool,
    release_by_kind: bool,
    object: bool,
    old_object: bool,
    request: bool,
    pod_spec: bool,
    pod_metadata: bool,
    containers: bool,
}

/// A variable. `variables.NAME` in every expression is rewritten to the plain identifier
/// `__var_NAME` before compiling, so each variable is a binding of its own: one that depends on
/// no object is evaluated and bound once per review (hoisted), and a large one (every PDB of
/// the release) is never copied per object.
struct CompiledVariable<'s> {
    name: &'s str,
    binding: String,
    program: Program,
    hoisted: bool,
}

fn env() -> Result<Env, Diagnostic> {
    let mut env = Env::stdlib();
    for (name, ext) in [
        ("strings", cel::extensions::strings as fn(&mut Env) -> _),
        ("lists", cel::extensions::lists),
        ("math", cel::extensions::math),
    ] {
        env.add_extension(ext)
            .map_err(|e| Diagnostic::new(format!("CEL {name} extension: {e}")))?;
    }
    functions::register(&mut env)
        .map_err(|e| Diagnostic::new(format!("CEL functions of the rules plugin: {e}")))?;
    Ok(env)
}

fn syntax_error(what: &str, source: &str, errs: &cel::ParseErrors) -> Diagnostic {
    let first = errs.errors.first();
    let (line, col) = first
        .map(|e| (e.pos.0.max(1) as u32, e.pos.1.max(1) as u32))
        .unwrap_or((1, 1));
    let msg = first.map(|e| e.msg.as_str()).unwrap_or("syntax error");
    let snippet = source.lines().nth(line as usize - 1).unwrap_or(source);
    Diagnostic::new(format!(
        "{what}: invalid CEL at line {line}, column {col}: {msg}\n  | {snippet}\n  | {:>width$}",
        "^",
        width = col as usize
    ))
    .at(line, Some(col))
}

/// Compiles every expression, failing on the first invalid one with the rule's name, the field
/// and the position (line and column inside the expression as written).
pub fn compile(settings: &Settings) -> Result<Compiled<'_>, Diagnostic> {
    let env = env()?;
    let names: Vec<&str> = settings.variables.iter().map(|v| v.name.as_str()).collect();
    // Parsing is a good part of a review's time: each expression is parsed once, and again
    // only to place an error in the expression as written.
    let compile_one = |what: String, source: &str| -> Result<Program, Diagnostic> {
        let rewritten = rewrite_variables(source, &names);
        env.compile(&rewritten)
            .map_err(|errs| match env.compile(source) {
                Err(errs) => syntax_error(&what, source, &errs),
                Ok(_) => syntax_error(&what, &rewritten, &errs),
            })
    };
    let mut variables: Vec<CompiledVariable> = Vec::new();
    for v in &settings.variables {
        if !is_identifier(&v.name) {
            return Err(Diagnostic::new(format!(
                "variable {:?}: the name must be a CEL identifier (letters, digits, _)",
                v.name
            )));
        }
        if variables.iter().any(|c| c.name == v.name) {
            return Err(Diagnostic::new(format!(
                "variable {:?}: two variables have this name",
                v.name
            )));
        }
        let program = compile_one(format!("variable {:?}", v.name), &v.expression)?;
        let refs = program.references();
        if let Some(later) = names
            .iter()
            .skip(variables.len())
            .find(|n| refs.has_variable(format!("__var_{n}")))
        {
            return Err(Diagnostic::new(format!(
                "variable {:?} uses variables.{later}, which is not defined before it",
                v.name
            )));
        }
        let hoisted = !PER_OBJECT.iter().any(|n| refs.has_variable(n))
            && variables
                .iter()
                .filter(|c| refs.has_variable(&c.binding))
                .all(|c| c.hoisted);
        variables.push(CompiledVariable {
            name: &v.name,
            binding: format!("__var_{}", v.name),
            program,
            hoisted,
        });
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut rules = Vec::new();
    for r in &settings.rules {
        if r.name.trim().is_empty() {
            return Err(Diagnostic::new("every rule needs a name"));
        }
        if !seen.insert(r.name.as_str()) {
            return Err(Diagnostic::new(format!(
                "rule {:?}: two rules have this name",
                r.name
            )));
        }
        let name = &r.name;
        rules.push(CompiledRule {
            rule: r,
            expression: compile_one(format!("rule {name:?} (expression)"), &r.expression)?,
            message: r
                .message_expression
                .as_deref()
                .map(|m| compile_one(format!("rule {name:?} (messageExpression)"), m))
                .transpose()?,
            condition: r
                .match_
                .condition
                .as_deref()
                .map(|m| compile_one(format!("rule {name:?} (match.condition)"), m))
                .transpose()?,
        });
    }
    let programs: Vec<&Program> = variables
        .iter()
        .map(|v| &v.program)
        .chain(rules.iter().flat_map(|r| {
            std::iter::once(&r.expression)
                .chain(r.message.as_ref())
                .chain(r.condition.as_ref())
        }))
        .collect();
    let reads = |name: &str| programs.iter().any(|p| p.references().has_variable(name));
    let uses = Uses {
        release: reads("release"),
        release_by_kind: reads("releaseByKind"),
        object: reads("object"),
        old_object: reads("oldObject"),
        request: reads("request"),
        pod_spec: reads("podSpec"),
        pod_metadata: reads("podMetadata"),
        containers: reads("containers"),
    };
    Ok(Compiled {
        env: Arc::new(env),
        params: settings
            .params
            .clone()
            .unwrap_or_else(|| Value::Object(Default::default())),
        variables,
        rules,
        uses,
    })
}

/// `variables.NAME` → `__var_NAME` for the names given, outside string literals and not after
/// a `.` (a field named `variables` is left alone).
fn rewrite_variables(source: &str, names: &[&str]) -> String {
    let b = source.as_bytes();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut out = String::with_capacity(source.len());
    let mut i = 0;
    let mut prev: u8 = b' ';
    while i < b.len() {
        let c = b[i];
        if c == b'\'' || c == b'"' {
            let triple = b[i..].starts_with(&[c, c, c]);
            let start = i;
            i += if triple { 3 } else { 1 };
            while i < b.len() {
                if b[i] == b'\\' {
                    i += 2;
                } else if triple && b[i..].starts_with(&[c, c, c]) {
                    i += 3;
                    break;
                } else if !triple && b[i] == c {
                    i += 1;
                    break;
                } else {
                    i += 1;
                }
            }
            i = i.min(b.len());
            out.push_str(&source[start..i]);
            prev = c;
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && ident(b[i]) {
                i += 1;
            }
            let word = &source[start..i];
            if word == "variables" && prev != b'.' {
                let mut j = i;
                while j < b.len() && b[j].is_ascii_whitespace() {
                    j += 1;
                }
                if j < b.len() && b[j] == b'.' {
                    j += 1;
                    while j < b.len() && b[j].is_ascii_whitespace() {
                        j += 1;
                    }
                    let f = j;
                    while j < b.len() && ident(b[j]) {
                        j += 1;
                    }
                    if names.contains(&&source[f..j]) {
                        out.push_str("__var_");
                        out.push_str(&source[f..j]);
                        i = j;
                        prev = b'x';
                        continue;
                    }
                }
            }
            out.push_str(word);
            prev = b'x';
            continue;
        }
        let len = source[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&source[i..i + len]);
        if !c.is_ascii_whitespace() {
            prev = c;
        }
        i += len;
    }
    out
}

/// The variables bound per object; an expression using none of them is the same for every
/// object.
const PER_OBJECT: &[&str] = &[
    "object",
    "oldObject",
    "request",
    "podSpec",
    "podMetadata",
    "containers",
];

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A JSON value as a CEL value that borrows its strings from `v` (no copy of the text); its
/// objects and arrays are shared and converted when first looked into (see [`values`]).
/// Integral numbers are `int` (or `uint` past i64), as in Kubernetes CEL.
pub fn to_val(v: &Value) -> Box<dyn Val + '_> {
    values::json(v)
}

/// A map of strings.
fn str_map<'v>(pairs: &[(&'v str, &'v str)]) -> Box<dyn Val + 'v> {
    Box::new(Shared::map(
        pairs
            .iter()
            .map(|&(k, v)| (k, Box::new(CelString::from(v)) as Box<dyn Val + 'v>))
            .collect(),
        None,
    ))
}

fn op_name(op: Operation) -> &'static str {
    match op {
        Operation::Create => "CREATE",
        Operation::Update => "UPDATE",
        Operation::Delete => "DELETE",
    }
}

/// Evaluates `program`, the result borrowing from `scope` where it can.
fn eval<'e, 'v>(
    program: &'e Program,
    scope: &'e cel::Context<'_, 'v>,
) -> Result<CowVal<'e, 'v>, cel::ExecutionError> {
    cel::Value::resolve_val(program.expression(), scope)
}

/// A copy of `v`, or `null`.
fn or_null<'v>(v: Option<&(dyn Val + 'v)>) -> Box<dyn Val + 'v> {
    v.map(|v| v.clone_as_boxed())
        .unwrap_or_else(|| Box::new(CelNull))
}

/// The value at a JSON pointer inside `v` (objects only).
fn at<'b, 'v>(v: &'b (dyn Val + 'v), pointer: &str) -> Option<&'b (dyn Val + 'v)> {
    pointer
        .split('/')
        .skip(1)
        .try_fold(v, |v, key| values::field(v, key))
}

impl Match {
    /// The criteria that need no CEL.
    fn selects(&self, o: &ReviewObject, default_ns: &str) -> bool {
        let (kind, ns, _) = k8s::identity(&o.object, default_ns);
        let op_ok = if self.operations.is_empty() {
            o.operation != Operation::Delete
        } else {
            self.operations.iter().any(|m| {
                matches!(
                    (m, o.operation),
                    (MatchOperation::Create, Operation::Create)
                        | (MatchOperation::Update, Operation::Update)
                        | (MatchOperation::Delete, Operation::Delete)
                )
            })
        };
        op_ok
            && (self.kinds.is_empty() || self.kinds.iter().any(|k| k == "*" || k == kind))
            && (self.namespaces.is_empty() || self.namespaces.iter().any(|n| n == ns))
            && !self.exclude_namespaces.iter().any(|n| n == ns)
            && self
                .labels
                .iter()
                .all(|(k, v)| k8s::label(&o.object, k) == Some(v.as_str()))
            && (!self.with_pod_spec || k8s::pod_template(&o.object).is_some())
    }
}

enum Outcome {
    Pass,
    Fail(String),
}

impl CompiledRule<'_> {
    fn judge(&self, scope: &cel::Context) -> Outcome {
        let name = &self.rule.name;
        match eval(&self.expression, scope) {
            Ok(v) => match v.downcast_ref::<CelBool>().map(|b| *b.inner()) {
                Some(true) => Outcome::Pass,
                Some(false) => {
                    let msg = self
                        .message
                        .as_ref()
                        .and_then(|m| {
                            let v = eval(m, scope).ok()?;
                            v.downcast_ref::<CelString>().map(|s| s.inner().to_string())
                        })
                        .or_else(|| self.rule.message.clone())
                        .unwrap_or_else(|| format!("failed {:?}", self.rule.expression));
                    Outcome::Fail(format!("{name}: {msg}"))
                }
                None => Outcome::Fail(format!(
                    "{name}: the expression gave {}, not a bool; fix the rule",
                    v.get_type().name()
                )),
            },
            Err(e) => Outcome::Fail(format!(
                "{name}: cannot evaluate the rule ({e}); guard optional fields with has()"
            )),
        }
    }

    fn applies(&self, scope: &cel::Context) -> Result<bool, String> {
        match &self.condition {
            None => Ok(true),
            Some(c) => match eval(c, scope) {
                Ok(v) => v
                    .downcast_ref::<CelBool>()
                    .map(|b| *b.inner())
                    .ok_or_else(|| {
                        format!(
                            "{}: match.condition gave {}, not a bool",
                            self.rule.name,
                            v.get_type().name()
                        )
                    }),
                Err(e) => Err(format!(
                    "{}: cannot evaluate match.condition ({e})",
                    self.rule.name
                )),
            },
        }
    }

    fn finding(&self, object: Option<u32>, message: String) -> Finding {
        Finding {
            object,
            verdict: match self.rule.verdict {
                RuleVerdict::Deny => Verdict::Deny,
                RuleVerdict::Warn => Verdict::Warn,
            },
            message,
            field: self.rule.field.clone(),
        }
    }
}

impl Compiled<'_> {
    /// Judges every object (and the release) with every rule.
    pub fn review(&self, objects: &[ReviewObject], ctx: &Context) -> Review {
        let uses = &self.uses;
        let mut review = Review::default();
        let mut root = cel::Context::with_env(self.env.clone());
        // Every object as a CEL value, once: `object`, `release` and `releaseByKind` share them,
        // and each part of an object is converted when an expression first reads it.
        let nodes: Vec<Box<dyn Val + '_>> =
            objects.iter().map(|o| values::json(&o.object)).collect();
        if uses.release {
            root.add_variable_as_val("release", Box::new(Shared::list(nodes.clone())));
        }
        if uses.release_by_kind {
            let mut kinds: Vec<&str> = Vec::new();
            let mut by_kind: HashMap<&str, Vec<Box<dyn Val + '_>>> = HashMap::new();
            for (o, node) in objects.iter().zip(&nodes) {
                let kind = o.object.get("kind").and_then(Value::as_str).unwrap_or("");
                by_kind
                    .entry(kind)
                    .or_insert_with(|| {
                        kinds.push(kind);
                        Vec::new()
                    })
                    .push(node.clone());
            }
            let entries = kinds
                .into_iter()
                .map(|k| {
                    let items = by_kind.remove(k).unwrap_or_default();
                    (k, Box::new(Shared::list(items)) as Box<dyn Val + '_>)
                })
                .collect();
            // A kind the release lacks has no objects: `[]`, not an error.
            let none: Box<dyn Val + '_> = Box::new(Shared::list(Vec::new()));
            root.add_variable_as_val("releaseByKind", Box::new(Shared::map(entries, Some(none))));
        }
        root.add_variable_as_val("params", values::json(&self.params));
        root.add_variable_as_val(
            "app",
            str_map(&[
                ("name", &ctx.app),
                ("namespace", &ctx.namespace),
                ("path", &ctx.path),
                ("revision", &ctx.revision),
            ]),
        );
        // `variables.x` for an undefined x: "no such key", not an undeclared reference.
        root.add_variable_as_val("variables", Box::new(CelMap::from(HashMap::new())));

        // Variables that depend on no object: once per review.
        let mut hoist_error = None;
        for v in self.variables.iter().filter(|v| v.hoisted) {
            match eval(&v.program, &root).map(CowVal::into_owned) {
                Ok(value) => root.add_variable_as_val(v.binding.as_str(), value),
                Err(e) => {
                    hoist_error = Some(format!("cannot evaluate variable {:?} ({e})", v.name));
                    break;
                }
            }
        }

        for rule in self.rules.iter().filter(|r| r.rule.scope == Scope::Release) {
            let outcome = match (&hoist_error, rule.applies(&root)) {
                (Some(e), _) => Outcome::Fail(format!("{}: {e}", rule.rule.name)),
                (None, Ok(false)) => Outcome::Pass,
                (None, Ok(true)) => rule.judge(&root),
                (None, Err(e)) => Outcome::Fail(e),
            };
            if let Outcome::Fail(msg) = outcome {
                review.findings.push(rule.finding(None, msg));
            }
        }

        let object_rules: Vec<&CompiledRule> = self
            .rules
            .iter()
            .filter(|r| r.rule.scope == Scope::Object)
            .collect();
        let mut matching: Vec<&CompiledRule> = Vec::new();
        for (i, (o, node)) in objects.iter().zip(&nodes).enumerate() {
            matching.clear();
            matching.extend(
                object_rules
                    .iter()
                    .filter(|r| r.rule.match_.selects(o, &ctx.namespace)),
            );
            if matching.is_empty() {
                continue;
            }
            // Only what some expression reads is bound.
            let mut scope = root.new_inner_scope();
            if uses.object {
                scope.add_variable_as_val("object", node.clone());
            }
            if uses.old_object {
                scope.add_variable_as_val(
                    "oldObject",
                    o.live
                        .as_ref()
                        .map(values::json)
                        .unwrap_or_else(|| Box::new(CelNull)),
                );
            }
            if uses.request {
                let (kind, ns, name) = k8s::identity(&o.object, &ctx.namespace);
                scope.add_variable_as_val(
                    "request",
                    str_map(&[
                        ("operation", op_name(o.operation)),
                        ("kind", kind),
                        ("namespace", ns),
                        ("name", name),
                    ]),
                );
            }
            if uses.pod_spec || uses.pod_metadata || uses.containers {
                // The pod template's parts, as parts of `object` (not copies).
                let kind = o.object.get("kind").and_then(Value::as_str).unwrap_or("");
                let template = k8s::pod_spec_pointer(kind).and_then(|(meta, spec)| {
                    let spec = at(node.as_ref(), spec).filter(|s| values::entries(*s).is_some())?;
                    Some((at(node.as_ref(), meta), spec))
                });
                if uses.pod_spec {
                    scope.add_variable_as_val("podSpec", or_null(template.map(|t| t.1)));
                }
                if uses.pod_metadata {
                    scope.add_variable_as_val("podMetadata", or_null(template.and_then(|t| t.0)));
                }
                if uses.containers {
                    let containers: Vec<Box<dyn Val + '_>> = template
                        .map(|(_, spec)| {
                            ["initContainers", "containers", "ephemeralContainers"]
                                .into_iter()
                                .filter_map(|list| values::elements(values::field(spec, list)?))
                                .flatten()
                                .cloned()
                                .collect()
                        })
                        .unwrap_or_default();
                    scope.add_variable_as_val("containers", Box::new(Shared::list(containers)));
                }
            }

            // Per-object variables, in order; each may use the ones before it.
            let mut var_error = hoist_error.clone();
            if var_error.is_none() {
                for v in self.variables.iter().filter(|v| !v.hoisted) {
                    match eval(&v.program, &scope).map(CowVal::into_owned) {
                        Ok(value) => scope.add_variable_as_val(v.binding.as_str(), value),
                        Err(e) => {
                            var_error =
                                Some(format!("cannot evaluate variable {:?} ({e})", v.name));
                            break;
                        }
                    }
                }
            }

            let index = Some(i as u32);
            for rule in &matching {
                if let Some(e) = &var_error {
                    review
                        .findings
                        .push(rule.finding(index, format!("{}: {e}", rule.rule.name)));
                    continue;
                }
                let outcome = match rule.applies(&scope) {
                    Ok(false) => Outcome::Pass,
                    Ok(true) => rule.judge(&scope),
                    Err(e) => Outcome::Fail(e),
                };
                if let Outcome::Fail(msg) = outcome {
                    review.findings.push(rule.finding(index, msg));
                }
            }
        }
        // In the plugin, the instance is discarded after the call: no need to free the values
        // one by one.
        #[cfg(target_arch = "wasm32")]
        std::mem::forget((root, nodes));
        review
    }
}

#[cfg(test)]
mod tests;
