//! Example: a team's own renderer, written against plumb's WIT renderer world with the SDK.
//! A short `app.toml` becomes a Deployment, a Service and (optionally) an Ingress — the kind of
//! house format a platform team offers app teams instead of raw manifests.
//!
//! ```toml
//! name = "shop"
//! image = "ghcr.io/acme/shop:1.4.2"
//! replicas = 3
//! port = 8080
//! [env]
//! LOG_LEVEL = "info"
//! [ingress]
//! host = "shop.example.com"
//! ```

use std::collections::BTreeMap;

use plumb_plugin_sdk::schemars::{self, JsonSchema};
use plumb_plugin_sdk::{
    Context, Diagnostic, Metadata, Object, Rendered, Renderer, Source, SourceError,
};
use serde::Deserialize;
use serde_json::{Value, json};

/// Settings of the renderer.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Settings {
    /// The file to read, relative to the app directory.
    #[serde(default = "default_file")]
    pub file: String,
    /// `spec.ingressClassName` of the Ingress.
    #[serde(default)]
    pub ingress_class: Option<String>,
}

fn default_file() -> String {
    "app.toml".into()
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            file: default_file(),
            ingress_class: None,
        }
    }
}

/// The app.toml format.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppToml {
    pub name: String,
    pub image: String,
    #[serde(default = "one")]
    pub replicas: u32,
    pub port: u16,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub ingress: Option<Ingress>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ingress {
    pub host: String,
    #[serde(default = "root")]
    pub path: String,
}

fn one() -> u32 {
    1
}

fn root() -> String {
    "/".into()
}

pub struct AppTomlRenderer;

impl Renderer for AppTomlRenderer {
    type Settings = Settings;

    fn metadata() -> Metadata {
        Metadata::new(
            "app-toml",
            env!("CARGO_PKG_VERSION"),
            "A short app.toml becomes a Deployment, a Service and an Ingress",
        )
    }

    fn render(
        settings: Settings,
        ctx: &Context,
        source: &dyn Source,
    ) -> Result<Rendered, Diagnostic> {
        let file = if ctx.path.is_empty() {
            settings.file.clone()
        } else {
            format!("{}/{}", ctx.path, settings.file)
        };
        let text = source.read_to_string(&file).map_err(|e| match e {
            SourceError::NotFound => Diagnostic::new(format!(
                "{} not found; the app-toml renderer needs one",
                settings.file
            ))
            .in_file(&file),
            other => Diagnostic::new(other.to_string()).in_file(&file),
        })?;
        let app: AppToml = toml::from_str(&text).map_err(|e| {
            let mut d = Diagnostic::new(e.message().to_string()).in_file(&file);
            if let Some(span) = e.span() {
                let line = text[..span.start.min(text.len())].matches('\n').count() as u32 + 1;
                d = d.at(line, None);
            }
            d
        })?;
        Ok(Rendered {
            objects: objects(&app, &settings)
                .into_iter()
                .map(|value| Object {
                    value,
                    origin: Some(file.clone()),
                })
                .collect(),
            warnings: vec![],
        })
    }
}

/// The Kubernetes objects an app.toml stands for.
pub fn objects(app: &AppToml, settings: &Settings) -> Vec<Value> {
    let labels =
        json!({"app.kubernetes.io/name": app.name, "app.kubernetes.io/managed-by": "plumb"});
    let env: Vec<Value> = app
        .env
        .iter()
        .map(|(k, v)| json!({"name": k, "value": v}))
        .collect();
    let mut out = vec![
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": app.name, "labels": labels},
            "spec": {
                "replicas": app.replicas,
                "selector": {"matchLabels": {"app.kubernetes.io/name": app.name}},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{
                        "name": app.name, "image": app.image, "env": env,
                        "ports": [{"name": "http", "containerPort": app.port, "protocol": "TCP"}],
                    }]},
                },
            },
        }),
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": app.name, "labels": labels},
            "spec": {
                "selector": {"app.kubernetes.io/name": app.name},
                "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
            },
        }),
    ];
    if let Some(ing) = &app.ingress {
        let mut ingress = json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": app.name, "labels": labels},
            "spec": {"rules": [{"host": ing.host, "http": {"paths": [{
                "path": ing.path, "pathType": "Prefix",
                "backend": {"service": {"name": app.name, "port": {"name": "http"}}},
            }]}}]},
        });
        if let Some(class) = &settings.ingress_class {
            ingress["spec"]["ingressClassName"] = json!(class);
        }
        out.push(ingress);
    }
    out
}

#[cfg(target_arch = "wasm32")]
plumb_plugin_sdk::export_renderer!(AppTomlRenderer);

#[cfg(test)]
mod tests {
    use super::*;
    use plumb_plugin_sdk::testing::DirSource;

    fn render(toml_text: &str, settings: Settings) -> Result<Rendered, Diagnostic> {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("shop")).unwrap();
        std::fs::write(d.path().join("shop/app.toml"), toml_text).unwrap();
        let ctx = Context {
            app: "shop".into(),
            path: "shop".into(),
            ..Default::default()
        };
        AppTomlRenderer::render(settings, &ctx, &DirSource::new(d.path()))
    }

    #[test]
    fn an_app_toml_becomes_deployment_service_and_ingress() {
        let out = render(
            "name = \"shop\"\nimage = \"ghcr.io/acme/shop:1.4.2\"\nreplicas = 3\nport = 8080\n[env]\nLOG_LEVEL = \"info\"\n[ingress]\nhost = \"shop.example.com\"\n",
            Settings { ingress_class: Some("nginx".into()), ..Default::default() },
        )
        .unwrap();
        let kinds: Vec<&str> = out
            .objects
            .iter()
            .map(|o| o.value["kind"].as_str().unwrap())
            .collect();
        assert_eq!(kinds, ["Deployment", "Service", "Ingress"]);
        let c = &out.objects[0].value["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["image"], "ghcr.io/acme/shop:1.4.2");
        assert_eq!(c["env"][0], json!({"name": "LOG_LEVEL", "value": "info"}));
        assert_eq!(out.objects[0].value["spec"]["replicas"], 3);
        assert_eq!(out.objects[2].value["spec"]["ingressClassName"], "nginx");
        assert_eq!(
            out.objects[2].value["spec"]["rules"][0]["host"],
            "shop.example.com"
        );
        assert_eq!(out.objects[0].origin.as_deref(), Some("shop/app.toml"));
    }

    #[test]
    fn mistakes_name_the_file_and_line() {
        let err = render(
            "name = \"shop\"\nimage = \"x\"\nport = \"eighty\"\n",
            Settings::default(),
        )
        .unwrap_err();
        assert_eq!(err.file.as_deref(), Some("shop/app.toml"));
        assert_eq!(err.line, Some(3));
        let err = render("name = \"shop\"\n", Settings::default()).unwrap_err();
        assert!(err.message.contains("missing field"), "{err}");
    }
}
