//! plumb: a GitOps reconciler whose renderers and policies are sandboxed WebAssembly components.
//!
//! Data flows one way, one module per stage: [`source`] → [`render`] (a renderer plugin) →
//! policy → apply → reconcile. [`plugin`] hosts the WebAssembly components; plugins reach plumb
//! only through `wit/plumb.wit`. [`app`] turns what a user names into an app ready to render.

pub mod app;
pub mod apply;
pub mod devcluster;
pub mod plugin;
pub mod policy;
pub mod render;
pub mod scaffold;
pub mod source;
pub mod spec;
pub mod watch;
pub mod yaml;
