//! Shared by the benches that time plumb against a reference tool (`helm`, `kustomize`): the
//! tools of `scripts/install-oracles` and wall-clock timing of whole processes.

use std::process::Command;
use std::time::{Duration, Instant};

#[path = "../../tests/differential/oracle.rs"]
mod oracle;

pub use oracle::oracle;

pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The wall time of a command, which must succeed.
pub fn time(cmd: &mut Command) -> Duration {
    let start = Instant::now();
    let out = cmd.output().expect("run command");
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "{:?} failed: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    took
}
