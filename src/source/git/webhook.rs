//! A webhook receiver: a push announced by GitHub (`X-Hub-Signature-256`), GitLab
//! (`X-Gitlab-Token`) or anything else signing its body with HMAC-SHA256
//! (`X-Plumb-Signature-256: sha256=<hex>`, body `{"repoURL": …, "ref": …}`) triggers an
//! immediate fetch of that repository — only of repositories plumb already uses, never of a URL
//! a request names. A request whose signature or token does not check out is refused (401).
//!
//! [`WebhookReceiver::handle`] is a plain `Request → Response` function for a server to mount;
//! [`WebhookReceiver::serve`] runs a small HTTP/1 server on a listener.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Body;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::broadcast;
use tracing::{debug, info, warn};

use super::{GitSources, RepoUrl};

/// Largest body accepted (GitHub caps payloads at 25 MB, but pushes are small).
const MAX_BODY: usize = 4 << 20;

/// Secrets shared with the senders; a provider without one is refused.
#[derive(Clone, Default)]
pub struct WebhookConfig {
    /// GitHub's webhook secret (HMAC-SHA256 of the body, `X-Hub-Signature-256`).
    pub github_secret: Option<String>,
    /// GitLab's secret token (`X-Gitlab-Token`).
    pub gitlab_token: Option<String>,
    /// Secret for generic senders (HMAC-SHA256 of the body, `X-Plumb-Signature-256`).
    pub generic_secret: Option<String>,
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |o: &Option<String>| if o.is_some() { "set" } else { "unset" };
        f.debug_struct("WebhookConfig")
            .field("github_secret", &set(&self.github_secret))
            .field("gitlab_token", &set(&self.gitlab_token))
            .field("generic_secret", &set(&self.generic_secret))
            .finish()
    }
}

/// A fetch a webhook triggered, and how it went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookFetch {
    pub provider: &'static str,
    /// The repository URL as plumb uses it.
    pub url: String,
    /// The pushed ref, when the payload names one.
    pub git_ref: Option<String>,
    /// `Err` holds the fetch error's message.
    pub result: Result<(), String>,
}

/// Receives push webhooks and fetches the repositories they name.
pub struct WebhookReceiver {
    config: WebhookConfig,
    sources: Arc<GitSources>,
    events: broadcast::Sender<WebhookFetch>,
}

impl WebhookReceiver {
    pub fn new(config: WebhookConfig, sources: Arc<GitSources>) -> Arc<WebhookReceiver> {
        let (events, _) = broadcast::channel(256);
        Arc::new(WebhookReceiver {
            config,
            sources,
            events,
        })
    }

    /// Fetches the receiver triggers, once each is done (for re-rendering the apps).
    pub fn subscribe(&self) -> broadcast::Receiver<WebhookFetch> {
        self.events.subscribe()
    }

    /// Serves HTTP/1 on `listener` until the task is dropped or aborted.
    pub async fn serve(self: Arc<Self>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        loop {
            let (stream, peer) = listener.accept().await?;
            let this = self.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req| {
                    let this = this.clone();
                    async move { Ok::<_, Infallible>(this.handle(req).await) }
                });
                if let Err(e) = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await
                {
                    debug!(%peer, error = %e, "webhook connection ended");
                }
            });
        }
    }

    /// Handles one request: checks the signature, finds the repositories, starts their fetches
    /// (on blocking threads) and answers 202 with the URLs being fetched.
    pub async fn handle<B>(&self, req: Request<B>) -> Response<Full<Bytes>>
    where
        B: Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        if req.method() != Method::POST {
            return reply(
                StatusCode::METHOD_NOT_ALLOWED,
                json!({"error": "POST a push event"}),
            );
        }
        let (parts, body) = req.into_parts();
        let body = match Limited::new(body, MAX_BODY).collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => {
                return reply(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    json!({"error": format!("cannot read the body (at most {MAX_BODY} bytes): {e}")}),
                );
            }
        };
        let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
        let (provider, event) = if let Some(ev) = header("x-github-event") {
            ("github", ev)
        } else if let Some(ev) = header("x-gitlab-event") {
            ("gitlab", ev)
        } else if header("x-gitlab-token").is_some() {
            ("gitlab", "")
        } else {
            ("generic", "push")
        };
        let authentic = match provider {
            "github" => match &self.config.github_secret {
                Some(secret) => hmac_ok(secret, &body, header("x-hub-signature-256")),
                None => return refuse_unconfigured(provider),
            },
            "gitlab" => match &self.config.gitlab_token {
                Some(token) => header("x-gitlab-token").is_some_and(|t| same_secret(t, token)),
                None => return refuse_unconfigured(provider),
            },
            _ => match &self.config.generic_secret {
                Some(secret) => hmac_ok(secret, &body, header("x-plumb-signature-256")),
                None => return refuse_unconfigured(provider),
            },
        };
        if !authentic {
            warn!(provider, "webhook refused: bad or missing signature");
            return reply(
                StatusCode::UNAUTHORIZED,
                json!({"error": format!("the {provider} webhook's signature or token does not match the configured secret")}),
            );
        }
        if provider == "github" && event == "ping" {
            return reply(StatusCode::OK, json!({"ok": "pong"}));
        }
        let payload: Value = match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return reply(
                    StatusCode::BAD_REQUEST,
                    json!({"error": format!("the body is not JSON: {e}")}),
                );
            }
        };
        let (urls, git_ref) = announced(provider, &payload);
        let wanted: Vec<String> = urls
            .iter()
            .filter_map(|u| RepoUrl::parse(u).ok())
            .map(|u| u.identity().to_string())
            .collect();
        let mut fetching = Vec::new();
        for repo in self.sources.repos() {
            if !wanted.iter().any(|w| w == repo.url().identity()) {
                continue;
            }
            let url = repo.url().display();
            fetching.push(url.clone());
            let events = self.events.clone();
            let git_ref = git_ref.clone();
            info!(provider, %url, git_ref = git_ref.as_deref().unwrap_or(""), "webhook: fetching");
            tokio::task::spawn_blocking(move || {
                let result = repo.fetch().map(|_| ()).map_err(|e| e.to_string());
                let _ = events.send(WebhookFetch {
                    provider,
                    url,
                    git_ref,
                    result,
                });
            });
        }
        if fetching.is_empty() {
            debug!(provider, ?urls, "webhook names no repository plumb uses");
        }
        reply(StatusCode::ACCEPTED, json!({"fetching": fetching}))
    }
}

fn reply(status: StatusCode, body: Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string() + "\n")));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    r
}

fn refuse_unconfigured(provider: &str) -> Response<Full<Bytes>> {
    reply(
        StatusCode::FORBIDDEN,
        json!({"error": format!("no secret is configured for {provider} webhooks")}),
    )
}

/// `sha256=<hex>` of HMAC-SHA256(secret, body), compared in constant time.
fn hmac_ok(secret: &str, body: &[u8], header: Option<&str>) -> bool {
    let Some(sig) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(sig) = hex::decode(sig) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// Compares digests, so the time taken says nothing about the secret.
fn same_secret(given: &str, expected: &str) -> bool {
    Sha256::digest(given.as_bytes()) == Sha256::digest(expected.as_bytes())
}

/// The repository URLs and ref a push payload names.
fn announced(provider: &str, p: &Value) -> (Vec<String>, Option<String>) {
    let s = |v: &Value| v.as_str().map(str::to_string);
    let keys: &[(&str, &str)] = match provider {
        "github" => &[
            ("repository", "clone_url"),
            ("repository", "ssh_url"),
            ("repository", "git_url"),
            ("repository", "html_url"),
        ],
        "gitlab" => &[
            ("project", "git_http_url"),
            ("project", "git_ssh_url"),
            ("project", "web_url"),
            ("repository", "git_http_url"),
            ("repository", "git_ssh_url"),
        ],
        _ => &[],
    };
    let mut urls: Vec<String> = keys.iter().filter_map(|(a, b)| s(&p[a][b])).collect();
    if provider == "generic" {
        urls.extend(s(&p["repoURL"]));
    }
    (urls, s(&p["ref"]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_signatures_check_out_or_not() {
        let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").unwrap();
        mac.update(b"{}");
        let good = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        assert!(hmac_ok("s3cret", b"{}", Some(&good)));
        assert!(!hmac_ok("other", b"{}", Some(&good)));
        assert!(!hmac_ok("s3cret", b"{ }", Some(&good)));
        assert!(!hmac_ok("s3cret", b"{}", Some("sha256=zz")));
        assert!(!hmac_ok("s3cret", b"{}", None));
        assert!(same_secret("a", "a") && !same_secret("a", "b"));
    }

    #[test]
    fn payloads_name_their_repositories() {
        let gh = json!({"ref": "refs/heads/main", "repository": {"clone_url": "https://github.com/o/r.git", "ssh_url": "git@github.com:o/r.git"}});
        let (urls, r) = announced("github", &gh);
        assert_eq!(urls.len(), 2);
        assert_eq!(r.as_deref(), Some("refs/heads/main"));
        let gl = json!({"ref": "refs/heads/x", "project": {"git_http_url": "https://gitlab.com/o/r.git"}});
        assert_eq!(announced("gitlab", &gl).0, ["https://gitlab.com/o/r.git"]);
        let g = json!({"repoURL": "git://h/r"});
        assert_eq!(announced("generic", &g).0, ["git://h/r"]);
    }
}
