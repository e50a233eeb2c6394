//! Host bindings generated from `wit/plumb.wit`, one module per world.

pub mod renderer {
    wasmtime::component::bindgen!({
        world: "renderer-plugin",
        path: "wit",
    });
}

pub mod policy {
    wasmtime::component::bindgen!({
        world: "policy-plugin",
        path: "wit",
    });
}

/// Fully qualified export names, used to tell which world a component implements.
pub const RENDERER_EXPORT: &str = "plumb:plugin/renderer@0.1.0";
pub const POLICY_EXPORT: &str = "plumb:plugin/policy@0.1.0";
