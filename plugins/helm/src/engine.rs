//! `helm template`, step by step: dependency checks, enabling and importing, value
//! coalescing, schema validation, parsing and executing every template of every chart in
//! Helm's order with each chart's scoped `.Values`, then splitting and sorting the output.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use crate::chart::Chart;
use crate::error::Error;
use crate::files::Files;
use crate::manifest::{self, Manifest};
use crate::template::exec::{Determinism, Env};
use crate::value::{Caps, KubeVersion, MapType, Obj, Value};

/// What `helm template` is told on its command line.
pub struct Options {
    pub release_name: String,
    pub namespace: String,
    pub include_crds: bool,
    pub skip_tests: bool,
    pub skip_schema_validation: bool,
    pub kube_version: Option<String>,
    pub api_versions: Vec<String>,
    /// The fixed clock (seconds since the epoch).
    pub now: i64,
}

/// Helm 4.1.4's built-in API versions (`helm template` offline defaults), in its order.
pub const DEFAULT_API_VERSIONS: &[&str] = &[
    "v1",
    "admissionregistration.k8s.io/v1",
    "admissionregistration.k8s.io/v1alpha1",
    "admissionregistration.k8s.io/v1beta1",
    "internal.apiserver.k8s.io/v1alpha1",
    "apps/v1",
    "apps/v1beta1",
    "apps/v1beta2",
    "authentication.k8s.io/v1",
    "authentication.k8s.io/v1alpha1",
    "authentication.k8s.io/v1beta1",
    "authorization.k8s.io/v1",
    "authorization.k8s.io/v1beta1",
    "autoscaling/v1",
    "autoscaling/v2",
    "autoscaling/v2beta1",
    "autoscaling/v2beta2",
    "batch/v1",
    "batch/v1beta1",
    "certificates.k8s.io/v1",
    "certificates.k8s.io/v1beta1",
    "certificates.k8s.io/v1alpha1",
    "coordination.k8s.io/v1alpha2",
    "coordination.k8s.io/v1beta1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "discovery.k8s.io/v1beta1",
    "events.k8s.io/v1",
    "events.k8s.io/v1beta1",
    "extensions/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1beta2",
    "flowcontrol.apiserver.k8s.io/v1beta3",
    "networking.k8s.io/v1",
    "networking.k8s.io/v1beta1",
    "node.k8s.io/v1",
    "node.k8s.io/v1alpha1",
    "node.k8s.io/v1beta1",
    "policy/v1",
    "policy/v1beta1",
    "rbac.authorization.k8s.io/v1",
    "rbac.authorization.k8s.io/v1beta1",
    "rbac.authorization.k8s.io/v1alpha1",
    "resource.k8s.io/v1",
    "resource.k8s.io/v1beta2",
    "resource.k8s.io/v1beta1",
    "resource.k8s.io/v1alpha3",
    "scheduling.k8s.io/v1alpha1",
    "scheduling.k8s.io/v1beta1",
    "scheduling.k8s.io/v1",
    "storage.k8s.io/v1beta1",
    "storage.k8s.io/v1",
    "storage.k8s.io/v1alpha1",
    "storagemigration.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1",
];

pub const DEFAULT_KUBE_VERSION: &str = "v1.35.0";

/// The output of a render, in `helm template`'s order.
pub struct Output {
    /// (Source path, document text), CRDs first when included, then manifests, then hooks.
    pub documents: Vec<(String, String)>,
    /// Where each template key's file lives, root-relative (for diagnostics).
    pub origins: BTreeMap<String, String>,
}

fn parse_kube_version(v: &str) -> Result<KubeVersion, String> {
    let s = v.trim_start_matches('v');
    let mut parts = s.splitn(3, '.');
    let major = parts.next().unwrap_or("");
    let minor = parts.next().unwrap_or("");
    let rest = parts.next().unwrap_or("0");
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    let patch: String = rest.chars().take_while(char::is_ascii_digit).collect();
    if !digits(major) || !digits(minor) || patch.is_empty() && !rest.is_empty() {
        return Err(format!("could not parse a kubernetes version: {v:?}"));
    }
    let norm = |x: &str| x.trim_start_matches('0').to_string();
    let n = |x: &str| {
        if norm(x).is_empty() {
            "0".to_string()
        } else {
            norm(x)
        }
    };
    let patch = if patch.is_empty() {
        "0".to_string()
    } else {
        n(&patch)
    };
    let version = if v.starts_with('v') {
        v.to_string()
    } else {
        format!("v{v}")
    };
    Ok(KubeVersion {
        version,
        normalized: format!("v{}.{}.{}", n(major), n(minor), patch),
        major: n(major),
        minor: n(minor),
    })
}

fn release_value(o: &Options) -> Value {
    let mut m = BTreeMap::new();
    m.insert("Name".into(), Value::str(o.release_name.as_str()));
    m.insert("Namespace".into(), Value::str(o.namespace.as_str()));
    m.insert("IsUpgrade".into(), Value::Bool(false));
    m.insert("IsInstall".into(), Value::Bool(true));
    m.insert("Revision".into(), Value::int(1));
    m.insert("Service".into(), Value::str("Helm"));
    Value::new_map(m)
}

fn str_list(items: &[String]) -> Value {
    Value::list(items.iter().map(|s| Value::str(s.as_str())).collect())
}

/// `MetadataAsMap` plus `IsRoot`, as `.Chart` shows it.
fn chart_value(c: &Chart) -> Value {
    let md = &c.metadata;
    let mut m = BTreeMap::new();
    m.insert("APIVersion".into(), Value::str(md.api_version.as_str()));
    let ann: BTreeMap<String, Value> = md
        .annotations
        .iter()
        .map(|(k, v)| (k.clone(), Value::str(v.as_str())))
        .collect();
    m.insert(
        "Annotations".into(),
        Value::Map(Rc::new(RefCell::new(ann)), MapType::Str),
    );
    m.insert("AppVersion".into(), Value::str(md.app_version.as_str()));
    m.insert("Condition".into(), Value::str(md.condition.as_str()));
    let deps: Vec<Value> = md
        .dependencies
        .iter()
        .map(|d| {
            let mut dm = BTreeMap::new();
            dm.insert("Alias".into(), Value::str(d.alias.as_str()));
            dm.insert("Condition".into(), Value::str(d.condition.as_str()));
            dm.insert("Enabled".into(), Value::Bool(d.enabled));
            dm.insert("ImportValues".into(), Value::list(d.import_values.clone()));
            dm.insert("Name".into(), Value::str(d.name.as_str()));
            dm.insert("Repository".into(), Value::str(d.repository.as_str()));
            dm.insert("Tags".into(), str_list(&d.tags));
            dm.insert("Version".into(), Value::str(d.version.as_str()));
            Value::new_map(dm)
        })
        .collect();
    m.insert("Dependencies".into(), Value::list(deps));
    m.insert("Deprecated".into(), Value::Bool(md.deprecated));
    m.insert("Description".into(), Value::str(md.description.as_str()));
    m.insert("Home".into(), Value::str(md.home.as_str()));
    m.insert("Icon".into(), Value::str(md.icon.as_str()));
    m.insert("IsRoot".into(), Value::Bool(c.is_root));
    m.insert("Keywords".into(), str_list(&md.keywords));
    m.insert("KubeVersion".into(), Value::str(md.kube_version.as_str()));
    let maint: Vec<Value> = md
        .maintainers
        .iter()
        .map(|x| {
            let mut mm = BTreeMap::new();
            mm.insert("Email".into(), Value::str(x.email.as_str()));
            mm.insert("Name".into(), Value::str(x.name.as_str()));
            mm.insert("URL".into(), Value::str(x.url.as_str()));
            Value::new_map(mm)
        })
        .collect();
    m.insert("Maintainers".into(), Value::list(maint));
    m.insert("Name".into(), Value::str(md.name.as_str()));
    m.insert("Sources".into(), str_list(&md.sources));
    m.insert("Tags".into(), Value::str(md.tags.as_str()));
    m.insert("Type".into(), Value::str(md.chart_type.as_str()));
    m.insert("Version".into(), Value::str(md.version.as_str()));
    Value::new_map(m)
}

fn set_full_paths(c: &mut Chart, parent: Option<&str>) {
    c.full_path = match parent {
        None => c.name().to_string(),
        Some(p) => format!("{p}/charts/{}", c.name()),
    };
    c.is_root = parent.is_none();
    let fp = c.full_path.clone();
    for d in &mut c.dependencies {
        set_full_paths(d, Some(&fp));
    }
}

struct Tpl {
    text: String,
    scope: Value,
    base_path: String,
}

/// `recAllTpls`: every template with the scope (`next` map) of its chart.
fn all_templates(
    c: &Chart,
    parent: &Value,
    top_values: &Value,
    out: &mut BTreeMap<String, Tpl>,
    origins: &mut BTreeMap<String, String>,
) -> Value {
    let get = |k: &str| {
        parent
            .as_map()
            .and_then(|m| m.borrow().get(k).cloned())
            .unwrap_or(Value::Nil)
    };
    let files: BTreeMap<String, Rc<[u8]>> = c
        .files
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let values = if c.is_root {
        top_values.clone()
    } else {
        let parent_values = get("Values");
        match parent_values
            .as_table()
            .and_then(|m| m.borrow().get(c.name()).cloned())
        {
            Some(Value::Map(m, _)) => Value::Map(m, MapType::Values),
            _ => Value::Map(Rc::new(RefCell::new(BTreeMap::new())), MapType::Values),
        }
    };
    let subcharts = Value::empty_map();
    let mut next = BTreeMap::new();
    next.insert("Chart".to_string(), chart_value(c));
    next.insert(
        "Files".to_string(),
        Value::Obj(Rc::new(Obj::Files(Files::new(files)))),
    );
    next.insert("Release".to_string(), get("Release"));
    next.insert("Capabilities".to_string(), get("Capabilities"));
    next.insert("Values".to_string(), values);
    next.insert("Subcharts".to_string(), subcharts.clone());
    let next = Value::Map(Rc::new(RefCell::new(next)), MapType::Values);
    for child in &c.dependencies {
        let sub = all_templates(child, &next, top_values, out, origins);
        if let Some(m) = subcharts.as_map() {
            m.borrow_mut().insert(child.name().to_string(), sub);
        }
    }
    for (name, data) in &c.templates {
        if c.is_library() && !name.rsplit('/').next().unwrap_or("").starts_with('_') {
            continue;
        }
        let key = format!("{}/{}", c.full_path, name);
        origins.insert(key.clone(), c.origin.file(name));
        out.insert(
            key,
            Tpl {
                text: utf8(data),
                scope: next.clone(),
                base_path: format!("{}/templates", c.full_path),
            },
        );
    }
    next
}

/// A file's text; invalid UTF-8 is replaced (Go would keep the bytes).
fn utf8(data: &[u8]) -> String {
    match std::str::from_utf8(data) {
        Ok(s) => s.to_string(),
        Err(_) => String::from_utf8_lossy(data).into_owned(),
    }
}

/// Helm's parse/render order: deepest paths first, then reverse lexicographic.
fn sort_templates(keys: &mut [String]) {
    keys.sort_by(|a, b| {
        let (ca, cb) = (a.matches('/').count(), b.matches('/').count());
        cb.cmp(&ca).then_with(|| b.cmp(a))
    });
}

/// Location (`NAME:LINE[:COL]`) named first in a Go template error.
fn first_location(msg: &str) -> Option<(String, u32)> {
    let rest = msg.strip_prefix("template: ")?;
    let loc = rest.split(": ").next()?;
    let mut parts = loc.rsplitn(3, ':');
    let a = parts.next()?;
    let b = parts.next()?;
    match parts.next() {
        Some(name) => Some((name.to_string(), b.parse().ok()?)),
        None => Some((b.to_string(), a.parse().ok()?)),
    }
}

fn template_error(
    message: String,
    loc: Option<(String, u32)>,
    origins: &BTreeMap<String, String>,
) -> Error {
    let (file, line) = match loc {
        Some((name, line)) => (origins.get(&name).cloned(), Some(line)),
        None => (None, None),
    };
    Error::Template {
        file,
        line,
        message,
    }
}

/// Helm's `cleanupExecError`: `required`/`fail` messages become
/// `execution error at (LOC): MESSAGE`.
fn cleanup_exec_error(filename: &str, err: &str) -> String {
    let tokens: Vec<&str> = err.splitn(3, ": ").collect();
    if tokens.len() != 3 {
        return format!("execution error in ({filename}): {err}");
    }
    let location = tokens[1];
    let start = crate::funcs::WARN_START;
    let end = crate::funcs::WARN_END;
    if let Some(s) = tokens[2].find(start)
        && let Some(e) = tokens[2].rfind(end)
        && e >= s + start.len()
    {
        return format!(
            "execution error at ({location}): {}",
            &tokens[2][s + start.len()..e]
        );
    }
    format_exec_error(err)
}

/// Helm 4's layout of execution errors: `LOC\n  executing NAME at <CTX>:\n    MESSAGE`, with
/// errors of nested `include`s laid out the same way below; errors of other function calls
/// keep Go's one-line form.
fn format_exec_error(err: &str) -> String {
    let Some(rest) = err.strip_prefix("template: ") else {
        return err.to_string();
    };
    let Some(exec_at) = rest.find(": executing \"") else {
        return err.to_string();
    };
    let loc = &rest[..exec_at];
    let after = &rest[exec_at + 2..];
    let Some(at) = after.find(" at <") else {
        return err.to_string();
    };
    let Some(close) = after[at..].find(">: ").map(|i| at + i) else {
        return err.to_string();
    };
    let head = &after[..close + 1];
    let msg = &after[close + 3..];
    if let Some(inner) = msg.strip_prefix("error calling include: ") {
        return format!(
            "{loc}\n  {head}:\n    error calling include:\n{}",
            format_exec_error(inner)
        );
    }
    if msg.starts_with("error calling ") {
        return err.to_string();
    }
    format!("{loc}\n  {head}:\n    {msg}")
}

fn cleanup_parse_error(filename: &str, err: &str) -> String {
    let tokens: Vec<&str> = err.split(": ").collect();
    if tokens.len() == 1 {
        return format!("parse error in ({filename}): {err}");
    }
    format!(
        "parse error at ({}): {}",
        tokens[1],
        tokens[tokens.len() - 1]
    )
}

fn check_dependencies(c: &Chart) -> Result<(), Error> {
    let missing: Vec<&str> = c
        .metadata
        .dependencies
        .iter()
        .filter(|r| !c.dependencies.iter().any(|d| d.name() == r.name))
        .map(|r| r.name.as_str())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::Other {
        file: Some(c.origin.file("Chart.yaml")),
        message: format!(
            "an error occurred while checking for chart dependencies. You may need to run `helm dependency build` to fetch \
             missing dependencies: found in Chart.yaml, but missing in charts/ directory: {}. plumb renders offline and \
             never downloads charts: run `helm dependency build` in the chart directory and commit the charts/ \
             directory it fills (the .tgz archives) next to Chart.yaml",
            missing.join(", ")
        ),
    })
}

/// Renders `chart` (the root chart, freshly loaded) with the user's values.
pub fn render(mut chart: Chart, user_values: &Value, opts: &Options) -> Result<Output, Error> {
    let chart_file = chart.origin.file("Chart.yaml");
    if chart.is_library() {
        return Err(Error::Other {
            file: Some(chart_file),
            message: "library charts are not installable".into(),
        });
    }
    check_dependencies(&chart)?;
    let kube = parse_kube_version(opts.kube_version.as_deref().unwrap_or(DEFAULT_KUBE_VERSION))
        .map_err(Error::other)?;
    if !chart.metadata.kube_version.is_empty() {
        let ok = crate::semver::semver_compare(&chart.metadata.kube_version, &kube.normalized)
            .unwrap_or(false);
        if !ok {
            return Err(Error::Other {
                file: Some(chart_file),
                message: format!(
                    "chart requires kubeVersion: {} which is incompatible with Kubernetes {}",
                    chart.metadata.kube_version, kube.normalized
                ),
            });
        }
    }
    chart.is_root = true;
    crate::values::process_dependency_enabled(&mut chart, user_values, "").map_err(Error::other)?;
    crate::values::process_import_values(&mut chart).map_err(Error::other)?;
    set_full_paths(&mut chart, None);

    let mut api_versions: Vec<Value> = DEFAULT_API_VERSIONS
        .iter()
        .map(|s| Value::str(*s))
        .collect();
    for a in &opts.api_versions {
        api_versions.push(Value::str(a.as_str()));
    }
    let caps = Value::Obj(Rc::new(Obj::Caps(Caps {
        kube_version: Rc::new(Obj::KubeVersion(kube)),
        api_versions: Rc::from(api_versions),
    })));

    let vals = crate::values::coalesce_chart(&chart, user_values, false).map_err(Error::other)?;
    if !opts.skip_schema_validation
        && let Err(report) = crate::schema::validate(&chart, &vals)
    {
        return Err(Error::Other {
            file: chart
                .schema
                .as_ref()
                .map(|_| chart.origin.file("values.schema.json")),
            message: format!(
                "values don't meet the specifications of the schema(s) in the following chart(s):\n{report}"
            ),
        });
    }
    let top_values = match vals {
        Value::Map(m, _) => Value::Map(m, MapType::Values),
        other => other,
    };
    let mut top = BTreeMap::new();
    top.insert("Release".to_string(), release_value(opts));
    top.insert("Capabilities".to_string(), caps);
    let top = Value::new_map(top);

    let mut tpls = BTreeMap::new();
    let mut origins = BTreeMap::new();
    all_templates(&chart, &top, &top_values, &mut tpls, &mut origins);
    let mut keys: Vec<String> = tpls.keys().cloned().collect();
    sort_templates(&mut keys);

    let seed = seed_of(&opts.release_name, &opts.namespace, chart.name());
    let mut env = Env::new(Determinism::new(opts.now, seed));
    for k in &keys {
        if let Some(t) = tpls.get(k)
            && let Err(e) = env.add_file(k, &t.text)
        {
            let loc = first_location(&e.message).or_else(|| Some((k.clone(), e.line as u32)));
            return Err(template_error(
                cleanup_parse_error(k, &e.message),
                loc,
                &origins,
            ));
        }
    }
    let mut rendered: Vec<(String, String)> = Vec::new();
    for k in &keys {
        if k.rsplit('/').next().unwrap_or("").starts_with('_') {
            continue;
        }
        let Some(t) = tpls.get(k) else { continue };
        if let Some(m) = t.scope.as_map() {
            let mut tm = BTreeMap::new();
            tm.insert("Name".to_string(), Value::str(k.as_str()));
            tm.insert("BasePath".to_string(), Value::str(t.base_path.as_str()));
            m.borrow_mut().insert(
                "Template".to_string(),
                Value::Map(Rc::new(RefCell::new(tm)), MapType::Values),
            );
        }
        match env.execute(k, t.scope.clone()) {
            Ok(out) => rendered.push((k.clone(), out.replace("<no value>", ""))),
            Err(e) => {
                let loc = first_location(&e.message);
                return Err(template_error(
                    cleanup_exec_error(k, &e.message),
                    loc,
                    &origins,
                ));
            }
        }
    }
    // NOTES.txt is never part of the manifest.
    rendered.retain(|(k, _)| !k.ends_with("NOTES.txt"));
    let (generic, hooks) =
        manifest::sort_manifests(rendered).map_err(|(path, message)| Error::Template {
            file: origins.get(&path).cloned(),
            line: None,
            message,
        })?;

    let mut documents = Vec::new();
    if opts.include_crds {
        let mut crds = Vec::new();
        chart.crd_objects(&mut crds);
        for (path, data) in crds {
            documents.push((path, String::from_utf8_lossy(&data).into_owned()));
        }
    }
    for Manifest { path, content, .. } in generic {
        documents.push((path, content));
    }
    for h in hooks {
        if opts.skip_tests && h.is_test_hook() {
            continue;
        }
        documents.push((h.path, h.content));
    }
    let mut all_origins = origins;
    collect_crd_origins(&chart, &mut all_origins);
    Ok(Output {
        documents,
        origins: all_origins,
    })
}

fn collect_crd_origins(c: &Chart, out: &mut BTreeMap<String, String>) {
    for (name, _) in &c.files {
        if name.starts_with("crds/") {
            out.insert(format!("{}/{}", c.full_path, name), c.origin.file(name));
        }
    }
    for d in &c.dependencies {
        collect_crd_origins(d, out);
    }
}

/// The seed of the deterministic "random" functions: stable for a release, different
/// between releases.
fn seed_of(release: &str, namespace: &str, chart: &str) -> u64 {
    use sha2::Digest as _;
    let d = sha2::Sha256::digest(format!("{release}\0{namespace}\0{chart}").as_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&d[..8]);
    u64::from_le_bytes(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_order_is_helms() {
        let mut k = vec![
            "a/templates/x.yaml".to_string(),
            "a/charts/b/templates/y.yaml".to_string(),
            "a/templates/_h.tpl".to_string(),
        ];
        sort_templates(&mut k);
        assert_eq!(
            k,
            [
                "a/charts/b/templates/y.yaml",
                "a/templates/x.yaml",
                "a/templates/_h.tpl"
            ]
        );
    }

    #[test]
    fn lays_out_exec_errors_like_helm_4() {
        let e = "template: c/templates/x.yaml:1:6: executing \"c/templates/x.yaml\" at <include \"inc\" .>: error calling include: template: c/templates/_h.tpl:1:29: executing \"inc\" at <.Values.a.b.c>: nil pointer evaluating interface {}.b";
        assert_eq!(
            format_exec_error(e),
            "c/templates/x.yaml:1:6\n  executing \"c/templates/x.yaml\" at <include \"inc\" .>:\n    error calling include:\nc/templates/_h.tpl:1:29\n  executing \"inc\" at <.Values.a.b.c>:\n    nil pointer evaluating interface {}.b"
        );
        let e = "template: c/t.yaml:1:6: executing \"c/t.yaml\" at <lt 1 \"x\">: error calling lt: incompatible types for comparison: int and string";
        assert_eq!(format_exec_error(e), e);
    }

    #[test]
    fn cleans_up_errors_like_helm() {
        let e = "template: c/templates/x.yaml:3:5: executing \"c/templates/x.yaml\" at <required \"m\" .Values.x>: error calling required: HELM_ERR_STARTneed xHELM_ERR_END";
        assert_eq!(
            cleanup_exec_error("c/templates/x.yaml", e),
            "execution error at (c/templates/x.yaml:3:5): need x"
        );
        assert_eq!(
            first_location(e),
            Some(("c/templates/x.yaml".to_string(), 3))
        );
        assert_eq!(
            cleanup_parse_error(
                "c/t.yaml",
                "template: c/t.yaml:2: function \"x\" not defined"
            ),
            "parse error at (c/t.yaml:2): function \"x\" not defined"
        );
    }
}
