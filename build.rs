//! Builds the guest plugins under `plugins/` (and the test plugins under `tests/plugins/`) for
//! `wasm32-wasip2` with a nested cargo, then embeds the built-in ones in the plumb binary.
//!
//! The nested cargo gets its own target directory (sharing the outer one deadlocks on its lock)
//! and a clean environment (the outer build's RUSTFLAGS and wrappers are for the host).

use std::env;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

/// Built-in plugins: (name shown to users, crate name).
const BUILTINS: &[(&str, &str)] = &[
    ("plain", "plumb-plain"),
    ("rules", "plumb-rules"),
    ("baseline", "plumb-baseline"),
    ("kustomize", "plumb-kustomize"),
    ("helm", "plumb-helm"),
];

/// Example plugins built for the tests, not embedded (a team's own plugins, used by path).
const EXAMPLES: &[&str] = &["plumb-policy-team-owner", "plumb-example-app-toml"];

fn main() {
    let manifest_dir =
        PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    for watched in [
        "plugins",
        "tests/plugins",
        "examples/policy-team-owner",
        "examples/app-toml-renderer",
        "wit",
        "Cargo.lock",
        "Cargo.toml",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            manifest_dir.join(watched).display()
        );
    }
    println!("cargo:rerun-if-env-changed=PLUMB_GUEST_TARGET_DIR");

    // One target dir for guests, shared by debug/release/clippy host builds.
    let target_dir = env::var_os("PLUMB_GUEST_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| manifest_dir.join("target"))
                .join("guests")
        });

    let mut crates: Vec<String> = BUILTINS.iter().map(|(_, c)| c.to_string()).collect();
    crates.extend(test_plugin_crates(&manifest_dir.join("tests/plugins")));
    crates.extend(EXAMPLES.iter().map(|c| c.to_string()));

    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&manifest_dir)
        .args([
            "build",
            "--profile",
            "guest",
            "--target",
            "wasm32-wasip2",
            "--target-dir",
        ])
        .arg(&target_dir);
    if env::var_os("CARGO_NET_OFFLINE").is_some() {
        cmd.arg("--offline");
    }
    for c in &crates {
        cmd.args(["-p", c]);
    }
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_MAKEFLAGS",
        "MAKEFLAGS",
        "MFLAGS",
    ] {
        cmd.env_remove(var);
    }
    for (k, _) in env::vars_os() {
        if let Some(k) = k.to_str().filter(|k| {
            k.starts_with("CARGO_PROFILE_")
                || k.starts_with("CARGO_CFG_")
                || k.starts_with("CARGO_FEATURE_")
        }) {
            cmd.env_remove(k);
        }
    }
    let status = cmd
        .status()
        .expect("cannot run cargo to build the wasm plugins");
    if !status.success() {
        panic!(
            "building the wasm plugins failed (see above). If the error says the wasm32-wasip2 target is \
             missing, run `scripts/setup` (it runs `rustup target add wasm32-wasip2`)."
        );
    }
    let wasm_dir = target_dir.join("wasm32-wasip2").join("guest");
    println!("cargo:rustc-env=PLUMB_GUEST_DIR={}", wasm_dir.display());

    let mut src =
        String::from("/// Every built-in plugin.\npub static BUILTINS: &[Builtin] = &[\n");
    for (name, krate) in BUILTINS {
        let file = wasm_dir.join(format!("{}.wasm", krate.replace('-', "_")));
        let bytes =
            std::fs::read(&file).unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        let digest = Sha256::digest(&bytes)
            .iter()
            .fold(String::new(), |mut s, b| {
                let _ = write!(s, "{b:02x}");
                s
            });
        writeln!(
            src,
            "    Builtin {{ name: {name:?}, wasm: include_bytes!({:?}), sha256: {digest:?} }},",
            file.display().to_string()
        )
        .expect("writing to a String cannot fail");
    }
    src.push_str("];\n");
    std::fs::write(out_dir.join("builtins.rs"), src).expect("cannot write builtins.rs");
    write_sdk_files(&manifest_dir, &out_dir);
}

/// The plugin SDK's sources and the WIT contract, embedded so `plumb plugin new` can write a
/// self-contained plugin crate (it builds offline from the registry, without this repository).
fn write_sdk_files(manifest_dir: &Path, out_dir: &Path) {
    let sdk = manifest_dir.join("plugins/sdk");
    let mut files = vec![("sdk/Cargo.toml".to_string(), sdk.join("Cargo.toml"))];
    let mut sources: Vec<_> = std::fs::read_dir(sdk.join("src"))
        .expect("plugins/sdk/src")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "rs"))
        .collect();
    sources.sort();
    for p in sources {
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 file name")
            .to_string();
        files.push((format!("sdk/src/{name}"), p));
    }
    files.push((
        "sdk/wit/plumb.wit".to_string(),
        manifest_dir.join("wit/plumb.wit"),
    ));
    let mut src = String::from(
        "/// (path in the new crate, content) of every SDK file.\npub static SDK_FILES: &[(&str, &str)] = &[\n",
    );
    for (dest, path) in files {
        writeln!(
            src,
            "    ({dest:?}, include_str!({:?})),",
            path.display().to_string()
        )
        .expect("writing to a String cannot fail");
    }
    src.push_str("];\n");
    std::fs::write(out_dir.join("sdk_files.rs"), src).expect("cannot write sdk_files.rs");
}

/// Crate names of the plugins used only by tests (each a directory with a Cargo.toml).
fn test_plugin_crates(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path().join("Cargo.toml")).ok())
        .filter_map(|toml| {
            toml.lines().find_map(|l| {
                l.trim()
                    .strip_prefix("name = ")
                    .map(|n| n.trim_matches('"').to_string())
            })
        })
        .collect();
    names.sort();
    names
}
