//! Gives the wasm guest a 4 MiB shadow stack (the part of linear memory Rust keeps
//! address-taken locals in): templates nest `include` calls deeply (library charts such as
//! bjw-s' common go dozens of levels down) and the executor recurses once per level. The
//! default 1 MiB would be the first limit hit; the engine's own depth limit (350) keeps below
//! the host's wasm call stack.

fn main() {
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg=-zstack-size=4194304");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
