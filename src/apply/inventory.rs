//! The app's inventory, as an ApplySet (KEP-3659): a parent ConfigMap names the group-kinds and
//! namespaces of its members, and every member carries the `applyset.kubernetes.io/part-of`
//! label. Pruning lists members by that label, so plumb never needs local state, and `kubectl`
//! sees the same ApplySet.

use std::collections::BTreeSet;

use base64::Engine as _;
use sha2::{Digest, Sha256};

pub const PART_OF: &str = "applyset.kubernetes.io/part-of";
pub const ID_LABEL: &str = "applyset.kubernetes.io/id";
pub const TOOLING: &str = "applyset.kubernetes.io/tooling";
pub const CONTAINS_GROUP_KINDS: &str = "applyset.kubernetes.io/contains-group-kinds";
pub const ADDITIONAL_NAMESPACES: &str = "applyset.kubernetes.io/additional-namespaces";

/// The parent object of an app's ApplySet: `ConfigMap/plumb-app-<app>` in the app's namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parent {
    pub name: String,
    pub namespace: String,
}

impl Parent {
    pub fn for_app(app: &str, namespace: &str) -> Parent {
        Parent {
            name: format!("plumb-app-{app}"),
            namespace: namespace.to_string(),
        }
    }

    /// The ApplySet id, exactly as kubectl computes it:
    /// `applyset-<base64url(sha256(name.namespace.kind.group))>-v1`.
    pub fn id(&self) -> String {
        let raw = format!("{}.{}.{}.{}", self.name, self.namespace, "ConfigMap", "");
        let hash = Sha256::digest(raw.as_bytes());
        format!(
            "applyset-{}-v1",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hash)
        )
    }
}

/// `Kind.group` as ApplySet annotations spell group-kinds (`Kind` for the core group).
pub fn group_kind(group: &str, kind: &str) -> String {
    if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    }
}

/// Splits a `Kind.group` back (the group may contain dots; the kind never does).
pub fn split_group_kind(gk: &str) -> (String, String) {
    match gk.split_once('.') {
        Some((kind, group)) => (group.to_string(), kind.to_string()),
        None => (String::new(), gk.to_string()),
    }
}

/// Reads a comma-separated annotation value into a set.
pub fn parse_list(value: Option<&str>) -> BTreeSet<String> {
    value
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// Writes a set as a comma-separated annotation value (sorted, as kubectl does).
pub fn join_list(set: &BTreeSet<String>) -> String {
    set.iter().cloned().collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_matches_kubectl() {
        // kubectl: base64.RawURLEncoding(sha256("plumb-app-hello.demo.ConfigMap.")).
        let p = Parent::for_app("hello", "demo");
        let id = p.id();
        assert!(id.starts_with("applyset-") && id.ends_with("-v1"));
        assert_eq!(id.len(), "applyset-".len() + 43 + "-v1".len());
        let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(b"plumb-app-hello.demo.ConfigMap."));
        assert_eq!(id, format!("applyset-{expected}-v1"));
    }

    #[test]
    fn group_kinds_round_trip() {
        assert_eq!(group_kind("", "Service"), "Service");
        assert_eq!(group_kind("apps", "Deployment"), "Deployment.apps");
        assert_eq!(
            split_group_kind("Deployment.apps"),
            ("apps".into(), "Deployment".into())
        );
        assert_eq!(
            split_group_kind("Widget.example.com"),
            ("example.com".into(), "Widget".into())
        );
        assert_eq!(split_group_kind("Service"), ("".into(), "Service".into()));
        let set = parse_list(Some("b, a,,c"));
        assert_eq!(join_list(&set), "a,b,c");
    }
}
