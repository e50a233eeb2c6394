//! The reference tools installed by `scripts/install-oracles`. Shared by the differential tests
//! (`tests/differential`) and the benches (`benches/common`, which include this file by path).

use std::path::PathBuf;

/// The reference `tool` (`helm`, `kubectl`), where `scripts/install-oracles` puts it:
/// `$PLUMB_ORACLES_DIR`, else `${PLUMB_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/plumb}/oracles`;
/// or a failure telling how to get it (never a skip). Never /usr/bin/kubectl.
pub fn oracle(tool: &str) -> PathBuf {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let dir = var("PLUMB_ORACLES_DIR").unwrap_or_else(|| {
        var("PLUMB_CACHE_DIR")
            .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("plumb")))
            .or_else(|| var("HOME").map(|h| h.join(".cache/plumb")))
            .unwrap_or_else(|| PathBuf::from("/root/.cache/plumb"))
            .join("oracles")
    });
    let bin = dir.join(tool);
    assert!(
        bin.is_file(),
        "the reference {tool} is missing at {}: run scripts/install-oracles (or set PLUMB_ORACLES_DIR)",
        bin.display()
    );
    bin
}
