//! `plumb policy check`: render an app and run its policies, without a cluster; and the reports
//! of a [`Decision`] as text, JSON and SARIF.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::{Decision, Effect, Violation};
use crate::app::{App, AppError};
use crate::plugin::PluginHost;
use crate::render::{self, Release};

/// A rendered release and the gate's decision about it.
#[derive(Debug, Clone)]
pub struct Checked {
    pub release: Release,
    pub decision: Decision,
}

/// Renders `app` and judges it with the policies its spec lists (every object as a create).
pub fn check(host: &PluginHost, app: &App) -> Result<Checked, AppError> {
    let (renderer, settings) = app.renderer(host)?;
    let context = app.context();
    let release = render::render(&renderer, &settings, &context, app.tree.clone())?;
    let policies = super::load(host, &app.spec.policies, &app.base_dir);
    let decision = super::evaluate_release(&policies, &release, &context);
    Ok(Checked { release, decision })
}

/// The rule a finding comes from, by the convention of plumb's policies: a message starting
/// with `rule-name: `.
pub fn rule_of(message: &str) -> Option<&str> {
    let (head, _) = message.split_once(": ")?;
    (!head.is_empty()
        && head
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/')))
    .then_some(head)
}

fn label(e: Effect) -> &'static str {
    match e {
        Effect::Deny => "DENY ",
        Effect::Warn => "WARN ",
        Effect::Audit => "AUDIT",
    }
}

/// The human report: one line per finding (object with its source file, policy, message),
/// mutations, a line per policy, and the verdict.
pub fn to_text(d: &Decision) -> String {
    let mut out = String::new();
    let mut sorted: Vec<&Violation> = d.violations.iter().collect();
    sorted.sort_by_key(|v| std::cmp::Reverse(v.effect));
    for v in sorted {
        let _ = writeln!(out, "{} {v}", label(v.effect));
    }
    for m in &d.mutations {
        let _ = writeln!(
            out,
            "{} {}: policy {}: {}",
            if m.applied { "MUTATE" } else { "WOULD-MUTATE" },
            m.target,
            m.policy,
            m.reason
        );
    }
    if !d.violations.is_empty() || !d.mutations.is_empty() {
        out.push('\n');
    }
    for p in &d.policies {
        let what = match &p.error {
            Some(_) => "could not judge".to_string(),
            None => format!(
                "{} denied, {} warned, {} audited, {} exempted, {} mutations",
                p.denials, p.warnings, p.audits, p.exempted, p.mutations
            ),
        };
        let _ = writeln!(
            out,
            "policy {} ({}{}): {what}",
            p.name,
            mode_str(p.mode),
            p.plugin
                .as_deref()
                .map(|s| format!(", {s}"))
                .unwrap_or_default()
        );
    }
    let denials = d.denials().count();
    let warnings = d.warnings().count();
    if d.allowed {
        let _ = writeln!(
            out,
            "ALLOWED: {} objects of {} pass ({warnings} warnings, {} mutations, {} review rounds)",
            d.objects.len(),
            d.app,
            d.mutations.iter().filter(|m| m.applied).count(),
            d.rounds
        );
    } else {
        let _ = writeln!(
            out,
            "DENIED: {denials} enforced denials; nothing of {} may be applied",
            d.app
        );
    }
    out
}

fn mode_str(m: crate::spec::PolicyMode) -> &'static str {
    match m {
        crate::spec::PolicyMode::Enforce => "enforce",
        crate::spec::PolicyMode::Warn => "warn",
        crate::spec::PolicyMode::Audit => "audit",
    }
}

/// SARIF 2.1.0: one result per finding, located at the object's source file (relative to the
/// source root, `uri_prefix` prepended) and named by the object.
pub fn to_sarif(d: &Decision, uri_prefix: &str) -> Value {
    let mut rules: Vec<String> = Vec::new();
    let results: Vec<Value> = d
        .violations
        .iter()
        .map(|v| {
            let id = sarif_rule_id(&v.policy, &v.message);
            if !rules.contains(&id) {
                rules.push(id.clone());
            }
            let mut location = json!({});
            if let Some(t) = &v.target {
                if let Some(o) = &t.origin {
                    location["physicalLocation"] =
                        json!({"artifactLocation": {"uri": format!("{uri_prefix}{o}")}});
                }
                location["logicalLocations"] = json!([{
                    "fullyQualifiedName": format!("{}/{}/{}", t.kind, t.namespace.as_deref().unwrap_or(""), t.name),
                    "kind": "object"
                }]);
            }
            let mut r = json!({
                "ruleId": id,
                "level": sarif_level(v.effect),
                "kind": "fail",
                "message": {"text": v.to_string()},
                "properties": {"policy": v.policy, "mode": mode_str(v.mode), "effect": v.effect.as_str()},
            });
            if location.as_object().is_some_and(|m| !m.is_empty()) {
                r["locations"] = json!([location]);
            }
            r
        })
        .collect();
    sarif_log(rules, results)
}

pub(crate) fn sarif_rule_id(policy: &str, message: &str) -> String {
    match rule_of(message) {
        Some(rule) => format!("{policy}/{rule}"),
        None => policy.to_string(),
    }
}

pub(crate) fn sarif_level(e: Effect) -> &'static str {
    match e {
        Effect::Deny => "error",
        Effect::Warn => "warning",
        Effect::Audit => "note",
    }
}

pub(crate) fn sarif_log(rules: Vec<String>, results: Vec<Value>) -> Value {
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "plumb",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules.iter().map(|r| json!({"id": r, "shortDescription": {"text": r}})).collect::<Vec<_>>(),
            }},
            "results": results,
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::rule_of;

    #[test]
    fn rules_are_the_message_prefix() {
        assert_eq!(rule_of("no-latest: image x"), Some("no-latest"));
        assert_eq!(rule_of("the policy could not judge: x"), None);
        assert_eq!(rule_of("plain message"), None);
    }
}
