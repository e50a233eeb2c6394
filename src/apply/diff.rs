//! Diff: what applying would change, computed by the server itself. Each object is sent as a
//! server-side apply with `dryRun=All`; the result (defaults, admission, merge with other field
//! managers' fields) is compared with the live object, so server-set defaults never look like
//! drift. Removed objects (prune candidates) show as deletions.

use serde_json::Value;
use similar::TextDiff;

use super::{Applier, ApplyError, ApplyOptions, DiffSummary, ObjectId, Plan};

/// The change to one object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Create,
    Update,
    Delete,
    Unchanged,
}

/// One object's diff.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ObjectDiff {
    pub id: String,
    pub change: Change,
    /// Unified diff of the YAML (empty when unchanged).
    pub diff: String,
    /// When the server could not compute the result (e.g. the CRD or namespace is created by
    /// this same release), why; the diff then shows the object as rendered.
    pub note: Option<String>,
}

/// A whole release's diff.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DiffReport {
    pub objects: Vec<ObjectDiff>,
    pub summary: DiffSummary,
}

/// Removes what changes on every write or is not the user's to set, so it never shows as drift.
pub fn normalize(mut v: Value) -> Value {
    if let Some(meta) = v.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in [
            "managedFields",
            "resourceVersion",
            "generation",
            "uid",
            "creationTimestamp",
            "selfLink",
        ] {
            meta.remove(k);
        }
    }
    v
}

fn to_text(v: Option<&Value>) -> String {
    v.map(crate::yaml::to_yaml).unwrap_or_default()
}

/// A unified diff of two YAML texts, with `live/` and `desired/` headers.
pub fn unified(id: &str, before: &str, after: &str) -> String {
    unified_labeled(id, ("live", before), ("desired", after))
}

/// A unified diff with headers `<label>/<id>` for each side.
pub fn unified_labeled(id: &str, before: (&str, &str), after: (&str, &str)) -> String {
    TextDiff::from_lines(before.1, after.1)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{}/{id}", before.0), &format!("{}/{id}", after.0))
        .to_string()
}

impl Applier {
    /// Diffs a planned release against the cluster; `prune` adds deletions of inventory members
    /// no longer rendered.
    pub async fn diff(&self, plan: &Plan, prune: bool) -> Result<DiffReport, ApplyError> {
        let opts = ApplyOptions {
            dry_run: true,
            force_conflicts: true,
            ..Default::default()
        };
        let futures = plan.objects.iter().map(|o| {
            let opts = opts.clone();
            async move {
                let api = self.api(&o.resource, o.id.namespace.as_deref());
                let live = match api.get_opt(&o.id.name).await {
                    Ok(l) => l.map(|l| serde_json::to_value(&l).unwrap_or_default()),
                    // The kind or namespace may only come into existence with this release.
                    Err(kube::Error::Api(s)) if s.is_not_found() => None,
                    Err(e) => return Err(ApplyError::from(e)),
                };
                let (desired, note) = match self.apply_one(o, &opts).await {
                    Ok((v, _)) => (v, None),
                    Err(why) if live.is_none() => (o.object.clone(), Some(why)),
                    Err(why) => {
                        return Err(ApplyError::Invalid(vec![format!(
                            "{}: {why}",
                            o.describe()
                        )]));
                    }
                };
                Ok((o.id.clone(), live, desired, note))
            }
        });
        use futures::StreamExt;
        let mut results: Vec<(ObjectId, Option<Value>, Value, Option<String>)> =
            futures::stream::iter(futures)
                .buffered(16)
                .collect::<Vec<_>>()
                .await
                .into_iter()
                .collect::<Result<_, _>>()?;
        let mut report = DiffReport::default();
        for (id, live, desired, note) in results.drain(..) {
            let before = to_text(live.clone().map(normalize).as_ref());
            let after = to_text(Some(&normalize(desired)));
            let change = match &live {
                None => Change::Create,
                Some(_) if before == after => Change::Unchanged,
                Some(_) => Change::Update,
            };
            match change {
                Change::Create => report.summary.create += 1,
                Change::Update => report.summary.update += 1,
                Change::Unchanged => report.summary.unchanged += 1,
                Change::Delete => {}
            }
            let diff = if change == Change::Unchanged {
                String::new()
            } else {
                unified(&id.to_string(), &before, &after)
            };
            report.objects.push(ObjectDiff {
                id: id.to_string(),
                change,
                diff,
                note,
            });
        }
        if prune {
            for (id, live) in self.prune_candidates(plan).await? {
                let before = to_text(Some(&normalize(live)));
                report.summary.delete += 1;
                report.objects.push(ObjectDiff {
                    id: id.to_string(),
                    change: Change::Delete,
                    diff: unified(&id.to_string(), &before, ""),
                    note: None,
                });
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn normalize_drops_write_bookkeeping_only() {
        let v = json!({"metadata": {"name": "x", "resourceVersion": "5", "managedFields": [], "uid": "u", "labels": {"a": "b"}}, "data": {"k": "v"}});
        assert_eq!(
            normalize(v),
            json!({"metadata": {"name": "x", "labels": {"a": "b"}}, "data": {"k": "v"}})
        );
    }

    #[test]
    fn unified_diff_shows_exactly_the_changed_lines() {
        let d = unified("ConfigMap ns/x", "a: 1\nb: 2\n", "a: 1\nb: 3\n");
        assert!(
            d.contains("--- live/ConfigMap ns/x") && d.contains("+++ desired/ConfigMap ns/x"),
            "{d}"
        );
        assert!(d.contains("-b: 2\n+b: 3\n"), "{d}");
        assert!(!d.contains("-a: 1"), "{d}");
    }
}
