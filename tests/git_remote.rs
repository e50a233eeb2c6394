//! Git sources against real servers on loopback: `git daemon` (git://) and `git http-backend`
//! (smart HTTP with basic auth). Fetching, polling, revisions, force-pushes, a server going
//! down, one cache for two apps, and the webhook receiver.

mod git_support;

use std::sync::Arc;
use std::time::Duration;

use git_support::{Daemon, Fixture, HttpServer, cache_repos, git};
use plumb::source::SourceTree;
use plumb::source::git::webhook::{WebhookConfig, WebhookReceiver};
use plumb::source::git::{
    Credentials, GitError, GitSources, Poll, SourceRequest, Verification, git_cache_dir,
};

fn sources(f: &Fixture) -> GitSources {
    GitSources::new(git_cache_dir(&f.cache)).with_credentials(Credentials::default())
}

fn req(url: &str, rev: &str, path: &str) -> SourceRequest {
    SourceRequest {
        url: url.into(),
        revision: rev.into(),
        path: path.into(),
        verification: Verification::default(),
    }
}

fn app_repo(name: &str) -> Fixture {
    let f = Fixture::new(name);
    f.write(&[
        ("app/cm.yaml", &Fixture::config_map("app", "1")),
        ("other/cm.yaml", &Fixture::config_map("other", "1")),
    ]);
    f.commit("first");
    f.publish();
    f
}

#[test]
fn a_moving_branch_is_detected_by_polling_and_fetched() {
    let f = app_repo("moving");
    let d = Daemon::start(&f.srv);
    let url = d.url("moving");
    let s = sources(&f);

    let first = f.head();
    let co = s.checkout(&req(&url, "main", "app")).unwrap();
    assert_eq!(co.commit.id, first);
    assert_eq!(co.commit.author, "Ada Author <ada@example.com>");
    assert_eq!(co.commit.committer, "Carl Committer <carl@example.com>");
    assert_eq!(co.commit.message.trim(), "first");
    let ct: i64 = git(&f.work, &["log", "-1", "--format=%ct"])
        .parse()
        .unwrap();
    assert_eq!(co.commit.commit_time, ct);
    assert_eq!(co.ref_name.as_deref(), Some("refs/heads/main"));
    assert!(!co.stale && co.warnings.is_empty(), "{:?}", co.warnings);
    assert_eq!(
        co.tree.read_file("app/cm.yaml").unwrap(),
        Fixture::config_map("app", "1").as_bytes()
    );

    // Polling costs no fetch and sees no change.
    let poll = s.poll(&url, "main", Some(&first)).unwrap();
    assert!(!poll.moved(), "{poll:?}");
    assert_eq!(s.fetch_count(), 1);

    f.write(&[("app/cm.yaml", &Fixture::config_map("app", "2"))]);
    let second = f.commit("second");
    f.publish();
    let poll = s.poll(&url, "main", Some(&first)).unwrap();
    assert!(poll.moved(), "{poll:?}");
    assert_eq!(
        poll,
        Poll::Moved {
            from: Some(first.clone()),
            to: second.clone()
        }
    );
    assert_eq!(s.fetch_count(), 1, "a poll never fetches");
    let co = s.checkout(&req(&url, "main", "app")).unwrap();
    assert_eq!(co.commit.id, second);
    assert_eq!(
        co.tree.read_file("app/cm.yaml").unwrap(),
        Fixture::config_map("app", "2").as_bytes()
    );
    assert_eq!(s.fetch_count(), 2);
    // HEAD (the default) is the server's default branch.
    assert_eq!(
        s.checkout(&req(&url, "HEAD", "")).unwrap().commit.id,
        second
    );
    // The cache is a sound Git repository.
    let repo = s.repo(&url).unwrap();
    git(repo.dir(), &["fsck", "--no-progress"]);
}

#[test]
fn tags_semver_ranges_and_commit_ids_resolve() {
    let f = app_repo("tags");
    let c1 = f.head();
    git(&f.work, &["tag", "v1.0.0"]);
    f.commit("1.2");
    let c12 = f.head();
    git(&f.work, &["tag", "-a", "v1.2.0", "-m", "release 1.2.0"]);
    f.commit("1.3-rc");
    git(&f.work, &["tag", "v1.3.0-rc.1"]);
    f.commit("2.0");
    let c2 = f.head();
    git(&f.work, &["tag", "-a", "2.0.0", "-m", "release 2"]);
    f.publish();
    let d = Daemon::start(&f.srv);
    let url = d.url("tags");
    let s = sources(&f);

    let at = |rev: &str| s.checkout(&req(&url, rev, "app")).map(|c| c.commit.id);
    assert_eq!(at("v1.0.0").unwrap(), c1);
    assert_eq!(
        at("v1.2.0").unwrap(),
        c12,
        "annotated tag peeled to its commit"
    );
    assert_eq!(at(">=1.2.0 <2").unwrap(), c12, "pre-release excluded");
    assert_eq!(at("^1").unwrap(), c12);
    assert_eq!(at(">=1.0.0").unwrap(), c2);
    assert_eq!(at("1.x || 2.x").unwrap(), c2);
    assert_eq!(at(&c1).unwrap(), c1, "full commit id");
    assert_eq!(at(&c12[..10]).unwrap(), c12, "abbreviated commit id");

    let e = at(">=3").unwrap_err();
    assert!(matches!(e, GitError::NoMatchingTag { .. }), "{e}");
    assert!(
        e.to_string().contains("1.2.0") && e.to_string().contains(&url),
        "{e}"
    );
    let e = at("mian").unwrap_err();
    assert!(matches!(e, GitError::RevisionNotFound { .. }), "{e}");
    assert!(e.to_string().contains("branches: main"), "{e}");
    let e = at(&"ab".repeat(20)).unwrap_err();
    assert!(matches!(e, GitError::CommitNotFound { .. }), "{e}");
    let e = s.checkout(&req(&url, "main", "nope")).err().unwrap();
    assert!(matches!(e, GitError::PathNotFound { .. }), "{e}");
    assert!(e.to_string().contains(&c2), "{e}");

    // A poll resolves the range on the advertised tags alone.
    let poll = s.poll(&url, ">=1.2.0 <2", Some(&c12)).unwrap();
    assert!(!poll.moved(), "{poll:?}");
}

#[test]
fn a_force_push_is_followed_and_deleted_branches_are_pruned() {
    let f = app_repo("force");
    let base = f.head();
    f.write(&[("app/cm.yaml", &Fixture::config_map("app", "B"))]);
    let b = f.commit("B");
    git(&f.work, &["branch", "feature"]);
    f.publish();
    let d = Daemon::start(&f.srv);
    let url = d.url("force");
    let s = sources(&f);
    assert_eq!(s.checkout(&req(&url, "main", "app")).unwrap().commit.id, b);
    assert!(s.checkout(&req(&url, "feature", "app")).is_ok());

    // Rewrite main: B is gone from its history; drop the feature branch.
    git(&f.work, &["reset", "-q", "--hard", &base]);
    f.write(&[("app/cm.yaml", &Fixture::config_map("app", "C"))]);
    let c = f.commit("C");
    git(&f.work, &["branch", "-D", "feature"]);
    f.publish();

    assert!(s.poll(&url, "main", Some(&b)).unwrap().moved());
    let co = s.checkout(&req(&url, "main", "app")).unwrap();
    assert_eq!(co.commit.id, c);
    assert_eq!(
        co.tree.read_file("app/cm.yaml").unwrap(),
        Fixture::config_map("app", "C").as_bytes()
    );
    let e = s.checkout(&req(&url, "feature", "app")).err().unwrap();
    assert!(matches!(e, GitError::RevisionNotFound { .. }), "{e}");
}

#[test]
fn server_down_gives_a_clear_error_and_the_last_good_revision_stays_usable() {
    let f = app_repo("down");
    let good = f.head();
    let mut d = Daemon::start(&f.srv);
    let url = d.url("down");
    let s = sources(&f);
    s.checkout(&req(&url, "main", "app")).unwrap();
    d.stop();

    // Polling: an error naming the URL.
    let e = s.poll(&url, "main", Some(&good)).unwrap_err();
    assert!(matches!(e, GitError::Fetch { .. }), "{e}");
    assert!(e.to_string().contains(&url), "{e}");

    // Rendering: the cached revision, with a warning naming the fetch error.
    let s2 = sources(&f);
    let co = s2.checkout(&req(&url, "main", "app")).unwrap();
    assert!(co.stale);
    assert_eq!(co.commit.id, good);
    assert_eq!(co.warnings.len(), 1, "{:?}", co.warnings);
    assert!(
        co.warnings[0].contains("cannot fetch") && co.warnings[0].contains(&url),
        "{:?}",
        co.warnings
    );
    assert!(co.tree.read_file("app/cm.yaml").is_ok());

    // Nothing cached: the error itself.
    let empty = GitSources::new(git_cache_dir(&f.tmp.path().join("empty-cache")))
        .with_credentials(Credentials::default());
    let e = empty.checkout(&req(&url, "main", "app")).err().unwrap();
    assert!(matches!(e, GitError::Fetch { .. }), "{e}");
    assert!(e.to_string().contains("server is up"), "{e}");
}

/// A server that accepts connections and then never says a word.
fn silent_server() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        // Keep every connection open (and silent) for the life of the test binary.
        let mut held = Vec::new();
        for conn in listener.incoming().flatten() {
            held.push(conn);
        }
    });
    port
}

#[test]
fn a_silent_server_fails_the_fetch_after_the_network_timeout() {
    let f = Fixture::new("silent");
    let cache = git_cache_dir(&f.cache);
    let port = silent_server();
    for url in [
        format!("git://127.0.0.1:{port}/silent"),
        format!("http://127.0.0.1:{port}/silent"),
    ] {
        let s = GitSources::new(&cache)
            .with_credentials(Credentials::default())
            .with_network_timeout(Duration::from_secs(1));
        // Runs on a thread so that a hang fails the test instead of stalling the suite.
        let (tx, rx) = std::sync::mpsc::channel();
        let poll_url = url.clone();
        std::thread::spawn(move || {
            let _ = tx.send(s.poll(&poll_url, "main", Some("0000")).map(|_| ()));
        });
        let e = rx
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|_| panic!("{url}: the poll still hangs after 60 s"))
            .unwrap_err();
        assert!(matches!(e, GitError::Fetch { .. }), "{url}: {e}");
        let text = e.to_string();
        assert!(text.contains(&url), "{text}");
        assert!(text.contains("network timeout"), "{url}: {text}");
    }

    // A checkout (fetch) gives up the same way rather than hanging.
    let url = format!("git://127.0.0.1:{port}/silent");
    let s = GitSources::new(&cache)
        .with_credentials(Credentials::default())
        .with_network_timeout(Duration::from_secs(1));
    let e = s.checkout(&req(&url, "main", "app")).err().unwrap();
    assert!(e.to_string().contains("network timeout"), "{e}");
}

#[test]
fn two_apps_on_one_repository_share_one_cache_and_one_fetch() {
    let f = app_repo("shared");
    let d = Daemon::start(&f.srv);
    let url = d.url("shared");
    let s = sources(&f);
    let results = s.checkout_all(&[req(&url, "main", "app"), req(&url, "main", "other")]);
    assert!(results.iter().all(Result::is_ok));
    assert_eq!(s.fetch_count(), 1);
    assert_eq!(cache_repos(&f.cache).len(), 1);

    // The same repository spelled differently is the same cache.
    let s2 = sources(&f);
    let alt = format!("git://127.0.0.1:{}/shared.git/", d.port);
    s2.checkout(&req(&alt, "main", "app")).unwrap();
    assert_eq!(cache_repos(&f.cache).len(), 1);

    // Concurrent fetchers (as separate processes would be: separate handles, one directory)
    // serialise on the lock and leave a sound repository.
    f.write(&[("app/cm.yaml", &Fixture::config_map("app", "2"))]);
    let head = f.commit("second");
    f.publish();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (cache, url) = (f.cache.clone(), url.clone());
            std::thread::spawn(move || {
                let s =
                    GitSources::new(git_cache_dir(&cache)).with_credentials(Credentials::default());
                s.checkout(&req(&url, "main", "app")).map(|c| c.commit.id)
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap().unwrap(), head);
    }
    assert_eq!(cache_repos(&f.cache).len(), 1);
    git(&cache_repos(&f.cache)[0], &["fsck", "--no-progress"]);

    // Within one process, concurrent apps coalesce onto one fetch.
    let s3 = Arc::new(sources(&f));
    let barrier = Arc::new(std::sync::Barrier::new(3));
    let threads: Vec<_> = ["app", "other", "app"]
        .into_iter()
        .map(|p| {
            let (s3, url, barrier) = (s3.clone(), url.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                s3.checkout(&req(&url, "main", p)).map(|c| c.commit.id)
            })
        })
        .collect();
    for t in threads {
        assert_eq!(t.join().unwrap().unwrap(), head);
    }
    assert!(s3.fetch_count() <= 2, "{} fetches", s3.fetch_count());
}

#[test]
fn smart_http_with_basic_auth() {
    let f = app_repo("private");
    let srv = HttpServer::start(&f.srv, "alice", "s3cret-token");
    let url = srv.url("private");

    let anonymous = sources(&f);
    let e = anonymous.checkout(&req(&url, "main", "app")).err().unwrap();
    assert!(matches!(e, GitError::Auth { .. }), "{e}");
    assert!(e.to_string().contains("PLUMB_GIT_TOKEN"), "{e}");

    let wrong =
        GitSources::new(git_cache_dir(&f.tmp.path().join("c2"))).with_credentials(Credentials {
            username: Some("alice".into()),
            password: Some("nope".into()),
            ..Default::default()
        });
    let e = wrong.checkout(&req(&url, "main", "app")).err().unwrap();
    assert!(matches!(e, GitError::Auth { .. }), "{e}");
    assert!(
        !e.to_string().contains("nope"),
        "the password never prints: {e}"
    );

    let good =
        GitSources::new(git_cache_dir(&f.tmp.path().join("c3"))).with_credentials(Credentials {
            username: Some("alice".into()),
            password: Some("s3cret-token".into()),
            ..Default::default()
        });
    let co = good.checkout(&req(&url, "main", "app")).unwrap();
    assert_eq!(co.commit.id, f.head());
    f.write(&[("app/cm.yaml", &Fixture::config_map("app", "2"))]);
    let second = f.commit("second");
    f.publish();
    assert!(
        good.poll(&url, "main", Some(&co.commit.id))
            .unwrap()
            .moved()
    );
    assert_eq!(
        good.checkout(&req(&url, "main", "app")).unwrap().commit.id,
        second
    );
}

fn hmac_hex(secret: &str, body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// POSTs `body` with `headers` to the receiver; returns the status code and body.
fn post(port: u16, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut req = format!(
        "POST /hook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let code = out
        .split_whitespace()
        .nth(1)
        .unwrap_or("0")
        .parse()
        .unwrap_or(0);
    let body = out.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (code, body)
}

#[test]
fn webhooks_trigger_a_fetch_and_bad_signatures_are_refused() {
    let f = app_repo("hooked");
    let d = Daemon::start(&f.srv);
    let url = d.url("hooked");
    let s = Arc::new(sources(&f));
    s.checkout(&req(&url, "main", "app")).unwrap();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let receiver = WebhookReceiver::new(
        WebhookConfig {
            github_secret: Some("gh-secret".into()),
            gitlab_token: Some("gl-token".into()),
            generic_secret: Some("generic-secret".into()),
        },
        s.clone(),
    );
    let mut events = receiver.subscribe();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = rt.spawn(receiver.clone().serve(listener));

    let fetched_head = |s: &GitSources| {
        let repo = s.repo(&url).unwrap();
        let r = repo.open().unwrap();
        repo.local_refs(&r)
            .unwrap()
            .get("refs/heads/main")
            .unwrap()
            .peeled
            .to_string()
    };
    let mut expect_fetch = |want: &str| {
        let ev = rt
            .block_on(async { tokio::time::timeout(Duration::from_secs(30), events.recv()).await })
            .expect("a fetch within 30 s")
            .unwrap();
        assert_eq!(ev.url, url);
        assert_eq!(ev.result, Ok(()));
        assert_eq!(fetched_head(&s), want);
    };

    // GitHub.
    f.write(&[("app/cm.yaml", &Fixture::config_map("app", "2"))]);
    let second = f.commit("second");
    f.publish();
    let gh = format!(
        r#"{{"ref":"refs/heads/main","repository":{{"clone_url":"{url}","ssh_url":"git@example.com:o/other.git"}}}}"#
    );
    let (code, body) = post(
        port,
        &[
            ("X-GitHub-Event", "push"),
            ("X-Hub-Signature-256", "sha256=00ff"),
        ],
        &gh,
    );
    assert_eq!(code, 401, "{body}");
    let (code, _) = post(port, &[("X-GitHub-Event", "push")], &gh);
    assert_eq!(code, 401, "a missing signature is refused");
    let sig = format!("sha256={}", hmac_hex("wrong-secret", gh.as_bytes()));
    assert_eq!(
        post(
            port,
            &[("X-GitHub-Event", "push"), ("X-Hub-Signature-256", &sig)],
            &gh
        )
        .0,
        401
    );
    assert_ne!(fetched_head(&s), second, "refused hooks fetch nothing");
    let sig = format!("sha256={}", hmac_hex("gh-secret", gh.as_bytes()));
    let (code, body) = post(
        port,
        &[("X-GitHub-Event", "push"), ("X-Hub-Signature-256", &sig)],
        &gh,
    );
    assert_eq!(code, 202, "{body}");
    assert!(body.contains(&url), "{body}");
    expect_fetch(&second);

    // GitLab.
    f.write(&[("app/cm.yaml", &Fixture::config_map("app", "3"))]);
    let third = f.commit("third");
    f.publish();
    let gl = format!(r#"{{"ref":"refs/heads/main","project":{{"git_http_url":"{url}"}}}}"#);
    assert_eq!(
        post(
            port,
            &[("X-Gitlab-Event", "Push Hook"), ("X-Gitlab-Token", "nope")],
            &gl
        )
        .0,
        401
    );
    let (code, body) = post(
        port,
        &[
            ("X-Gitlab-Event", "Push Hook"),
            ("X-Gitlab-Token", "gl-token"),
        ],
        &gl,
    );
    assert_eq!(code, 202, "{body}");
    expect_fetch(&third);

    // Generic HMAC.
    f.write(&[("app/cm.yaml", &Fixture::config_map("app", "4"))]);
    let fourth = f.commit("fourth");
    f.publish();
    let g = format!(r#"{{"repoURL":"{url}","ref":"refs/heads/main"}}"#);
    let bad = format!("sha256={}", hmac_hex("generic-secret", b"other body"));
    assert_eq!(post(port, &[("X-Plumb-Signature-256", &bad)], &g).0, 401);
    let sig = format!("sha256={}", hmac_hex("generic-secret", g.as_bytes()));
    assert_eq!(post(port, &[("X-Plumb-Signature-256", &sig)], &g).0, 202);
    expect_fetch(&fourth);

    // A repository plumb does not use is never fetched.
    let other = r#"{"repoURL":"git://127.0.0.1:1/unknown.git"}"#;
    let sig = format!("sha256={}", hmac_hex("generic-secret", other.as_bytes()));
    let (code, body) = post(port, &[("X-Plumb-Signature-256", &sig)], other);
    assert_eq!(code, 202);
    assert!(body.contains("\"fetching\":[]"), "{body}");

    server.abort();
}

#[test]
fn ssh_with_a_key_file_and_checked_host_keys() {
    let f = app_repo("viassh");
    let sshd = git_support::Sshd::start(&f.tmp.path().join("sshd"));
    let url = sshd.url(&f.bare());
    let with = |key: &std::path::Path, known_hosts: &std::path::Path, cache: &str| {
        GitSources::new(git_cache_dir(&f.tmp.path().join(cache))).with_credentials(Credentials {
            ssh_key: Some(key.to_path_buf()),
            known_hosts: Some(known_hosts.to_path_buf()),
            ..Default::default()
        })
    };

    let s = with(&sshd.client_key, &sshd.known_hosts, "c1");
    let co = s.checkout(&req(&url, "main", "app")).unwrap();
    assert_eq!(co.commit.id, f.head());
    assert!(!s.poll(&url, "main", Some(&co.commit.id)).unwrap().moved());

    // An unknown host key is never accepted.
    let empty = f.tmp.path().join("empty_known_hosts");
    std::fs::write(&empty, "").unwrap();
    let e = with(&sshd.client_key, &empty, "c2")
        .checkout(&req(&url, "main", "app"))
        .err()
        .unwrap();
    assert!(
        matches!(e, GitError::Auth { .. } | GitError::Fetch { .. }),
        "{e}"
    );
    assert!(e.to_string().contains("known_hosts"), "{e}");

    // A key the server does not accept.
    let other = f.tmp.path().join("other_key");
    git_support::run(
        std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&other),
    );
    let e = with(&other, &sshd.known_hosts, "c3")
        .checkout(&req(&url, "main", "app"))
        .err()
        .unwrap();
    assert!(
        matches!(e, GitError::Auth { .. } | GitError::Fetch { .. }),
        "{e}"
    );
    assert!(e.to_string().contains("PLUMB_GIT_SSH_KEY"), "{e}");
}
