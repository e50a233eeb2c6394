//! Readiness of applied objects, in the spirit of kstatus: what the object's own status says
//! about whether the cluster has caught up with it.

use serde_json::Value;

/// Whether an object is ready, and why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    Ready,
    /// Still converging; the reason says on what.
    InProgress(String),
    /// Will not become ready without a change (a failed Job, a stuck rollout).
    Failed(String),
}

impl Health {
    pub fn is_ready(&self) -> bool {
        matches!(self, Health::Ready)
    }
}

fn condition<'a>(obj: &'a Value, ty: &str) -> Option<&'a Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"].as_str() == Some(ty))
}

fn condition_true(obj: &Value, ty: &str) -> Option<bool> {
    condition(obj, ty).map(|c| c["status"].as_str() == Some("True"))
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

/// The status controller has seen the latest spec.
fn observed(obj: &Value) -> Result<(), Health> {
    let generation = int(&obj["metadata"]["generation"]);
    let observed = int(&obj["status"]["observedGeneration"]);
    if generation > 0 && observed < generation {
        return Err(Health::InProgress(format!(
            "controller has not observed generation {generation} yet (at {observed})"
        )));
    }
    Ok(())
}

/// The health of `obj` (a live object, as read from the API server).
pub fn health(obj: &Value) -> Health {
    let kind = obj["kind"].as_str().unwrap_or_default();
    let group = obj["apiVersion"]
        .as_str()
        .unwrap_or_default()
        .rsplit_once('/')
        .map(|(g, _)| g)
        .unwrap_or("");
    let status = &obj["status"];
    match (group, kind) {
        ("apps", "Deployment") => {
            if let Err(h) = observed(obj) {
                return h;
            }
            if let Some(c) = condition(obj, "Progressing")
                && c["reason"].as_str() == Some("ProgressDeadlineExceeded")
            {
                return Health::Failed(format!(
                    "rollout exceeded its progress deadline: {}",
                    c["message"].as_str().unwrap_or("")
                ));
            }
            let want = obj["spec"]["replicas"].as_i64().unwrap_or(1);
            let updated = int(&status["updatedReplicas"]);
            let available = int(&status["availableReplicas"]);
            let total = int(&status["replicas"]);
            if updated < want {
                Health::InProgress(format!("{updated} of {want} replicas updated"))
            } else if total > updated {
                Health::InProgress(format!(
                    "{} old replicas pending termination",
                    total - updated
                ))
            } else if available < want {
                Health::InProgress(format!("{available} of {want} replicas available"))
            } else {
                Health::Ready
            }
        }
        ("apps", "StatefulSet") => {
            if let Err(h) = observed(obj) {
                return h;
            }
            let want = obj["spec"]["replicas"].as_i64().unwrap_or(1);
            let ready = int(&status["readyReplicas"]);
            let rolling = obj["spec"]["updateStrategy"]["type"].as_str() != Some("OnDelete");
            if ready < want {
                Health::InProgress(format!("{ready} of {want} replicas ready"))
            } else if rolling
                && status["updateRevision"].is_string()
                && status["currentRevision"] != status["updateRevision"]
            {
                Health::InProgress("rolling update in progress".into())
            } else {
                Health::Ready
            }
        }
        ("apps", "DaemonSet") => {
            if let Err(h) = observed(obj) {
                return h;
            }
            let desired = int(&status["desiredNumberScheduled"]);
            let updated = int(&status["updatedNumberScheduled"]);
            let available = int(&status["numberAvailable"]);
            if updated < desired {
                Health::InProgress(format!("{updated} of {desired} pods updated"))
            } else if available < desired {
                Health::InProgress(format!("{available} of {desired} pods available"))
            } else {
                Health::Ready
            }
        }
        ("batch", "Job") => {
            if condition_true(obj, "Failed") == Some(true) {
                let c = condition(obj, "Failed").cloned().unwrap_or_default();
                Health::Failed(format!(
                    "job failed: {}",
                    c["message"].as_str().or(c["reason"].as_str()).unwrap_or("")
                ))
            } else if condition_true(obj, "Complete") == Some(true) {
                Health::Ready
            } else {
                Health::InProgress(format!(
                    "{} of {} completions",
                    int(&status["succeeded"]),
                    obj["spec"]["completions"].as_i64().unwrap_or(1)
                ))
            }
        }
        ("apiextensions.k8s.io", "CustomResourceDefinition") => {
            match condition_true(obj, "Established") {
                Some(true) => Health::Ready,
                _ => {
                    if condition_true(obj, "NamesAccepted") == Some(false) {
                        let c = condition(obj, "NamesAccepted").cloned().unwrap_or_default();
                        Health::Failed(format!(
                            "names not accepted: {}",
                            c["message"].as_str().unwrap_or("")
                        ))
                    } else {
                        Health::InProgress("not established yet".into())
                    }
                }
            }
        }
        ("", "Namespace") => match status["phase"].as_str() {
            Some("Active") | None => Health::Ready,
            Some(p) => Health::InProgress(format!("phase {p}")),
        },
        ("", "PersistentVolumeClaim") => match status["phase"].as_str() {
            Some("Bound") => Health::Ready,
            Some("Lost") => Health::Failed("claim lost its volume".into()),
            p => Health::InProgress(format!("phase {}", p.unwrap_or("Pending"))),
        },
        ("", "Service") => {
            if obj["spec"]["type"].as_str() == Some("LoadBalancer")
                && status["loadBalancer"]["ingress"]
                    .as_array()
                    .is_none_or(|a| a.is_empty())
            {
                Health::InProgress("waiting for a load balancer address".into())
            } else {
                Health::Ready
            }
        }
        _ => match condition(obj, "Ready") {
            // Custom resources (and anything else) that report a Ready condition.
            Some(c) if c["status"].as_str() == Some("True") => {
                if let Err(h) = observed(obj) {
                    h
                } else {
                    Health::Ready
                }
            }
            Some(c) => {
                let why = c["message"]
                    .as_str()
                    .filter(|m| !m.is_empty())
                    .or(c["reason"].as_str())
                    .unwrap_or("Ready is not True");
                if c["status"].as_str() == Some("False")
                    && c["reason"].as_str().is_some_and(|r| r.contains("Fail"))
                {
                    Health::Failed(why.to_string())
                } else {
                    Health::InProgress(why.to_string())
                }
            }
            None => Health::Ready,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deployments_need_every_replica_updated_and_available() {
        let mut d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"generation": 2},
            "spec": {"replicas": 3}, "status": {"observedGeneration": 1}});
        assert!(matches!(health(&d), Health::InProgress(ref r) if r.contains("generation 2")));
        d["status"] = json!({"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 2});
        assert_eq!(
            health(&d),
            Health::InProgress("2 of 3 replicas available".into())
        );
        d["status"]["availableReplicas"] = json!(3);
        assert_eq!(health(&d), Health::Ready);
        d["status"]["conditions"] = json!([{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "too slow"}]);
        assert!(matches!(health(&d), Health::Failed(_)));
    }

    #[test]
    fn jobs_crds_namespaces_pvcs_services_and_custom_resources() {
        let job = |conds: Value| json!({"apiVersion": "batch/v1", "kind": "Job", "spec": {}, "status": {"conditions": conds}});
        assert_eq!(
            health(&job(json!([{"type": "Complete", "status": "True"}]))),
            Health::Ready
        );
        assert!(matches!(
            health(&job(
                json!([{"type": "Failed", "status": "True", "message": "BackoffLimitExceeded"}])
            )),
            Health::Failed(_)
        ));
        assert!(matches!(health(&job(json!([]))), Health::InProgress(_)));
        let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "status": {"conditions": [{"type": "Established", "status": "True"}]}});
        assert_eq!(health(&crd), Health::Ready);
        assert_eq!(
            health(
                &json!({"apiVersion": "v1", "kind": "Namespace", "status": {"phase": "Terminating"}})
            ),
            Health::InProgress("phase Terminating".into())
        );
        assert_eq!(
            health(
                &json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "status": {"phase": "Bound"}})
            ),
            Health::Ready
        );
        assert!(!health(&json!({"apiVersion": "v1", "kind": "Service", "spec": {"type": "LoadBalancer"}, "status": {}})).is_ready());
        assert_eq!(
            health(&json!({"apiVersion": "v1", "kind": "Service", "spec": {"type": "ClusterIP"}})),
            Health::Ready
        );
        let cr = |s: &str| {
            json!({"apiVersion": "example.com/v1", "kind": "Widget",
            "status": {"conditions": [{"type": "Ready", "status": s, "reason": "Waiting", "message": "warming up"}]}})
        };
        assert_eq!(health(&cr("True")), Health::Ready);
        assert_eq!(
            health(&cr("False")),
            Health::InProgress("warming up".into())
        );
        assert_eq!(
            health(&json!({"apiVersion": "v1", "kind": "ConfigMap"})),
            Health::Ready
        );
    }
}
