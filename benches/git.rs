//! Detect a new commit and read a 1,000-file tree at it — plumb (ls-refs poll, incremental
//! fetch into its bare cache, every file read from the object database) against `git fetch` +
//! `git archive` of the same commit, on the same `git daemon` on loopback, in one run.
//!
//! `cargo bench --bench git` prints both medians and the ratio.

#[path = "../tests/git_support/mod.rs"]
mod git_support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use git_support::{Daemon, Fixture, git};
use plumb::source::SourceTree;
use plumb::source::git::{Credentials, GitSources, SourceRequest, Verification, git_cache_dir};

const FILES: usize = 1000;
const ROUNDS: usize = 15;

fn read_all(t: &dyn SourceTree, dir: &str, bytes: &mut usize, files: &mut usize) {
    for e in t.list_dir(dir).expect("list") {
        let p = if dir.is_empty() {
            e.name.clone()
        } else {
            format!("{dir}/{}", e.name)
        };
        match e.kind {
            plumb::source::EntryKind::Directory => read_all(t, &p, bytes, files),
            plumb::source::EntryKind::File => {
                *bytes += t.read_file(&p).expect("read").len();
                *files += 1;
            }
        }
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let f = Fixture::new("bench");
    let mut files = Vec::new();
    for i in 0..FILES {
        files.push((
            format!("app/d{:02}/cm{i:04}.yaml", i / 100),
            Fixture::config_map(&format!("cm{i}"), &"x".repeat(120)),
        ));
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    f.write(&refs);
    f.commit("1000 files");
    f.publish();
    let daemon = Daemon::start(&f.srv);
    let url = daemon.url("bench");

    // plumb: a warm cache.
    let sources = GitSources::new(git_cache_dir(&f.cache)).with_credentials(Credentials::default());
    let req = SourceRequest {
        url: url.clone(),
        revision: "main".into(),
        path: "app".into(),
        verification: Verification::default(),
    };
    let mut known = sources.checkout(&req).expect("first checkout").commit.id;
    // git: a warm bare clone.
    let clone = f.tmp.path().join("clone.git");
    git(
        f.tmp.path(),
        &["clone", "-q", "--bare", &url, clone.to_str().unwrap()],
    );

    let mut plumb_times = Vec::new();
    let (mut polls, mut fetches, mut reads) = (Vec::new(), Vec::new(), Vec::new());
    let mut git_times = Vec::new();
    for round in 0..ROUNDS {
        f.write(&[(
            "app/d00/cm0000.yaml",
            &Fixture::config_map("cm0", &format!("round {round}")),
        )]);
        let head = f.commit(&format!("round {round}"));
        f.publish();

        let t = Instant::now();
        let poll = sources.poll(&url, "main", Some(&known)).expect("poll");
        assert!(poll.moved());
        let t_poll = t.elapsed();
        let co = sources.checkout(&req).expect("checkout");
        assert_eq!(co.commit.id, head);
        let t_fetch = t.elapsed();
        let (mut bytes, mut n) = (0, 0);
        read_all(co.tree.as_ref(), "app", &mut bytes, &mut n);
        plumb_times.push(t.elapsed());
        polls.push(t_poll);
        fetches.push(t_fetch - t_poll);
        reads.push(t.elapsed() - t_fetch);
        assert_eq!(n, FILES);
        known = co.commit.id;

        let t = Instant::now();
        git(
            &clone,
            &["fetch", "-q", "origin", "+refs/heads/*:refs/heads/*"],
        );
        let out = Command::new("git")
            .current_dir(&clone)
            .args(["archive", "--format=tar", &head, "app"])
            .stderr(Stdio::null())
            .output()
            .expect("git archive");
        git_times.push(t.elapsed());
        assert!(out.status.success() && out.stdout.len() > bytes);
    }
    let (p, g) = (median(plumb_times), median(git_times));
    println!(
        "git source: detect a new commit + read a {FILES}-file tree at it ({ROUNDS} rounds, median, git daemon on loopback)"
    );
    println!(
        "  plumb (ls-refs poll + gix fetch + read every file from the object database): {p:>10.2?}"
    );
    println!(
        "    of which: poll {:.2?}, fetch + resolve {:.2?}, read {FILES} files {:.2?}",
        median(polls),
        median(fetches),
        median(reads)
    );
    println!(
        "  git fetch + git archive (the same commit):                                  {g:>10.2?}"
    );
    println!(
        "  ratio plumb / git: {:.2}",
        p.as_secs_f64() / g.as_secs_f64()
    );
}
