//! Adapters between the generated WIT bindings and the SDK's plain types.

use std::marker::PhantomData;

use crate::policy_bindings::exports::plumb::plugin as pexp;
use crate::policy_bindings::plumb::plugin::types as ptypes;
use crate::renderer_bindings::exports::plumb::plugin as rexp;
use crate::renderer_bindings::plumb::plugin::types as rtypes;
use crate::{Context, Diagnostic, HostSource, Operation, Policy, Renderer, ReviewObject, Verdict};

/// The settings schema of `S`, as JSON text.
fn schema_of<S: schemars::JsonSchema>() -> String {
    serde_json::to_string(&schemars::schema_for!(S)).unwrap_or_else(|_| "{}".into())
}

/// Settings arrive validated by the host; a failure here means the schema and the type disagree.
fn parse_settings<S: serde::de::DeserializeOwned>(settings: &str) -> Result<S, Diagnostic> {
    let text = if settings.trim().is_empty() {
        "{}"
    } else {
        settings
    };
    serde_json::from_str(text).map_err(|e| Diagnostic::new(format!("invalid settings: {e}")))
}

macro_rules! context_from {
    ($c:expr) => {
        Context {
            app: $c.app,
            namespace: $c.namespace,
            path: $c.path,
            revision: $c.revision,
            author: $c.author,
            commit_time: $c.commit_time,
            extra: $c.extra,
        }
    };
}

trait FromParts {
    fn from_parts(d: Diagnostic) -> Self;
}
impl FromParts for rtypes::Diagnostic {
    fn from_parts(d: Diagnostic) -> Self {
        rtypes::Diagnostic {
            message: d.message,
            file: d.file,
            line: d.line,
            column: d.column,
        }
    }
}
impl FromParts for ptypes::Diagnostic {
    fn from_parts(d: Diagnostic) -> Self {
        ptypes::Diagnostic {
            message: d.message,
            file: d.file,
            line: d.line,
            column: d.column,
        }
    }
}

/// Exports a [`Renderer`] through the renderer world.
pub struct RendererGlue<R>(PhantomData<R>);

impl<R: Renderer> crate::renderer_bindings::Guest for RendererGlue<R> {
    fn metadata() -> rtypes::PluginMetadata {
        let m = R::metadata();
        rtypes::PluginMetadata {
            name: m.name,
            version: m.version,
            kind: rtypes::PluginKind::Renderer,
            description: m.description,
            settings_schema: schema_of::<R::Settings>(),
        }
    }
}

impl<R: Renderer> rexp::renderer::Guest for RendererGlue<R> {
    fn render(
        settings: String,
        context: rtypes::Context,
    ) -> Result<rexp::renderer::RenderOutput, rtypes::Diagnostic> {
        let ctx = context_from!(context);
        let settings =
            parse_settings::<R::Settings>(&settings).map_err(rtypes::Diagnostic::from_parts)?;
        let out = R::render(settings, &ctx, &HostSource).map_err(rtypes::Diagnostic::from_parts)?;
        let objects = out
            .objects
            .into_iter()
            .map(|o| rexp::renderer::RenderedObject {
                json: o.value.to_string(),
                origin: o.origin,
            })
            .collect();
        let warnings = out
            .warnings
            .into_iter()
            .map(rtypes::Diagnostic::from_parts)
            .collect();
        Ok(rexp::renderer::RenderOutput { objects, warnings })
    }
}

/// Exports a [`Policy`] through the policy world.
pub struct PolicyGlue<P>(PhantomData<P>);

impl<P: Policy> crate::policy_bindings::Guest for PolicyGlue<P> {
    fn metadata() -> ptypes::PluginMetadata {
        let m = P::metadata();
        ptypes::PluginMetadata {
            name: m.name,
            version: m.version,
            kind: ptypes::PluginKind::Policy,
            description: m.description,
            settings_schema: schema_of::<P::Settings>(),
        }
    }
}

impl<P: Policy> pexp::policy::Guest for PolicyGlue<P> {
    fn review(
        objects: Vec<pexp::policy::ReviewObject>,
        settings: String,
        context: ptypes::Context,
    ) -> Result<pexp::policy::ReviewResult, ptypes::Diagnostic> {
        let ctx = context_from!(context);
        let settings =
            parse_settings::<P::Settings>(&settings).map_err(ptypes::Diagnostic::from_parts)?;
        let mut parsed = Vec::with_capacity(objects.len());
        for (i, o) in objects.into_iter().enumerate() {
            let object = serde_json::from_str(&o.object).map_err(|e| {
                ptypes::Diagnostic::from_parts(Diagnostic::new(format!("object {i}: {e}")))
            })?;
            let live = match o.live {
                Some(l) => Some(serde_json::from_str(&l).map_err(|e| {
                    ptypes::Diagnostic::from_parts(Diagnostic::new(format!("live object {i}: {e}")))
                })?),
                None => None,
            };
            let operation = match o.operation {
                pexp::policy::Operation::Create => Operation::Create,
                pexp::policy::Operation::Update => Operation::Update,
                pexp::policy::Operation::Delete => Operation::Delete,
            };
            parsed.push(ReviewObject {
                object,
                live,
                operation,
            });
        }
        let review = P::review(&parsed, settings, &ctx).map_err(ptypes::Diagnostic::from_parts)?;
        // plumb runs every call in a fresh instance and discards it afterwards: freeing the
        // release object by object would only cost time.
        std::mem::forget(parsed);
        Ok(pexp::policy::ReviewResult {
            findings: review
                .findings
                .into_iter()
                .map(|f| pexp::policy::Finding {
                    object: f.object,
                    verdict: match f.verdict {
                        Verdict::Allow => pexp::policy::Verdict::Allow,
                        Verdict::Warn => pexp::policy::Verdict::Warn,
                        Verdict::Deny => pexp::policy::Verdict::Deny,
                    },
                    message: f.message,
                    field: f.field,
                })
                .collect(),
            mutations: review
                .mutations
                .into_iter()
                .map(|m| pexp::policy::Mutation {
                    object: m.object,
                    patch: m.patch.to_string(),
                    reason: m.reason,
                })
                .collect(),
        })
    }
}
