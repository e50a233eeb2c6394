//! A policy that misbehaves in the way its settings ask, so tests can prove the policy gate
//! fails closed and plumb survives. Never shipped: only the tests load it.

use plumb_plugin_sdk::schemars::{self, JsonSchema};
use plumb_plugin_sdk::{
    Context, Diagnostic, Finding, Metadata, Mutation, Policy, Review, ReviewObject, Verdict,
};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case", tag = "mode")]
pub enum Settings {
    /// Allow everything.
    Allow,
    /// Deny every object, and the release.
    DenyAll,
    /// Spin forever.
    Loop,
    /// Panic (a trap).
    Panic,
    /// Return an error.
    Error,
    /// Name an object that does not exist.
    BadIndex,
    /// A patch that cannot apply.
    BadPatch,
    /// A patch renaming the object.
    Rename,
    /// Bump an annotation on every call: never converges.
    Churn,
}

pub struct HostilePolicy;

impl Policy for HostilePolicy {
    type Settings = Settings;

    fn metadata() -> Metadata {
        Metadata::new(
            "hostile-policy",
            "0.1.0",
            "a policy that misbehaves on request (tests only)",
        )
    }

    fn review(
        objects: &[ReviewObject],
        settings: Settings,
        _ctx: &Context,
    ) -> Result<Review, Diagnostic> {
        let mut r = Review::default();
        match settings {
            Settings::Allow => {}
            Settings::DenyAll => {
                for i in 0..objects.len() {
                    r.findings.push(Finding {
                        object: Some(i as u32),
                        verdict: Verdict::Deny,
                        message: "deny-all: denied".into(),
                        field: None,
                    });
                }
                r.findings.push(Finding {
                    object: None,
                    verdict: Verdict::Deny,
                    message: "deny-all: the release is denied".into(),
                    field: None,
                });
            }
            Settings::Loop => {
                let mut x: u64 = 0;
                loop {
                    x = std::hint::black_box(x.wrapping_add(1));
                }
            }
            Settings::Panic => panic!("the hostile policy panics on purpose"),
            Settings::Error => return Err(Diagnostic::new("cannot judge this on purpose")),
            Settings::BadIndex => r.findings.push(Finding {
                object: Some(objects.len() as u32 + 7),
                verdict: Verdict::Allow,
                message: "nobody".into(),
                field: None,
            }),
            Settings::BadPatch => r.mutations.push(Mutation {
                object: 0,
                patch: json!([{"op": "remove", "path": "/does/not/exist"}]),
                reason: "remove what is not there".into(),
            }),
            Settings::Rename => r.mutations.push(Mutation {
                object: 0,
                patch: json!([{"op": "replace", "path": "/metadata/name", "value": "renamed"}]),
                reason: "rename".into(),
            }),
            Settings::Churn => {
                for (i, o) in objects.iter().enumerate() {
                    let n = o
                        .object
                        .pointer("/metadata/annotations/churn")
                        .and_then(Value::as_str)
                        .and_then(|s| s.parse::<u64>().ok())
                        .unwrap_or(0);
                    let patch = if o.object.pointer("/metadata/annotations").is_some() {
                        json!([{"op": "add", "path": "/metadata/annotations/churn", "value": (n + 1).to_string()}])
                    } else {
                        json!([{"op": "add", "path": "/metadata/annotations", "value": {"churn": "1"}}])
                    };
                    r.mutations.push(Mutation {
                        object: i as u32,
                        patch,
                        reason: "churn".into(),
                    });
                }
            }
        }
        Ok(r)
    }
}

plumb_plugin_sdk::export_policy!(HostilePolicy);
