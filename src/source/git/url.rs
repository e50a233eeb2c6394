//! Repository URLs: which transports are allowed, the normalised form that names a cache, and
//! the form that is safe to print.

use std::path::Path;

use gix::bstr::ByteSlice;
use sha2::{Digest, Sha256};

use super::GitError;

/// A repository URL plumb accepts: `https://`, `http://`, `ssh://`, scp-like (`git@host:org/repo`),
/// `git://`, `file://` or a local path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoUrl {
    /// What to connect to (a local path made absolute as `file://`).
    pub(crate) url: gix::Url,
    /// Scheme, host, port and path, lowercased where Git is case-insensitive, without user,
    /// password, default port, trailing `/` or `.git`. Names the cache.
    normalised: String,
}

impl RepoUrl {
    /// Parses and checks `input`. Remote helpers (`ext::…`, `foo::…`) are refused: they run
    /// commands on this machine.
    pub fn parse(input: &str) -> Result<RepoUrl, GitError> {
        let invalid = |reason: String| GitError::InvalidUrl {
            url: redact(input),
            reason,
        };
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(invalid("the URL is empty".into()));
        }
        let mut url = gix::url::parse(gix::bstr::BStr::new(trimmed.as_bytes()))
            .map_err(|e| invalid(format!("{e}")))?;
        use gix::url::Scheme;
        match url.scheme {
            Scheme::Https | Scheme::Http | Scheme::Ssh | Scheme::Git => {}
            Scheme::File => {
                let path = gix::path::from_bstr(url.path.as_bstr())
                    .map_err(|e| invalid(format!("{e}")))?
                    .into_owned();
                let abs = std::path::absolute(&path).map_err(|e| {
                    invalid(format!("cannot make {} absolute: {e}", path.display()))
                })?;
                let abs = abs.canonicalize().unwrap_or(abs);
                url = gix::Url::from_parts(
                    Scheme::File,
                    None,
                    None,
                    None,
                    None,
                    gix::path::into_bstr(abs)
                        .map_err(|e| invalid(format!("{e}")))?
                        .into_owned(),
                    false,
                )
                .map_err(|e| invalid(format!("{e}")))?;
            }
            other => {
                return Err(invalid(format!(
                    "the {other:?} transport is not allowed; use https://, ssh://, git://, file:// or a path"
                )));
            }
        }
        if url.scheme != Scheme::File && url.host().is_none_or(str::is_empty) {
            return Err(invalid("no host".into()));
        }
        let normalised = normalise(&url);
        Ok(RepoUrl { url, normalised })
    }

    /// The normalised form (see the field).
    pub fn normalised(&self) -> &str {
        &self.normalised
    }

    /// Host and path only (`github.com/org/repo`): the same repository reached over HTTPS or SSH.
    /// Webhooks name repositories this way.
    pub fn identity(&self) -> &str {
        self.normalised
            .split_once("://")
            .map(|(_, rest)| rest)
            .unwrap_or(&self.normalised)
    }

    /// The cache directory's name: a digest of the normalised URL.
    pub fn cache_key(&self) -> String {
        hex::encode(&Sha256::digest(self.normalised.as_bytes())[..16])
    }

    /// The URL to print: without a password.
    pub fn display(&self) -> String {
        let mut u = self.url.clone();
        if u.password().is_some() {
            u.set_password(Some("***".into()));
        }
        u.to_bstring().to_string()
    }

    pub fn is_file(&self) -> bool {
        self.url.scheme == gix::url::Scheme::File
    }

    pub fn is_ssh(&self) -> bool {
        self.url.scheme == gix::url::Scheme::Ssh
    }

    pub fn is_http(&self) -> bool {
        matches!(
            self.url.scheme,
            gix::url::Scheme::Http | gix::url::Scheme::Https
        )
    }

    /// Plain HTTP to a host other than loopback: credentials would cross the network unencrypted.
    pub fn is_cleartext_http(&self) -> bool {
        self.url.scheme == gix::url::Scheme::Http
            && !matches!(
                self.url.host(),
                Some("127.0.0.1" | "localhost" | "::1" | "[::1]")
            )
    }

    /// The local repository of a `file://` URL.
    pub fn local_path(&self) -> Option<&Path> {
        self.is_file()
            .then(|| Path::new(std::str::from_utf8(self.url.path.as_bytes()).unwrap_or("")))
    }
}

impl std::fmt::Display for RepoUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display())
    }
}

fn normalise(url: &gix::Url) -> String {
    use gix::url::Scheme;
    let scheme = match url.scheme {
        Scheme::File => "file",
        Scheme::Git => "git",
        Scheme::Ssh => "ssh",
        Scheme::Http => "http",
        Scheme::Https => "https",
        _ => "other",
    };
    let host = url.host().unwrap_or("").to_ascii_lowercase();
    let default_port = match url.scheme {
        Scheme::Git => Some(9418),
        Scheme::Ssh => Some(22),
        Scheme::Http => Some(80),
        Scheme::Https => Some(443),
        _ => None,
    };
    let port = match url.port {
        Some(p) if Some(p) != default_port => format!(":{p}"),
        _ => String::new(),
    };
    let mut path = String::from_utf8_lossy(url.path.as_bytes()).into_owned();
    while path.len() > 1 && path.ends_with('/') {
        path.pop();
    }
    if url.scheme != Scheme::File
        && let Some(p) = path.strip_suffix(".git")
    {
        path = p.to_string();
    }
    if !path.starts_with('/') {
        path.insert(0, '/');
    }
    format!("{scheme}://{host}{port}{path}")
}

/// `input` with any password replaced, for messages about URLs that did not parse.
pub fn redact(input: &str) -> String {
    if let Some((scheme, rest)) = input.split_once("://")
        && let Some((userinfo, host)) = rest.split_once('@')
        && !userinfo.contains('/')
        && let Some((user, _)) = userinfo.split_once(':')
    {
        return format!("{scheme}://{user}:***@{host}");
    }
    input.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_equivalent_spellings_to_one_cache() {
        let a = RepoUrl::parse("https://GitHub.com/org/repo.git/").unwrap();
        let b = RepoUrl::parse("https://user:secret@github.com:443/org/repo").unwrap();
        assert_eq!(a.normalised(), "https://github.com/org/repo");
        assert_eq!(a.cache_key(), b.cache_key());
        let s = RepoUrl::parse("git@github.com:org/repo.git").unwrap();
        let t = RepoUrl::parse("ssh://git@github.com/org/repo").unwrap();
        assert_eq!(s.normalised(), "ssh://github.com/org/repo");
        assert_eq!(s.cache_key(), t.cache_key());
        assert_eq!(s.identity(), a.identity());
        assert_ne!(s.cache_key(), a.cache_key());
        let g = RepoUrl::parse("git://127.0.0.1:9999/repo").unwrap();
        assert_eq!(g.normalised(), "git://127.0.0.1:9999/repo");
    }

    #[test]
    fn passwords_never_print() {
        let b = RepoUrl::parse("https://user:secret@github.com/org/repo").unwrap();
        assert!(!b.display().contains("secret"), "{}", b.display());
        assert_eq!(redact("https://u:tok@h/x"), "https://u:***@h/x".to_string());
    }

    #[test]
    fn local_paths_become_absolute_file_urls() {
        let d = tempfile::tempdir().unwrap();
        let u = RepoUrl::parse(d.path().to_str().unwrap()).unwrap();
        assert!(u.is_file());
        assert!(u.normalised().starts_with("file:///"), "{}", u.normalised());
        let v = RepoUrl::parse(&format!("file://{}", d.path().display())).unwrap();
        assert_eq!(u.cache_key(), v.cache_key());
    }

    #[test]
    fn remote_helpers_and_garbage_are_refused() {
        for bad in ["ext::sh -c touch% /tmp/pwned", "", "https://"] {
            assert!(
                matches!(RepoUrl::parse(bad), Err(GitError::InvalidUrl { .. })),
                "{bad:?} must be refused"
            );
        }
    }
}
