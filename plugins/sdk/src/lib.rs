//! Write plumb plugins as plain Rust.
//!
//! A renderer is a type implementing [`Renderer`]; a policy is a type implementing [`Policy`].
//! [`export_renderer!`] / [`export_policy!`] turn it into a WebAssembly component exporting the
//! `plumb:plugin@0.1.0` world (see `wit/plumb.wit`). Settings are typed: their JSON Schema is
//! derived with `schemars`, and the host validates settings against it before every call.
//!
//! ```text
//! struct Hello;
//! impl plumb_plugin_sdk::Renderer for Hello {
//!     type Settings = MySettings;
//!     fn metadata() -> Metadata { Metadata::new("hello", env!("CARGO_PKG_VERSION"), "says hello") }
//!     fn render(s: MySettings, ctx: &Context, src: &dyn Source) -> Result<Rendered, Diagnostic> { … }
//! }
//! plumb_plugin_sdk::export_renderer!(Hello);
//! ```

mod source;
mod types;

pub mod k8s;
pub mod testing;

pub use schemars;
pub use serde;
pub use serde_json;
pub use source::{Entry, EntryKind, HostSource, Source, SourceError, normalize_path};
pub use types::*;

/// Generated bindings for the renderer world. Plugins never need these directly.
#[doc(hidden)]
pub mod renderer_bindings {
    wit_bindgen::generate!({
        world: "renderer-plugin",
        path: "wit",
        default_bindings_module: "plumb_plugin_sdk::renderer_bindings",
        pub_export_macro: true,
        export_macro_name: "export_renderer_world",
        generate_all,
    });
}

/// Generated bindings for the policy world. Plugins never need these directly.
#[doc(hidden)]
pub mod policy_bindings {
    wit_bindgen::generate!({
        world: "policy-plugin",
        path: "wit",
        default_bindings_module: "plumb_plugin_sdk::policy_bindings",
        pub_export_macro: true,
        export_macro_name: "export_policy_world",
        generate_all,
    });
}

mod glue;
#[doc(hidden)]
pub use glue::{PolicyGlue, RendererGlue};

/// Export a [`Renderer`] implementation as the component's renderer world.
#[macro_export]
macro_rules! export_renderer {
    ($ty:ty) => {
        type __PlumbRendererExport = $crate::RendererGlue<$ty>;
        $crate::renderer_bindings::export_renderer_world!(
            __PlumbRendererExport with_types_in $crate::renderer_bindings
        );
    };
}

/// Export a [`Policy`] implementation as the component's policy world.
#[macro_export]
macro_rules! export_policy {
    ($ty:ty) => {
        type __PlumbPolicyExport = $crate::PolicyGlue<$ty>;
        $crate::policy_bindings::export_policy_world!(
            __PlumbPolicyExport with_types_in $crate::policy_bindings
        );
    };
}
