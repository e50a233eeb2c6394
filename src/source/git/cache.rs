//! The repository cache: one bare mirror per normalised URL under `<cache>/git/<digest>`,
//! shared by every app using that repository. Fetches take an exclusive file lock on
//! `<digest>.lock` (other processes wait), and within one process a fetch asked for while
//! another is running waits for it and reuses it.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gix::ObjectId;
use gix::bstr::ByteSlice;
use gix::refs::transaction::{Change, LogChange, PreviousValue, RefEdit, RefLog};
use gix::remote::Direction;
use tracing::{debug, info, info_span, warn};

use super::revision::{self, RefEntry, RefList, Resolved, Target, Unresolved};
use super::tree::GitTree;
use super::url::RepoUrl;
use super::verify::{self, Signature};
use super::{
    Checkout, CommitInfo, Credentials, GitError, SignatureMode, SourceRequest, Verification, chain,
    install_tls_provider,
};
use crate::source::{EntryKind, SourceTree};

/// How long a Git server may stay silent before a fetch or poll gives up (reqwest's default
/// for HTTP, applied to git:// and ssh as well): a hung server must not stall its apps forever.
pub const DEFAULT_NETWORK_TIMEOUT: Duration = Duration::from_secs(30);

/// All repositories plumb reads, cached under one directory.
pub struct GitSources {
    root: PathBuf,
    credentials: Credentials,
    network_timeout: Duration,
    repos: Mutex<HashMap<String, Arc<CachedRepo>>>,
    fetches: Arc<AtomicU64>,
}

impl std::fmt::Debug for GitSources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitSources")
            .field("root", &self.root)
            .finish()
    }
}

impl GitSources {
    /// Repositories cached under `git_dir` (see [`super::git_cache_dir`]), with credentials from
    /// the environment ([`Credentials::from_env`]).
    pub fn new(git_dir: impl Into<PathBuf>) -> GitSources {
        GitSources {
            root: git_dir.into(),
            credentials: Credentials::from_env(),
            network_timeout: DEFAULT_NETWORK_TIMEOUT,
            repos: Mutex::new(HashMap::new()),
            fetches: Arc::new(AtomicU64::new(0)),
        }
    }

    pub fn with_credentials(mut self, credentials: Credentials) -> GitSources {
        self.credentials = credentials;
        self
    }

    /// How long a server may stay silent (connecting, or mid-transfer) before the fetch or poll
    /// fails; the last fetched revision stays usable. Set before the first [`Self::repo`].
    pub fn with_network_timeout(mut self, timeout: Duration) -> GitSources {
        self.network_timeout = timeout;
        self
    }

    pub fn dir(&self) -> &Path {
        &self.root
    }

    /// Fetches performed so far (ls-refs polls not counted).
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    /// The cached repository for `url`, registered on first use.
    pub fn repo(&self, url: &str) -> Result<Arc<CachedRepo>, GitError> {
        let url = RepoUrl::parse(url)?;
        let key = url.cache_key();
        let mut repos = self.repos.lock().map_err(|_| GitError::Cache {
            url: url.display(),
            path: self.root.clone(),
            message: "the repository table is poisoned".into(),
        })?;
        Ok(repos
            .entry(key.clone())
            .or_insert_with(|| {
                Arc::new(CachedRepo {
                    dir: self.root.join(&key),
                    lock_path: self.root.join(format!("{key}.lock")),
                    url,
                    credentials: self.credentials.clone(),
                    network_timeout: self.network_timeout,
                    fetch: Mutex::new(FetchState::default()),
                    fetches: self.fetches.clone(),
                })
            })
            .clone())
    }

    /// Repositories registered so far (a webhook only ever fetches one of these).
    pub fn repos(&self) -> Vec<Arc<CachedRepo>> {
        self.repos
            .lock()
            .map(|r| r.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Fetches the repository (unless a fetch started since this call began is reused), then
    /// resolves, verifies and opens the revision. When the fetch fails but the cache can
    /// resolve the revision, that last fetched revision is used, with a warning naming the error.
    pub fn checkout(&self, req: &SourceRequest) -> Result<Checkout, GitError> {
        let repo = self.repo(&req.url)?;
        let fetched = repo.fetch_since(Instant::now());
        repo.checkout_after(req, fetched)
    }

    /// Several apps at once: one fetch per repository, then each app's revision.
    pub fn checkout_all(&self, reqs: &[SourceRequest]) -> Vec<Result<Checkout, GitError>> {
        let started = Instant::now();
        let mut fetched: HashMap<String, Result<RefList, GitError>> = HashMap::new();
        reqs.iter()
            .map(|req| {
                let repo = self.repo(&req.url)?;
                let key = repo.url.cache_key();
                let refs = fetched
                    .entry(key)
                    .or_insert_with(|| repo.fetch_since(started))
                    .clone();
                repo.checkout_after(req, refs)
            })
            .collect()
    }

    /// Has `revision` of `url` moved away from `known` (a commit id)? Asks the server for its
    /// references only (ls-refs / the v0 advertisement): no pack is downloaded, nothing is
    /// written. Returns the commit the revision names now.
    pub fn poll(&self, url: &str, revision: &str, known: Option<&str>) -> Result<Poll, GitError> {
        let repo = self.repo(url)?;
        let refs = repo.ls_remote()?;
        let now = match revision::resolve(revision, &refs) {
            Ok(Resolved {
                target: Target::Commit(id),
                ..
            }) => id.to_string(),
            // A commit id prefix never moves.
            Ok(Resolved {
                target: Target::Prefix(p),
                ..
            }) => {
                return Ok(match known {
                    Some(k) if k.starts_with(&p) => Poll::Unchanged(k.to_string()),
                    _ => Poll::Unknown,
                });
            }
            Err(u) => return Err(repo.unresolved(revision, u, &refs)),
        };
        Ok(match known {
            Some(k) if k == now => Poll::Unchanged(now),
            _ => Poll::Moved {
                from: known.map(str::to_string),
                to: now,
            },
        })
    }
}

/// What a poll found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll {
    Unchanged(String),
    Moved {
        from: Option<String>,
        to: String,
    },
    /// An abbreviated commit id not matching the known commit: fetch to find out.
    Unknown,
}

impl Poll {
    pub fn moved(&self) -> bool {
        !matches!(self, Poll::Unchanged(_))
    }
}

#[derive(Default)]
struct FetchState {
    /// When the last fetch started, and what it gave.
    last: Option<(Instant, Result<RefList, GitError>)>,
}

/// One repository's cache.
pub struct CachedRepo {
    url: RepoUrl,
    dir: PathBuf,
    lock_path: PathBuf,
    credentials: Credentials,
    network_timeout: Duration,
    fetch: Mutex<FetchState>,
    fetches: Arc<AtomicU64>,
}

impl std::fmt::Debug for CachedRepo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedRepo")
            .field("url", &self.url.display())
            .field("dir", &self.dir)
            .finish()
    }
}

/// Says which limit a timed-out socket operation hit, so the error tells the user.
fn timed_out(e: std::io::Error, limit: Duration) -> std::io::Error {
    if matches!(
        e.kind(),
        std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
    ) {
        std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("the server did not answer within {limit:?} ({e})"),
        )
    } else {
        e
    }
}

/// Holds a repository's file lock until dropped.
struct RepoLock(File);

impl Drop for RepoLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

impl CachedRepo {
    pub fn url(&self) -> &RepoUrl {
        &self.url
    }

    /// The bare repository on disk.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn cache_err(&self, message: impl std::fmt::Display) -> GitError {
        GitError::Cache {
            url: self.url.display(),
            path: self.dir.clone(),
            message: message.to_string(),
        }
    }

    fn lock(&self) -> Result<RepoLock, GitError> {
        if let Some(parent) = self.lock_path.parent() {
            create_private_dir(parent).map_err(|e| self.cache_err(e))?;
        }
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&self.lock_path)
            .map_err(|e| {
                self.cache_err(format!(
                    "cannot open the lock {}: {e}",
                    self.lock_path.display()
                ))
            })?;
        if file.try_lock().is_err() {
            debug!(url = %self.url, "waiting for another process fetching this repository");
            file.lock().map_err(|e| {
                self.cache_err(format!("cannot lock {}: {e}", self.lock_path.display()))
            })?;
        }
        Ok(RepoLock(file))
    }

    fn config_overrides(&self) -> Vec<String> {
        let mut o = vec!["protocol.version=2".to_string()];
        if self.url.is_ssh() {
            o.push(format!(
                "core.sshCommand={}",
                self.credentials.ssh_command(self.network_timeout)
            ));
            o.push("ssh.variant=ssh".into());
        }
        o
    }

    /// Opens the cache (which must exist), ignoring the user's and system's Git configuration.
    pub fn open(&self) -> Result<gix::Repository, GitError> {
        let opts = gix::open::Options::isolated().config_overrides(self.config_overrides());
        gix::open_opts(&self.dir, opts).map_err(|e| self.cache_err(chain(&e)))
    }

    /// Creates the bare cache if it is missing; the caller holds the lock.
    fn ensure(&self) -> Result<gix::Repository, GitError> {
        if !self.dir.join("HEAD").is_file() {
            let tmp = self
                .dir
                .with_extension(format!("init-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&tmp);
            gix::init_bare(&tmp).map_err(|e| self.cache_err(chain(&e)))?;
            let _ = std::fs::write(tmp.join("plumb-url"), format!("{}\n", self.url.display()));
            let _ = std::fs::remove_dir_all(&self.dir);
            std::fs::rename(&tmp, &self.dir).map_err(|e| self.cache_err(e))?;
            info!(url = %self.url, dir = %self.dir.display(), "created the repository cache");
        }
        self.open()
    }

    /// Whether the cache holds anything at all.
    pub fn is_cached(&self) -> bool {
        self.dir.join("HEAD").is_file()
    }

    /// Fetches now, unless a fetch that started at or after `since` already finished (then its
    /// outcome is reused: the two callers wanted the same thing).
    pub fn fetch_since(&self, since: Instant) -> Result<RefList, GitError> {
        let mut state = self
            .fetch
            .lock()
            .map_err(|_| self.cache_err("fetch state poisoned"))?;
        if let Some((started, outcome)) = &state.last
            && *started >= since
        {
            debug!(url = %self.url, "reusing a fetch that started after this request");
            return outcome.clone();
        }
        let started = Instant::now();
        let outcome = self.fetch_now();
        state.last = Some((started, outcome.clone()));
        outcome
    }

    /// Fetches every branch and tag now (incrementally), mirroring the server's refs.
    pub fn fetch(&self) -> Result<RefList, GitError> {
        self.fetch_since(Instant::now())
    }

    fn fetch_now(&self) -> Result<RefList, GitError> {
        let _span = info_span!("git_fetch", url = %self.url).entered();
        let t = Instant::now();
        let _lock = self.lock()?;
        let repo = self.ensure()?;
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let asked = Arc::new(AtomicBool::new(false));
        let remote = self.remote(&repo)?;
        let conn = self.connection(&remote, &asked)?;
        let options = gix::remote::ref_map::Options {
            extra_refspecs: head_refspec(),
            ..Default::default()
        };
        let connected = t.elapsed();
        let prepare = conn
            .prepare_fetch(gix::progress::Discard, options)
            .map_err(|e| self.net_err(&e, &asked))?
            .with_write_packed_refs_only(true);
        let listed = t.elapsed();
        let outcome = prepare
            .receive(gix::progress::Discard, &AtomicBool::new(false))
            .map_err(|e| self.net_err(&e, &asked))?;
        let received_at = t.elapsed();
        let refs = ref_list(&outcome.ref_map.remote_refs);
        self.mirror(&repo, &refs)?;
        let received = matches!(outcome.status, gix::remote::fetch::Status::Change { .. });
        info!(
            url = %self.url,
            refs = refs.refs.len(),
            pack = received,
            elapsed = ?t.elapsed(),
            ?connected,
            ?listed,
            received = ?received_at,
            "fetched"
        );
        Ok(refs)
    }

    /// Connects, answering credential requests from the configuration; `asked` records whether
    /// the server asked (so that a failure reads as an authentication problem).
    fn connection<'a, 'r>(
        &self,
        remote: &'a gix::Remote<'r>,
        asked: &Arc<AtomicBool>,
    ) -> Result<
        gix::remote::Connection<
            'a,
            'static,
            'r,
            Box<dyn gix::protocol::transport::client::blocking_io::Transport + Send>,
        >,
        GitError,
    > {
        Ok(self
            .connect(remote)
            .map_err(|e| self.net_err(&e, asked))?
            .with_credentials(self.authenticate(asked.clone())))
    }

    /// Connects for fetching. git:// gets its TCP stream here, with `TCP_NODELAY`: gix writes
    /// pkt-lines in small writes, and Nagle's algorithm against the server's delayed ACKs cost
    /// ~40 ms per round trip.
    fn connect<'a, 'r>(
        &self,
        remote: &'a gix::Remote<'r>,
    ) -> gix::Result<
        gix::remote::Connection<
            'a,
            'static,
            'r,
            Box<dyn gix::protocol::transport::client::blocking_io::Transport + Send>,
        >,
    > {
        use gix::protocol::transport::client::git::{ConnectMode, blocking_io::Connection};
        let url = &self.url.url;
        let host = url.host().unwrap_or_default();
        if url.scheme != gix::url::Scheme::Git || host.is_empty() {
            let conn = remote.connect(Direction::Fetch)?;
            return Ok(match self.http_options(remote.repo()) {
                Some(options) => conn.with_transport_options(options),
                None => conn,
            });
        }
        let port = url.port.unwrap_or(9418);
        let io = |e: std::io::Error| gix::Error::from_error(e);
        let addr = std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
            .map_err(io)?
            .next()
            .ok_or_else(|| io(std::io::Error::other(format!("{host} has no address"))))?;
        let stream = std::net::TcpStream::connect_timeout(&addr, self.network_timeout)
            .map_err(|e| io(timed_out(e, self.network_timeout)))?;
        stream.set_nodelay(true).map_err(io)?;
        stream
            .set_read_timeout(Some(self.network_timeout))
            .map_err(io)?;
        stream
            .set_write_timeout(Some(self.network_timeout))
            .map_err(io)?;
        let write = stream.try_clone().map_err(io)?;
        let transport = Connection::new(
            stream,
            write,
            gix::protocol::transport::Protocol::V2,
            url.path.clone(),
            Some((host.to_string(), url.port)),
            ConnectMode::Daemon,
            false,
        );
        Ok(remote.to_connection_with_transport(Box::new(transport)))
    }

    /// gix's HTTP options for this URL, with reqwest's per-response and per-read timeout set
    /// to the network timeout (its default is 30 s). `None` for other schemes.
    fn http_options(&self, repo: &gix::Repository) -> Option<Box<dyn std::any::Any>> {
        use gix::protocol::transport::client::blocking_io::http;
        if !self.url.is_http() {
            return None;
        }
        let url = self.url.url.to_bstring();
        let options = repo.transport_options(url.as_bstr(), None).ok()??;
        let mut options = options.downcast::<http::Options>().ok()?;
        let timeout = self.network_timeout;
        options.backend = Some(Arc::new(Mutex::new(http::reqwest::Options {
            configure_client: Some(Box::new(move |builder| Ok(builder.timeout(timeout)))),
            configure_request: None,
        })));
        Some(options)
    }

    fn remote<'r>(&self, repo: &'r gix::Repository) -> Result<gix::Remote<'r>, GitError> {
        install_tls_provider();
        repo.remote_at(self.url.url.clone())
            .and_then(|r| {
                r.with_refspecs(
                    ["+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"],
                    Direction::Fetch,
                )
            })
            .map(|r| r.with_fetch_tags(gix::remote::fetch::Tags::None))
            .map_err(|e| GitError::InvalidUrl {
                url: self.url.display(),
                reason: chain(&e),
            })
    }

    /// Supplies the configured credentials when a server asks; never prompts.
    fn authenticate(
        &self,
        asked: Arc<AtomicBool>,
    ) -> impl FnMut(
        gix::credentials::helper::Action,
    ) -> gix::Result<Option<gix::credentials::protocol::Outcome>>
    + use<> {
        let creds = self.credentials.clone();
        let cleartext = self.url.is_cleartext_http();
        move |action| {
            use gix::credentials::helper::Action;
            match action {
                Action::Get(ctx) => {
                    asked.store(true, Ordering::Relaxed);
                    if cleartext {
                        return Err(gix::Error::from_error(std::io::Error::other(
                            "plumb sends credentials over plain http:// only to loopback; use https://",
                        )));
                    }
                    // Configured credentials first, else a password in the URL itself.
                    match creds.password.as_ref().or(ctx.password.as_ref()) {
                        Some(password) => Ok(Some(gix::credentials::protocol::Outcome {
                            identity: gix::sec::identity::Account {
                                username: creds
                                    .username
                                    .clone()
                                    .or(ctx.username.clone())
                                    .unwrap_or_default(),
                                password: password.clone(),
                                oauth_refresh_token: None,
                            },
                            next: ctx.into(),
                        })),
                        None => Err(gix::Error::from_error(std::io::Error::other(
                            "the server asks for credentials and none are configured",
                        ))),
                    }
                }
                Action::Store(_) | Action::Erase(_) => Ok(None),
            }
        }
    }

    fn net_err(&self, e: &gix::Error, asked: &AtomicBool) -> GitError {
        let message = chain(e);
        let auth = asked.load(Ordering::Relaxed)
            || matches!(e.dominant_class(), Some(gix::error::Class::Unauthenticated))
            || message.contains("Permission denied (publickey")
            || message.contains("Host key verification failed");
        if auth {
            let hint = if self.url.is_ssh() {
                "give a key the server accepts (PLUMB_GIT_SSH_KEY) and the server's host key in known_hosts (PLUMB_GIT_KNOWN_HOSTS)"
            } else if self.credentials.password.is_some() {
                "the server refused the configured credentials; check PLUMB_GIT_USERNAME and PLUMB_GIT_TOKEN / PLUMB_GIT_PASSWORD"
            } else {
                "set PLUMB_GIT_TOKEN (or PLUMB_GIT_USERNAME and PLUMB_GIT_PASSWORD)"
            };
            return GitError::Auth {
                url: self.url.display(),
                message,
                hint: hint.into(),
            };
        }
        // A read past SO_RCVTIMEO surfaces as EAGAIN ("Resource temporarily unavailable").
        let silent = [
            "timed out",
            "Timeout",
            "temporarily unavailable",
            "did not answer",
        ]
        .iter()
        .any(|m| message.contains(m));
        let message = if silent {
            format!(
                "{message} (the server stayed silent for longer than the network timeout, {:?}; the last fetched revision stays usable)",
                self.network_timeout
            )
        } else if self.url.is_ssh() && message.contains("handshake") {
            format!(
                "{message} (ssh could not connect or authenticate; its own message is on stderr: check the key, PLUMB_GIT_SSH_KEY, and that the server's host key is in known_hosts, PLUMB_GIT_KNOWN_HOSTS)"
            )
        } else {
            message
        };
        GitError::Fetch {
            url: self.url.display(),
            message,
        }
    }

    /// Makes the cache's branches and tags exactly the server's: deletes what the server no
    /// longer has, and points `HEAD` at the server's default branch.
    fn mirror(&self, repo: &gix::Repository, remote: &RefList) -> Result<(), GitError> {
        let local = self.local_refs(repo)?;
        let mut edits: Vec<RefEdit> = local
            .refs
            .iter()
            .filter(|l| remote.get(&l.name).is_none())
            .filter_map(|l| {
                Some(RefEdit::new(
                    l.name.as_str().try_into().ok()?,
                    Change::Delete {
                        expected: PreviousValue::Any,
                        log: RefLog::AndReference,
                    },
                ))
            })
            .collect();
        if let Some(head) = &remote.head
            && local.head.as_ref() != Some(head)
            && let Ok(target) = gix::refs::FullName::try_from(head.as_str())
        {
            edits.push(RefEdit::new(
                "HEAD".try_into().map_err(|e| self.cache_err(e))?,
                Change::Update {
                    log: LogChange::default(),
                    expected: PreviousValue::Any,
                    new: gix::refs::Target::Symbolic(target),
                },
            ));
        }
        if !edits.is_empty() {
            debug!(url = %self.url, edits = edits.len(), "pruning and pointing HEAD");
            repo.edit_references(edits)
                .map_err(|e| self.cache_err(chain(&e)))?;
        }
        Ok(())
    }

    /// The branches and tags in the cache.
    pub fn local_refs(&self, repo: &gix::Repository) -> Result<RefList, GitError> {
        let err = |e: gix::Error| self.cache_err(chain(&e));
        let mut refs = Vec::new();
        let platform = repo.references().map_err(err)?;
        for r in platform.all().map_err(err)? {
            let mut r = r.map_err(err)?;
            let name = r.name().as_bstr().to_string();
            if !(name.starts_with("refs/heads/") || name.starts_with("refs/tags/")) {
                continue;
            }
            let Some(target) = r.target().try_id().map(|id| id.to_owned()) else {
                continue;
            };
            let Ok(peeled) = r.peel_to_id() else {
                continue;
            };
            refs.push(RefEntry {
                name,
                target,
                peeled: peeled.detach(),
            });
        }
        refs.sort_by(|a, b| a.name.cmp(&b.name));
        let head = repo
            .head_name()
            .ok()
            .flatten()
            .map(|n| n.as_bstr().to_string())
            .filter(|h| refs.iter().any(|r| &r.name == h));
        Ok(RefList { refs, head })
    }

    /// The server's branches and tags, by ls-refs only (no pack).
    pub fn ls_remote(&self) -> Result<RefList, GitError> {
        let _span = info_span!("git_ls_refs", url = %self.url).entered();
        let repo = if self.is_cached() {
            self.open()?
        } else {
            let _lock = self.lock()?;
            self.ensure()?
        };
        let asked = Arc::new(AtomicBool::new(false));
        let remote = self.remote(&repo)?;
        let conn = self.connection(&remote, &asked)?;
        let options = gix::remote::ref_map::Options {
            extra_refspecs: head_refspec(),
            ..Default::default()
        };
        let (map, _) = conn
            .ref_map(gix::progress::Discard, options)
            .map_err(|e| self.net_err(&e, &asked))?;
        Ok(ref_list(&map.remote_refs))
    }

    fn unresolved(&self, rev: &str, u: Unresolved, refs: &RefList) -> GitError {
        let url = self.url.display();
        let rev = rev.to_string();
        match u {
            Unresolved::NotFound => GitError::RevisionNotFound {
                url,
                rev,
                available: refs.summary(),
            },
            Unresolved::NoMatchingTag { versions } => GitError::NoMatchingTag {
                url,
                rev,
                versions: if versions.is_empty() {
                    "none".into()
                } else {
                    versions.join(", ")
                },
            },
            Unresolved::BadRange(reason) => GitError::BadRevision { url, rev, reason },
            Unresolved::NoHead => GitError::BadRevision {
                url,
                rev,
                reason: "the repository names no default branch (empty repository?); give a branch or tag".into(),
            },
        }
    }

    /// Resolves, verifies and opens `req` after a fetch that gave `fetched`.
    pub fn checkout_after(
        &self,
        req: &SourceRequest,
        fetched: Result<RefList, GitError>,
    ) -> Result<Checkout, GitError> {
        let span = info_span!("git_checkout", url = %self.url, revision = %req.revision, commit = tracing::field::Empty);
        let _g = span.enter();
        let mut warnings = Vec::new();
        let (repo, refs, stale) = match fetched {
            Ok(refs) => (self.open()?, refs, false),
            Err(e @ (GitError::Fetch { .. } | GitError::Auth { .. })) if self.is_cached() => {
                let repo = self.open()?;
                let refs = self.local_refs(&repo)?;
                if refs.refs.is_empty() {
                    return Err(e);
                }
                warn!(url = %self.url, error = %e, "fetch failed; using the cache");
                warnings.push(format!(
                    "{e} — rendering the last fetched revision from the cache"
                ));
                (repo, refs, true)
            }
            Err(e) => return Err(e),
        };
        let resolved = revision::resolve(&req.revision, &refs)
            .map_err(|u| self.unresolved(&req.revision, u, &refs))?;
        let commit_id = match &resolved.target {
            Target::Commit(id) => *id,
            Target::Prefix(p) => {
                let found = gix::hash::Prefix::from_hex(p)
                    .ok()
                    .and_then(|prefix| repo.objects.lookup_prefix(prefix, None).ok().flatten());
                match found {
                    Some(Ok(id)) => id,
                    Some(Err(())) => {
                        return Err(GitError::BadRevision {
                            url: self.url.display(),
                            rev: req.revision.clone(),
                            reason: "the abbreviated commit id is ambiguous; give more digits"
                                .into(),
                        });
                    }
                    None => {
                        return Err(GitError::RevisionNotFound {
                            url: self.url.display(),
                            rev: req.revision.clone(),
                            available: refs.summary(),
                        });
                    }
                }
            }
        };
        span.record("commit", tracing::field::display(&commit_id));
        let not_found = || GitError::CommitNotFound {
            url: self.url.display(),
            rev: req.revision.clone(),
            commit: commit_id.to_string(),
        };
        let object_err = |what: &'static str, id: ObjectId, message: String| GitError::Object {
            url: self.url.display(),
            rev: req.revision.clone(),
            commit: id.to_string(),
            what,
            message,
        };
        if !repo.has_object(commit_id) {
            return Err(not_found());
        }
        let (commit, raw_commit) = {
            let c = repo
                .find_commit(commit_id)
                .map_err(|e| object_err("commit", commit_id, chain(&e)))?;
            (
                commit_info(&c).map_err(|m| object_err("commit", commit_id, m))?,
                c.data.clone(),
            )
        };

        let signature = self.verify(req, &repo, &resolved, &raw_commit, &commit, &mut warnings)?;

        let label = format!(
            "{}@{}",
            self.url.display(),
            &commit.id[..12.min(commit.id.len())]
        );
        let tree = GitTree::new(repo, commit_id, label)
            .map_err(|e| object_err("tree of commit", commit_id, e.to_string()))?;
        if !req.path.is_empty() && tree.stat(&req.path) != Ok(EntryKind::Directory) {
            return Err(GitError::PathNotFound {
                url: self.url.display(),
                rev: req.revision.clone(),
                commit: commit.id.clone(),
                path: req.path.clone(),
            });
        }
        info!(url = %self.url, revision = %req.revision, commit = %commit.id, stale, "checked out");
        Ok(Checkout {
            url: self.url.display(),
            revision: req.revision.clone(),
            ref_name: resolved.ref_name.clone(),
            commit,
            signature,
            path: req.path.clone(),
            tree: Arc::new(tree),
            warnings,
            stale,
        })
    }

    /// Applies the app's signature mode. An annotated tag signed by a trusted key vouches for
    /// its commit; otherwise the commit's own signature counts.
    fn verify(
        &self,
        req: &SourceRequest,
        repo: &gix::Repository,
        resolved: &Resolved,
        raw_commit: &[u8],
        commit: &CommitInfo,
        warnings: &mut Vec<String>,
    ) -> Result<Option<Signature>, GitError> {
        let Verification { mode, keys } = &req.verification;
        if *mode == SignatureMode::Off {
            return Ok(None);
        }
        let check = |raw: Option<(Vec<u8>, Vec<u8>)>| match raw {
            Some((sig, payload)) => verify::check(&sig, &payload, keys),
            None => Signature::Unsigned,
        };
        let commit_sig = check(verify::split_commit(raw_commit));
        let mut tag_sig = None;
        if !commit_sig.is_good()
            && let Some(tag_id) = resolved.tag
            && let Ok(tag) = repo.find_object(tag_id)
        {
            tag_sig = Some(check(verify::split_tag(&tag.data)));
        }
        let (what, found) = match tag_sig {
            Some(s) if s.is_good() => ("tag", s),
            Some(Signature::Unsigned) | None => ("commit", commit_sig),
            Some(s) => (
                "tag",
                match commit_sig {
                    Signature::Unsigned => s,
                    c => c,
                },
            ),
        };
        if found.is_good() {
            debug!(commit = %commit.id, signature = %found, "signature verified");
            return Ok(Some(found));
        }
        let trusted = if keys.is_empty() {
            "no trusted keys are configured".to_string()
        } else {
            format!("trusted keys: {}", keys.fingerprints().join(", "))
        };
        let what = if what == "tag" {
            format!(
                "the tag {} and its commit",
                resolved.ref_name.as_deref().unwrap_or("?")
            )
        } else {
            "the commit".to_string()
        };
        let reason = match &found {
            Signature::Unsigned => format!("{what} is not signed ({trusted})"),
            other => format!("{what}: {other} ({trusted})"),
        };
        match mode {
            SignatureMode::Require => Err(GitError::Unverified {
                url: self.url.display(),
                rev: req.revision.clone(),
                commit: commit.id.clone(),
                reason: format!(
                    "{reason}; signatureMode is require: sign it with a trusted key, or add the signer's public key to trustedKeys"
                ),
            }),
            _ => {
                warnings.push(format!(
                    "{}: commit {} (revision {:?}): {reason}",
                    self.url.display(),
                    commit.id,
                    req.revision
                ));
                Ok(Some(found))
            }
        }
    }
}

/// `HEAD` as an implicit refspec, so the server names its default branch.
fn head_refspec() -> Vec<gix::refspec::RefSpec> {
    gix::refspec::parse("HEAD".into(), gix::refspec::parse::Operation::Fetch)
        .map(|s| s.to_owned())
        .into_iter()
        .collect()
}

/// The advertised branches and tags, and the default branch.
fn ref_list(remote: &[gix::protocol::handshake::Ref]) -> RefList {
    use gix::protocol::handshake::Ref;
    let mut list = RefList::default();
    for r in remote {
        let (name, target, peeled) = match r {
            Ref::Direct {
                full_ref_name,
                object,
            } => (full_ref_name, *object, *object),
            Ref::Peeled {
                full_ref_name,
                tag,
                object,
            } => (full_ref_name, *tag, *object),
            Ref::Symbolic {
                full_ref_name,
                target,
                tag,
                object,
            } => {
                if full_ref_name == "HEAD" {
                    list.head = Some(target.to_string());
                }
                (full_ref_name, tag.unwrap_or(*object), *object)
            }
            Ref::Unborn { .. } => continue,
        };
        let name = name.to_string();
        if name.starts_with("refs/heads/") || name.starts_with("refs/tags/") {
            list.refs.push(RefEntry {
                name,
                target,
                peeled,
            });
        }
    }
    list.refs.sort_by(|a, b| a.name.cmp(&b.name));
    list.refs.dedup_by(|a, b| a.name == b.name);
    list
}

fn commit_info(c: &gix::Commit<'_>) -> Result<CommitInfo, String> {
    let author = c.author().map_err(|e| chain(&e))?;
    let committer = c.committer().map_err(|e| chain(&e))?;
    let person = |s: &gix::actor::SignatureRef<'_>| {
        format!(
            "{} <{}>",
            s.name.trim().to_str_lossy(),
            s.email.trim().to_str_lossy()
        )
    };
    Ok(CommitInfo {
        id: c.id.to_string(),
        author: person(&author),
        author_time: author.seconds(),
        committer: person(&committer),
        commit_time: committer.seconds(),
        message: c.message_raw_sloppy().to_str_lossy().into_owned(),
    })
}

/// The cache directory is private: other users cannot plant objects or read private sources.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}
