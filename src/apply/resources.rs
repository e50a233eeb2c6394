//! Mapping apiVersion/kind to REST resources, from the API server's discovery documents, plus
//! the CustomResourceDefinitions of the release itself (so a CRD and its custom resources can
//! be applied in one run).

use std::collections::HashMap;

use kube::Client;
use kube::core::ApiResource;
use kube::discovery::{Discovery, Scope};
use serde_json::Value;

/// A resource the cluster serves (or will serve once the release's CRDs are applied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    pub api: ApiResource,
    pub namespaced: bool,
}

/// apiVersion + kind → resource.
#[derive(Debug, Clone, Default)]
pub struct ResourceMap {
    by_gvk: HashMap<(String, String), Resource>,
}

impl ResourceMap {
    /// Every version of every group the server serves (not only preferred versions: manifests
    /// may name any served version).
    pub async fn discover(client: &Client) -> Result<ResourceMap, kube::Error> {
        let discovery = Discovery::new(client.clone()).run().await?;
        let mut map = ResourceMap::default();
        for group in discovery.groups() {
            for version in group.versions() {
                for (api, caps) in group.versioned_resources(version) {
                    let namespaced = caps.scope == Scope::Namespaced;
                    map.by_gvk.insert(
                        (api.api_version.clone(), api.kind.clone()),
                        Resource { api, namespaced },
                    );
                }
            }
        }
        Ok(map)
    }

    pub fn get(&self, api_version: &str, kind: &str) -> Option<&Resource> {
        self.by_gvk
            .get(&(api_version.to_string(), kind.to_string()))
    }

    /// Adds the kinds a CustomResourceDefinition object (as rendered) will serve.
    pub fn add_crd(&mut self, crd: &Value) {
        let spec = &crd["spec"];
        let (Some(group), Some(kind), Some(plural)) = (
            spec["group"].as_str(),
            spec["names"]["kind"].as_str(),
            spec["names"]["plural"].as_str(),
        ) else {
            return;
        };
        let namespaced = spec["scope"].as_str() != Some("Cluster");
        let versions: Vec<&str> = match spec["versions"].as_array() {
            Some(vs) => vs
                .iter()
                .filter(|v| v["served"].as_bool() != Some(false))
                .filter_map(|v| v["name"].as_str())
                .collect(),
            None => spec["version"].as_str().into_iter().collect(),
        };
        for version in versions {
            let api_version = format!("{group}/{version}");
            let api = ApiResource {
                group: group.to_string(),
                version: version.to_string(),
                api_version: api_version.clone(),
                kind: kind.to_string(),
                plural: plural.to_string(),
            };
            self.by_gvk
                .entry((api_version, kind.to_string()))
                .or_insert(Resource { api, namespaced });
        }
    }

    /// Every resource, for listing inventory members.
    pub fn iter(&self) -> impl Iterator<Item = &Resource> {
        self.by_gvk.values()
    }

    /// The resource for a group and kind, whatever the version (for pruning by group-kind).
    pub fn by_group_kind(&self, group: &str, kind: &str) -> Option<&Resource> {
        let mut found: Vec<&Resource> = self
            .by_gvk
            .values()
            .filter(|r| r.api.group == group && r.api.kind == kind)
            .collect();
        // Prefer a stable version for listing; any served version lists the same objects.
        found.sort_by_key(|r| {
            (
                r.api.version.contains("alpha"),
                r.api.version.contains("beta"),
                r.api.version.clone(),
            )
        });
        found.into_iter().next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn crds_in_the_release_define_their_kinds() {
        let mut m = ResourceMap::default();
        m.add_crd(
            &json!({"spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"kind": "Widget", "plural": "widgets"},
            "versions": [{"name": "v1", "served": true}, {"name": "v1alpha1", "served": false}]}}),
        );
        let r = m.get("example.com/v1", "Widget").unwrap();
        assert_eq!(r.api.plural, "widgets");
        assert!(r.namespaced);
        assert!(
            m.get("example.com/v1alpha1", "Widget").is_none(),
            "unserved versions are not applicable"
        );
        assert_eq!(
            m.by_group_kind("example.com", "Widget")
                .unwrap()
                .api
                .version,
            "v1"
        );
    }
}
