//! Git as the source of truth: one bare cache per repository URL, incremental fetches serialised
//! per repository (a file lock across processes, a mutex and coalescing within one), revisions
//! resolved to commits, commits read in memory as a [`SourceTree`](crate::source::SourceTree),
//! signatures verified against the keys an app trusts, and cheap "has the ref moved?" polls.
//!
//! Everything here is blocking (gix's blocking client, reqwest's blocking HTTP): from async
//! code, call it on a blocking thread.

mod cache;
mod revision;
mod tree;
mod url;
mod verify;
pub mod webhook;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use cache::{CachedRepo, GitSources, Poll};
pub use revision::{RefEntry, RefList, looks_like_range, parse_range};
pub use tree::GitTree;
pub use url::{RepoUrl, redact};
pub use verify::{Signature, TrustedKeys, check as check_signature, split_commit, split_tag};

pub use crate::spec::SignatureMode;

/// Why a Git source could not be used. Every message names the URL (without its password), and
/// the revision and commit when they are known, and says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GitError {
    #[error("{url}: not a usable repository URL: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error(
        "cannot use the Git cache {} for {url}: {message}; check that the cache directory is writable (--cache-dir, PLUMB_CACHE_DIR)",
        path.display()
    )]
    Cache {
        url: String,
        path: PathBuf,
        message: String,
    },
    #[error("{url}: authentication failed: {message}; {hint}")]
    Auth {
        url: String,
        message: String,
        hint: String,
    },
    #[error(
        "cannot fetch {url}: {message}; check the URL, that the server is up and reachable from here, and the credentials"
    )]
    Fetch { url: String, message: String },
    #[error(
        "{url}: revision {rev:?} is not a branch, tag or commit of the repository ({available})"
    )]
    RevisionNotFound {
        url: String,
        rev: String,
        available: String,
    },
    #[error(
        "{url}: no tag satisfies the range {rev:?} (version tags: {versions}); push a matching tag or widen the range"
    )]
    NoMatchingTag {
        url: String,
        rev: String,
        versions: String,
    },
    #[error("{url}: revision {rev:?}: {reason}")]
    BadRevision {
        url: String,
        rev: String,
        reason: String,
    },
    #[error(
        "{url}: commit {commit} (revision {rev:?}) is not in any branch or tag fetched from the repository; push it to a branch or tag, or check the id"
    )]
    CommitNotFound {
        url: String,
        rev: String,
        commit: String,
    },
    #[error("{url}: cannot read {what} {commit} (revision {rev:?}): {message}")]
    Object {
        url: String,
        rev: String,
        commit: String,
        what: &'static str,
        message: String,
    },
    #[error(
        "{url}: the app path {path:?} is not a directory at revision {rev:?} (commit {commit}); check the path (--path, spec.source.path)"
    )]
    PathNotFound {
        url: String,
        rev: String,
        commit: String,
        path: String,
    },
    #[error("{url}: refusing commit {commit} (revision {rev:?}): {reason}")]
    Unverified {
        url: String,
        rev: String,
        commit: String,
        reason: String,
    },
    #[error("{url}: {reason}; fix spec.source.trustedKeys")]
    TrustedKeys { url: String, reason: String },
}

/// How a user or service authenticates to Git servers. HTTPS uses basic auth (a token is sent
/// as the password); SSH runs `ssh` in batch mode with host keys always checked.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    pub username: Option<String>,
    /// A password or an access token.
    pub password: Option<String>,
    /// Private key for SSH (`-i`); without it, ssh's defaults and agent.
    pub ssh_key: Option<PathBuf>,
    /// known_hosts file for SSH; without it, ssh's default (`~/.ssh/known_hosts`).
    pub known_hosts: Option<PathBuf>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("ssh_key", &self.ssh_key)
            .field("known_hosts", &self.known_hosts)
            .finish()
    }
}

impl Credentials {
    /// From the environment: `PLUMB_GIT_TOKEN` (sent as the password, user
    /// `PLUMB_GIT_USERNAME` or `x-access-token`), or `PLUMB_GIT_USERNAME` + `PLUMB_GIT_PASSWORD`;
    /// `PLUMB_GIT_SSH_KEY`, `PLUMB_GIT_KNOWN_HOSTS`.
    pub fn from_env() -> Credentials {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let token = var("PLUMB_GIT_TOKEN");
        let username = var("PLUMB_GIT_USERNAME");
        let (username, password) = match token {
            Some(t) => (
                Some(username.unwrap_or_else(|| "x-access-token".into())),
                Some(t),
            ),
            None => (username, var("PLUMB_GIT_PASSWORD")),
        };
        Credentials {
            username,
            password,
            ssh_key: var("PLUMB_GIT_SSH_KEY").map(PathBuf::from),
            known_hosts: var("PLUMB_GIT_KNOWN_HOSTS").map(PathBuf::from),
        }
    }

    /// The `ssh` command gix runs: batch mode (never a prompt), host keys always checked, and a
    /// connection that stops answering for about `timeout` dropped rather than waited on forever.
    pub fn ssh_command(&self, timeout: std::time::Duration) -> String {
        let secs = timeout.as_secs().max(1);
        let alive = secs.div_ceil(3).max(1);
        let mut cmd = format!(
            "ssh -o BatchMode=yes -o StrictHostKeyChecking=yes -o ConnectTimeout={secs} \
             -o ServerAliveInterval={alive} -o ServerAliveCountMax=3"
        );
        if let Some(kh) = &self.known_hosts {
            cmd.push_str(" -o UserKnownHostsFile=");
            cmd.push_str(&shell_quote(&kh.display().to_string()));
        }
        if let Some(key) = &self.ssh_key {
            cmd.push_str(" -o IdentitiesOnly=yes -i ");
            cmd.push_str(&shell_quote(&key.display().to_string()));
        }
        cmd
    }
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Whether and how signatures are checked, and against which keys.
#[derive(Debug, Clone, Default)]
pub struct Verification {
    pub mode: SignatureMode,
    pub keys: TrustedKeys,
}

/// One app's source: a repository, a revision and a path in it.
#[derive(Debug, Clone)]
pub struct SourceRequest {
    pub url: String,
    /// Branch, tag, semver range over tags, commit id; empty or `HEAD` for the default branch.
    pub revision: String,
    /// The app's directory inside the repository ("" for the root).
    pub path: String,
    pub verification: Verification,
}

/// A commit, as plumb reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    /// The full commit id (hex).
    pub id: String,
    /// `Name <email>`.
    pub author: String,
    /// Seconds since the Unix epoch.
    pub author_time: i64,
    pub committer: String,
    /// The committer time: what the plugin sandbox's clock reads.
    pub commit_time: i64,
    pub message: String,
}

/// A revision of a repository, resolved, verified and ready to read.
pub struct Checkout {
    /// The URL (without password).
    pub url: String,
    /// The revision as asked for.
    pub revision: String,
    /// The reference it resolved through (`refs/heads/main`), if any.
    pub ref_name: Option<String>,
    pub commit: CommitInfo,
    /// The signature check's finding (`None` with `signatureMode: off`).
    pub signature: Option<Signature>,
    /// The app's path inside the repository.
    pub path: String,
    pub tree: Arc<GitTree>,
    /// To show with the render: a failed fetch (rendering from the cache), a warned signature.
    pub warnings: Vec<String>,
    /// The fetch failed and this is the last fetched revision from the cache.
    pub stale: bool,
}

/// The plumb cache's Git directory under `cache_root` (`~/.cache/plumb/git`).
pub fn git_cache_dir(cache_root: &Path) -> PathBuf {
    cache_root.join("git")
}

/// Installs rustls' ring provider for the process, once. gix's HTTP transport builds reqwest
/// clients without a provider of their own (`rustls-no-provider`), and kube uses ring too.
pub(crate) fn install_tls_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err means a provider is already installed: fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// An error and its causes on one line, repeated messages once.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let s = err.to_string();
        if !s.is_empty() && !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        cur = err.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_command_checks_host_keys_and_quotes_paths() {
        let c = Credentials {
            ssh_key: Some("/keys/it's key".into()),
            known_hosts: Some("/kh".into()),
            ..Default::default()
        };
        let cmd = c.ssh_command(std::time::Duration::from_secs(30));
        assert!(cmd.contains("StrictHostKeyChecking=yes"), "{cmd}");
        assert!(cmd.contains("ConnectTimeout=30"), "{cmd}");
        assert!(cmd.contains("ServerAliveInterval=10"), "{cmd}");
        assert!(cmd.contains("BatchMode=yes"), "{cmd}");
        assert!(cmd.contains("UserKnownHostsFile='/kh'"), "{cmd}");
        assert!(cmd.contains("-i '/keys/it'\\''s key'"), "{cmd}");
        assert!(
            !format!(
                "{:?}",
                Credentials {
                    password: Some("s3cret".into()),
                    ..c
                }
            )
            .contains("s3cret")
        );
    }
}
