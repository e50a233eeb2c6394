//! What `helm template` does with rendered text: split each file into documents
//! (`releaseutil.SplitManifests`), tell hooks from regular manifests by their annotations, and
//! sort both by Helm's kind order (stable: ties keep file-path and position order).

use crate::yaml::{self, YNode};

/// Helm's install order; unknown kinds come after these, alphabetically.
const INSTALL_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

const HOOK_EVENTS: &[&str] = &[
    "pre-install",
    "post-install",
    "pre-delete",
    "post-delete",
    "pre-upgrade",
    "post-upgrade",
    "pre-rollback",
    "post-rollback",
    "test",
    "test-success",
];

/// One document of a rendered file.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The `# Source:` path (`chart/templates/file.yaml`).
    pub path: String,
    pub content: String,
    pub kind: String,
    /// Hook events, empty for regular manifests.
    pub events: Vec<String>,
}

impl Manifest {
    pub fn is_test_hook(&self) -> bool {
        self.events
            .iter()
            .any(|e| e == "test" || e == "test-success")
    }
}

/// `SplitManifests`: trims, splits at `(?:^|\s*\n)---\s*`, trims each document, drops empty
/// ones.
pub fn split_manifests(big: &str) -> Vec<String> {
    let text = big.trim_matches(is_go_space);
    let b = text.as_bytes();
    let mut docs = Vec::new();
    let mut start = 0usize;
    // End of the previous separator match: Go's matches never overlap.
    let mut last_end = 0usize;
    let mut i = 0usize;
    while i < b.len() {
        let at_sep = b[i..].starts_with(b"---") && (i == 0 || (b[i - 1] == b'\n' && i > last_end));
        if !at_sep {
            i += 1;
            continue;
        }
        // Leftmost start: back over the whitespace run before the newline.
        let mut sep_start = i;
        if i > 0 {
            sep_start = i - 1;
            while sep_start > last_end && is_go_space_byte(b[sep_start - 1]) {
                sep_start -= 1;
            }
        }
        let mut end = i + 3;
        while end < b.len() && is_go_space_byte(b[end]) {
            end += 1;
        }
        docs.push(&text[start..sep_start]);
        start = end;
        last_end = end;
        i = end.max(i + 1);
    }
    docs.push(&text[start..]);
    docs.into_iter()
        .filter(|d| !d.is_empty())
        .map(|d| d.trim_matches(is_go_space).to_string())
        .collect()
}

fn is_go_space(c: char) -> bool {
    c.is_whitespace()
}

fn is_go_space_byte(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
}

type Annotations = Vec<(String, String)>;

/// The fields of a document Helm reads to sort it (`SimpleHead`), with Helm's errors for
/// documents it cannot read.
fn head(doc: &str) -> Result<(String, Option<Annotations>), String> {
    let node = yaml::parse(doc).map_err(|e| format!("error converting YAML to JSON: {e}"))?;
    let m = match node {
        YNode::Map(m) => m,
        YNode::Null => return Ok((String::new(), None)),
        YNode::Seq(_) => {
            return Err("error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type releaseutil.SimpleHead".into());
        }
        _ => {
            return Err("error unmarshaling JSON: while decoding JSON: json: cannot unmarshal string into Go value of type releaseutil.SimpleHead".into());
        }
    };
    let get = |m: &[(YNode, YNode)], k: &str| {
        m.iter()
            .rev()
            .find(|(key, _)| matches!(key, YNode::Str(s) if s == k))
            .map(|(_, v)| v.clone())
    };
    let str_field = |v: Option<YNode>, field: &str| -> Result<String, String> {
        match v {
            None | Some(YNode::Null) => Ok(String::new()),
            Some(YNode::Str(s)) => Ok(s),
            Some(other) => Err(format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go struct field SimpleHead.{field} of type string",
                kind_word(&other)
            )),
        }
    };
    str_field(get(&m, "apiVersion"), "apiVersion")?;
    let kind = str_field(get(&m, "kind"), "kind")?;
    let mut annotations = None;
    if let Some(YNode::Map(md)) = get(&m, "metadata") {
        str_field(get(&md, "name"), "metadata.name")?;
        match get(&md, "annotations") {
            Some(YNode::Map(a)) => {
                let mut out = Vec::new();
                for (k, v) in a {
                    let key = match k {
                        YNode::Str(s) => s,
                        YNode::Bool(b) => b.to_string(),
                        YNode::Int(i) => i.to_string(),
                        _ => continue,
                    };
                    let val = match v {
                        YNode::Str(s) => s,
                        YNode::Null => String::new(),
                        other => {
                            return Err(format!(
                                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go struct field .metadata.annotations of type string",
                                kind_word(&other)
                            ));
                        }
                    };
                    out.push((key, val));
                }
                annotations = Some(out);
            }
            None | Some(YNode::Null) => {}
            Some(other) => {
                return Err(format!(
                    "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go struct field .metadata.annotations of type map[string]string",
                    kind_word(&other)
                ));
            }
        }
    }
    Ok((kind, annotations))
}

fn kind_word(n: &YNode) -> &'static str {
    match n {
        YNode::Seq(_) => "array",
        YNode::Map(_) => "object",
        YNode::Bool(_) => "bool",
        YNode::Str(_) => "string",
        YNode::Null => "null",
        _ => "number",
    }
}

/// (regular manifests, hooks).
pub type Sorted = (Vec<Manifest>, Vec<Manifest>);

/// Sorts rendered files into (regular manifests, hooks), each in Helm's order.
/// `files` must be (path, content) in any order; partials and empty files are skipped.
pub fn sort_manifests(mut files: Vec<(String, String)>) -> Result<Sorted, (String, String)> {
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let mut generic = Vec::new();
    let mut hooks = Vec::new();
    for (path, content) in files {
        let base = path.rsplit('/').next().unwrap_or(&path);
        if base.starts_with('_') || content.trim().is_empty() {
            continue;
        }
        for doc in split_manifests(&content) {
            let (kind, annotations) = head(&doc)
                .map_err(|e| (path.clone(), format!("YAML parse error on {path}: {e}")))?;
            let hook = annotations.as_ref().and_then(|a| {
                a.iter()
                    .rev()
                    .find(|(k, _)| k == "helm.sh/hook")
                    .map(|(_, v)| v.clone())
            });
            match hook {
                None => generic.push(Manifest {
                    path: path.clone(),
                    content: doc,
                    kind,
                    events: Vec::new(),
                }),
                Some(h) => {
                    let mut events = Vec::new();
                    let mut unknown = false;
                    for e in h.split(',') {
                        let e = e.trim().to_lowercase();
                        if !HOOK_EVENTS.contains(&e.as_str()) {
                            unknown = true;
                            break;
                        }
                        events.push(e);
                    }
                    if unknown {
                        continue;
                    }
                    hooks.push(Manifest {
                        path: path.clone(),
                        content: doc,
                        kind,
                        events,
                    });
                }
            }
        }
    }
    sort_by_kind(&mut generic);
    sort_by_kind(&mut hooks);
    Ok((generic, hooks))
}

fn sort_by_kind(ms: &mut [Manifest]) {
    let rank = |k: &str| INSTALL_ORDER.iter().position(|x| *x == k);
    ms.sort_by(|a, b| match (rank(&a.kind), rank(&b.kind)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.kind.cmp(&b.kind),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_helm() {
        assert_eq!(
            split_manifests("a: 1\n---\nb: 2\n  \n---   \nc: 3"),
            vec!["a: 1", "b: 2", "c: 3"]
        );
        assert_eq!(split_manifests("---\na: 1\n---\n"), vec!["a: 1"]);
        assert_eq!(split_manifests("# only comment\n"), vec!["# only comment"]);
        assert_eq!(split_manifests("a: 1\n---foo: 2"), vec!["a: 1", "foo: 2"]);
        assert_eq!(split_manifests("a\n---\n---\nb"), vec!["a", "---\nb"]);
    }

    #[test]
    fn sorts_by_kind_then_path() {
        let files = vec![
            (
                "c/templates/b.yaml".to_string(),
                "kind: Service\nmetadata:\n  name: s".to_string(),
            ),
            (
                "c/templates/a.yaml".to_string(),
                "kind: Deployment\n---\nkind: Foo\n---\nkind: ConfigMap".to_string(),
            ),
            (
                "c/templates/h.yaml".to_string(),
                "kind: Job\nmetadata:\n  annotations:\n    helm.sh/hook: post-install".to_string(),
            ),
        ];
        let (g, h) = sort_manifests(files).unwrap();
        assert_eq!(
            g.iter().map(|m| m.kind.as_str()).collect::<Vec<_>>(),
            ["ConfigMap", "Service", "Deployment", "Foo"]
        );
        assert_eq!(h.len(), 1);
    }
}
