//! `team-owner`: an example policy a team writes in Rust, builds to a WebAssembly component and
//! uses from its app spec by path, pinned by sha256 — without recompiling plumb.
//!
//! Every object must name the team that owns it in a label (`team` by default), and the team
//! must be one of `teams` when that list is given. With `defaultTeam`, an object without the
//! label is not denied: the policy asks plumb to add the label (a JSON-Patch mutation), and
//! plumb records who changed what and why.
//!
//! Build: `cargo build --target wasm32-wasip2 --release -p plumb-policy-team-owner`.

use plumb_plugin_sdk::schemars::{self, JsonSchema};
use plumb_plugin_sdk::{
    Context, Diagnostic, Finding, Metadata, Mutation, Operation, Policy, Review, ReviewObject,
    Verdict, k8s,
};
use serde::Deserialize;
use serde_json::{Value, json};

/// Settings of `team-owner`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Settings {
    /// The label naming the owning team.
    #[serde(default = "default_label")]
    pub label: String,
    /// The teams that may own objects (empty: any team).
    #[serde(default)]
    pub teams: Vec<String>,
    /// Add the label with this team when it is missing, instead of denying.
    #[serde(default)]
    pub default_team: Option<String>,
    /// Kinds left alone (e.g. `Namespace`).
    #[serde(default)]
    pub skip_kinds: Vec<String>,
}

fn default_label() -> String {
    "team".into()
}

pub struct TeamOwner;

impl Policy for TeamOwner {
    type Settings = Settings;

    fn metadata() -> Metadata {
        Metadata::new(
            "team-owner",
            env!("CARGO_PKG_VERSION"),
            "Every object names its owning team in a label (example policy written in Rust)",
        )
    }

    fn review(
        objects: &[ReviewObject],
        settings: Settings,
        _ctx: &Context,
    ) -> Result<Review, Diagnostic> {
        if settings.label.is_empty() {
            return Err(Diagnostic::new("settings.label must not be empty"));
        }
        Ok(review(objects, &settings))
    }
}

#[cfg(target_arch = "wasm32")]
plumb_plugin_sdk::export_policy!(TeamOwner);

/// `key` escaped for use in a JSON pointer.
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

pub fn review(objects: &[ReviewObject], s: &Settings) -> Review {
    let mut review = Review::default();
    for (i, o) in objects.iter().enumerate() {
        if o.operation == Operation::Delete {
            continue;
        }
        let kind = o.object.get("kind").and_then(Value::as_str).unwrap_or("");
        if s.skip_kinds.iter().any(|k| k == kind) {
            continue;
        }
        let i = i as u32;
        match k8s::label(&o.object, &s.label) {
            Some(team) if !team.is_empty() => {
                if !s.teams.is_empty() && !s.teams.iter().any(|t| t == team) {
                    review.findings.push(Finding {
                        object: Some(i),
                        verdict: Verdict::Deny,
                        message: format!(
                            "team-owner: team {team:?} is not one of the known teams ({})",
                            s.teams.join(", ")
                        ),
                        field: Some(format!("/metadata/labels/{}", escape(&s.label))),
                    });
                }
            }
            _ => match &s.default_team {
                Some(team) => {
                    let patch = if o
                        .object
                        .pointer("/metadata/labels")
                        .is_some_and(Value::is_object)
                    {
                        json!([{"op": "add", "path": format!("/metadata/labels/{}", escape(&s.label)), "value": team}])
                    } else {
                        json!([{"op": "add", "path": "/metadata/labels", "value": {s.label.clone(): team}}])
                    };
                    review.mutations.push(Mutation {
                        object: i,
                        patch,
                        reason: format!("default owner: label {}={team}", s.label),
                    });
                }
                None => review.findings.push(Finding {
                    object: Some(i),
                    verdict: Verdict::Deny,
                    message: format!(
                        "team-owner: no {:?} label; name the team that owns this {kind}",
                        s.label
                    ),
                    field: Some("/metadata/labels".into()),
                }),
            },
        }
    }
    review
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(v: Value) -> Settings {
        serde_json::from_value(v).expect("settings")
    }

    fn objs(v: Vec<Value>) -> Vec<ReviewObject> {
        v.into_iter()
            .map(|object| ReviewObject {
                object,
                live: None,
                operation: Operation::Create,
            })
            .collect()
    }

    #[test]
    fn denies_objects_without_an_owner() {
        let r = review(
            &objs(vec![
                json!({"kind": "ConfigMap", "metadata": {"name": "a", "labels": {"team": "shop"}}}),
                json!({"kind": "ConfigMap", "metadata": {"name": "b"}}),
            ]),
            &settings(json!({})),
        );
        assert_eq!(r.findings.len(), 1);
        assert_eq!(r.findings[0].object, Some(1));
        assert_eq!(
            r.findings[0].message,
            "team-owner: no \"team\" label; name the team that owns this ConfigMap"
        );
    }

    #[test]
    fn denies_unknown_teams() {
        let r = review(
            &objs(vec![
                json!({"kind": "ConfigMap", "metadata": {"name": "a", "labels": {"team": "ghost"}}}),
            ]),
            &settings(json!({"teams": ["shop", "payments"]})),
        );
        assert!(r.findings[0].message.contains("\"ghost\" is not one of"));
    }

    #[test]
    fn defaults_the_owner_with_a_patch() {
        let r = review(
            &objs(vec![
                json!({"kind": "ConfigMap", "metadata": {"name": "a"}}),
                json!({"kind": "ConfigMap", "metadata": {"name": "b", "labels": {"x": "y"}}}),
                json!({"kind": "Namespace", "metadata": {"name": "n"}}),
            ]),
            &settings(
                json!({"defaultTeam": "shop", "label": "example.com/team", "skipKinds": ["Namespace"]}),
            ),
        );
        assert!(r.findings.is_empty());
        assert_eq!(r.mutations.len(), 2);
        assert_eq!(
            r.mutations[0].patch,
            json!([{"op": "add", "path": "/metadata/labels", "value": {"example.com/team": "shop"}}])
        );
        assert_eq!(
            r.mutations[1].patch,
            json!([{"op": "add", "path": "/metadata/labels/example.com~1team", "value": "shop"}])
        );
        assert_eq!(
            r.mutations[1].reason,
            "default owner: label example.com/team=shop"
        );
    }
}
