//! Reading a commit safely (symbolic links confined to the repository, submodules, Git LFS
//! pointers, a size cap) and signatures on commits and tags (SSH keys from `ssh-keygen`,
//! OpenPGP keys from `gpg`), per signature mode. Repositories are read over `file://`.

mod git_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use git_support::{Fixture, git, git_cmd, run};
use plumb::source::git::{
    Credentials, GitError, GitSources, GitTree, Signature, SignatureMode, SourceRequest,
    TrustedKeys, Verification, git_cache_dir,
};
use plumb::source::{EntryKind, SourceError, SourceTree};

fn sources(f: &Fixture) -> GitSources {
    GitSources::new(git_cache_dir(&f.cache)).with_credentials(Credentials::default())
}

fn url(f: &Fixture) -> String {
    format!("file://{}", f.bare().display())
}

fn req(f: &Fixture, rev: &str, mode: SignatureMode, keys: &[String]) -> SourceRequest {
    SourceRequest {
        url: url(f),
        revision: rev.into(),
        path: "app".into(),
        verification: Verification {
            mode,
            keys: TrustedKeys::parse(keys).unwrap(),
        },
    }
}

#[test]
fn symlinks_leaving_the_repository_are_denied_and_inside_ones_resolve() {
    let f = Fixture::new("links");
    f.write(&[
        ("base/cm.yaml", &Fixture::config_map("base", "1")),
        ("app/kustomization.yaml", "resources: [../base]\n"),
        ("app/deep/x.yaml", "x: 1\n"),
    ]);
    f.symlink("app/passwd.yaml", "/etc/passwd");
    f.symlink("app/escape.yaml", "../../secret");
    f.symlink("app/deep/escape2.yaml", "../../../../etc/passwd");
    f.symlink("app/updir", "../..");
    f.symlink("app/inside.yaml", "../base/cm.yaml");
    f.symlink("app/basedir", "../base");
    f.symlink("app/deep/back.yaml", "../basedir/cm.yaml");
    f.symlink("app/via-dir.yaml", "basedir/../app/deep/x.yaml");
    f.symlink("app/loop1", "loop2");
    f.symlink("app/loop2", "loop1");
    f.symlink("app/dangling.yaml", "nowhere.yaml");
    f.commit("links");
    f.publish();
    let s = sources(&f);
    let co = s
        .checkout(&req(&f, "main", SignatureMode::Off, &[]))
        .unwrap();
    let t = co.tree.as_ref();
    let cm = Fixture::config_map("base", "1");

    assert_eq!(t.read_file("app/inside.yaml").unwrap(), cm.as_bytes());
    assert_eq!(t.read_file("app/basedir/cm.yaml").unwrap(), cm.as_bytes());
    assert_eq!(t.read_file("app/deep/back.yaml").unwrap(), cm.as_bytes());
    // `..` after a linked directory is taken from where the link leads (as the kernel does:
    // lexically this would be app/app/deep/x.yaml).
    assert_eq!(t.read_file("app/via-dir.yaml").unwrap(), b"x: 1\n");
    assert_eq!(t.stat("app/basedir"), Ok(EntryKind::Directory));
    assert_eq!(t.read_file("base/cm.yaml").unwrap(), cm.as_bytes());

    for (path, words) in [
        ("app/passwd.yaml", "absolute path \"/etc/passwd\""),
        ("app/escape.yaml", "climbs out of the repository root"),
        ("app/deep/escape2.yaml", "climbs out of the repository root"),
        ("app/updir/x", "climbs out of the repository root"),
        ("app/loop1", "symbolic links"),
    ] {
        match t.read_file(path) {
            Err(SourceError::Denied(m)) => assert!(m.contains(words), "{path}: {m}"),
            other => panic!("{path} must be denied, got {other:?}"),
        }
    }
    assert_eq!(t.read_file("app/dangling.yaml"), Err(SourceError::NotFound));
    for p in ["../x", "/etc/passwd", "app/../../x"] {
        assert!(matches!(t.read_file(p), Err(SourceError::Denied(_))), "{p}");
    }
    assert_eq!(t.read_file("app/deep"), Err(SourceError::IsADirectory));
    assert_eq!(
        t.list_dir("app/inside.yaml"),
        Err(SourceError::NotADirectory)
    );

    let listing: Vec<(String, EntryKind)> = t
        .list_dir("app")
        .unwrap()
        .into_iter()
        .map(|e| (e.name, e.kind))
        .collect();
    let names: Vec<&str> = listing.iter().map(|(n, _)| n.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    assert_eq!(names, sorted, "sorted by name");
    let kind = |n: &str| listing.iter().find(|(m, _)| m == n).unwrap().1;
    assert_eq!(kind("basedir"), EntryKind::Directory);
    assert_eq!(kind("inside.yaml"), EntryKind::File);
    assert_eq!(
        kind("passwd.yaml"),
        EntryKind::File,
        "listed; reading is denied"
    );
    let size = t.list_dir("base").unwrap()[0].size;
    assert_eq!(size, cm.len() as u64);
}

#[test]
fn submodules_are_skipped_lfs_pointers_warned_and_large_files_refused() {
    let f = Fixture::new("odd");
    f.write(&[
        ("app/cm.yaml", &Fixture::config_map("x", "1")),
        (
            "app/big.bin",
            "version https://git-lfs.github.com/spec/v1\noid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 12345\n",
        ),
    ]);
    f.commit("files");
    // A submodule: a gitlink entry (mode 160000) at app/vendor.
    let sub = f.head();
    git(
        &f.work,
        &[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("160000,{sub},app/vendor"),
        ],
    );
    git(&f.work, &["commit", "-q", "-m", "submodule"]);
    f.publish();
    let s = sources(&f);
    let co = s
        .checkout(&req(&f, "main", SignatureMode::Off, &[]))
        .unwrap();
    let t = co.tree.as_ref();
    let names: Vec<String> = t
        .list_dir("app")
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    assert_eq!(names, ["big.bin", "cm.yaml"], "the submodule is skipped");
    assert_eq!(t.read_file("app/vendor"), Err(SourceError::NotFound));
    assert!(t.read_file("app/big.bin").is_ok());
    let w = t.warnings();
    assert!(
        w.iter()
            .any(|w| w.contains("app/vendor") && w.contains("submodule")),
        "{w:?}"
    );
    assert!(
        w.iter()
            .any(|w| w.contains("app/big.bin") && w.contains("LFS")),
        "{w:?}"
    );

    let repo = s.repo(&url(&f)).unwrap();
    let small = GitTree::new(
        repo.open().unwrap(),
        gix::ObjectId::from_hex(co.commit.id.as_bytes()).unwrap(),
        "small".into(),
    )
    .unwrap()
    .with_file_cap(16);
    assert_eq!(
        small.read_file("app/cm.yaml"),
        Err(SourceError::TooLarge(16))
    );
}

/// An SSH signing key made with ssh-keygen: (private key path, public key line).
fn ssh_key(dir: &Path, name: &str, kind: &str) -> (PathBuf, String) {
    let key = dir.join(name);
    let mut cmd = Command::new("ssh-keygen");
    cmd.args(["-q", "-t", kind, "-N", "", "-C", name, "-f"])
        .arg(&key);
    if kind == "rsa" {
        cmd.args(["-b", "2048"]);
    }
    run(&mut cmd);
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    (key, public.trim().to_string())
}

fn commit_signed_ssh(f: &Fixture, key: &Path, message: &str) -> String {
    f.write(&[("app/cm.yaml", &Fixture::config_map("x", message))]);
    f.commit_signed_ssh(key, message)
}

#[test]
fn ssh_signatures_are_verified_per_mode() {
    let f = Fixture::new("sshsig");
    let keys = f.tmp.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let (trusted_key, trusted_pub) = ssh_key(&keys, "trusted", "ed25519");
    let (rsa_key, rsa_pub) = ssh_key(&keys, "trusted-rsa", "rsa");
    let (stranger_key, stranger_pub) = ssh_key(&keys, "stranger", "ed25519");
    let trusted = vec![trusted_pub.clone(), rsa_pub.clone()];
    let fingerprint = |public: &str| {
        let k = ssh_key::PublicKey::from_openssh(public).unwrap();
        k.fingerprint(ssh_key::HashAlg::Sha256).to_string()
    };

    f.write(&[("app/cm.yaml", &Fixture::config_map("x", "0"))]);
    let unsigned = f.commit("unsigned");
    git(&f.work, &["branch", "unsigned"]);
    let good = commit_signed_ssh(&f, &trusted_key, "good");
    git(&f.work, &["branch", "good"]);
    let good_rsa = commit_signed_ssh(&f, &rsa_key, "good-rsa");
    git(&f.work, &["branch", "good-rsa"]);
    let strange = commit_signed_ssh(&f, &stranger_key, "strange");
    git(&f.work, &["branch", "strange"]);
    f.publish();
    let s = sources(&f);

    // off: nothing is checked.
    let co = s
        .checkout(&req(&f, "unsigned", SignatureMode::Off, &[]))
        .unwrap();
    assert_eq!(co.signature, None);

    // require: good signatures render.
    for (rev, id, public) in [
        ("good", &good, &trusted_pub),
        ("good-rsa", &good_rsa, &rsa_pub),
    ] {
        let co = s
            .checkout(&req(&f, rev, SignatureMode::Require, &trusted))
            .unwrap();
        assert_eq!(&co.commit.id, id);
        assert_eq!(
            co.signature,
            Some(Signature::Good {
                format: "ssh",
                key: fingerprint(public)
            })
        );
        assert!(co.warnings.is_empty());
    }

    // require: unsigned → refused, naming the commit.
    let e = s
        .checkout(&req(&f, "unsigned", SignatureMode::Require, &trusted))
        .err()
        .unwrap();
    assert!(matches!(e, GitError::Unverified { .. }), "{e}");
    let m = e.to_string();
    assert!(m.contains(&unsigned) && m.contains("not signed"), "{m}");
    assert!(
        m.contains(&fingerprint(&trusted_pub)),
        "names the trusted keys: {m}"
    );

    // require: an unknown key → refused, naming the commit and the key.
    let e = s
        .checkout(&req(&f, "strange", SignatureMode::Require, &trusted))
        .err()
        .unwrap();
    let m = e.to_string();
    assert!(
        m.contains(&strange) && m.contains(&fingerprint(&stranger_pub)),
        "{m}"
    );
    assert!(m.contains("not among the trusted keys"), "{m}");

    // warn: renders, with a warning naming the commit and the key.
    let co = s
        .checkout(&req(&f, "strange", SignatureMode::Warn, &trusted))
        .unwrap();
    assert_eq!(co.commit.id, strange);
    assert_eq!(co.warnings.len(), 1);
    assert!(
        co.warnings[0].contains(&strange) && co.warnings[0].contains(&fingerprint(&stranger_pub))
    );

    // A signature over other content (a tampered commit) does not verify.
    let raw = git(&f.work, &["cat-file", "commit", &good]);
    let tampered = raw.replace("\n\ngood", "\n\nevil");
    let (sig, payload) = split(&tampered);
    let found = plumb_check(&sig, payload.as_bytes(), &trusted);
    assert!(matches!(found, Signature::Bad { .. }), "{found:?}");
    // A signature made for another namespace is refused.
    let other_ns = keys.join("msg");
    std::fs::write(&other_ns, &payload).unwrap();
    run(Command::new("ssh-keygen")
        .args(["-Y", "sign", "-n", "file", "-f"])
        .arg(&trusted_key)
        .arg(&other_ns));
    let sig = std::fs::read(other_ns.with_extension("sig")).unwrap();
    let found = plumb_check(&sig, payload.as_bytes(), &trusted);
    assert!(
        matches!(&found, Signature::Bad { reason, .. } if reason.contains("namespace")),
        "{found:?}"
    );

    // A signed annotated tag by a trusted key vouches for an unsigned commit.
    run(git_cmd(&f.work).args([
        "-c",
        "gpg.format=ssh",
        "-c",
        &format!("user.signingkey={}", trusted_key.display()),
        "tag",
        "-s",
        "-m",
        "release",
        "v1.0.0",
        &unsigned,
    ]));
    git(
        &f.work,
        &["tag", "-a", "-m", "unsigned release", "v0.9.0", &unsigned],
    );
    f.publish();
    let co = s
        .checkout(&req(&f, "v1.0.0", SignatureMode::Require, &trusted))
        .unwrap();
    assert_eq!(co.commit.id, unsigned);
    assert!(co.signature.as_ref().is_some_and(Signature::is_good));
    let e = s
        .checkout(&req(&f, "v0.9.0", SignatureMode::Require, &trusted))
        .err()
        .unwrap();
    assert!(e.to_string().contains("not signed"), "{e}");
}

fn split(raw_commit: &str) -> (Vec<u8>, String) {
    // As git does: the gpgsig header (and its continuation lines) out, the rest signed.
    let mut sig = Vec::new();
    let mut payload = String::new();
    let mut in_sig = false;
    for line in raw_commit.split_inclusive('\n') {
        if let Some(v) = line.strip_prefix("gpgsig ") {
            in_sig = true;
            sig.extend_from_slice(v.as_bytes());
        } else if in_sig && line.starts_with(' ') {
            sig.extend_from_slice(&line.as_bytes()[1..]);
        } else {
            in_sig = false;
            payload.push_str(line);
        }
    }
    payload.push('\n');
    (sig, payload)
}

fn plumb_check(sig: &[u8], payload: &[u8], trusted: &[String]) -> Signature {
    plumb::source::git::check_signature(sig, payload, &TrustedKeys::parse(trusted).unwrap())
}

/// A throwaway GnuPG home with one signing key; its agent is stopped on drop.
struct Gpg {
    home: tempfile::TempDir,
    fingerprint: String,
}

impl Gpg {
    fn new(name: &str) -> Gpg {
        assert!(
            Command::new("gpg").arg("--version").output().is_ok(),
            "gpg is missing: run scripts/setup (installs gnupg)"
        );
        // Short path: gpg-agent's socket path must fit in a sockaddr_un.
        let home = tempfile::Builder::new()
            .prefix("gpg")
            .tempdir_in("/tmp")
            .unwrap();
        let g = |args: &[&str]| {
            run(Command::new("gpg")
                .env("GNUPGHOME", home.path())
                .args(["--batch", "--quiet"])
                .args(args))
        };
        g(&[
            "--passphrase",
            "",
            "--quick-gen-key",
            &format!("{name} <{name}@example.com>"),
            "ed25519",
            "sign",
            "never",
        ]);
        let listing = g(&["--with-colons", "--list-secret-keys"]);
        let fingerprint = listing
            .lines()
            .find_map(|l| {
                l.strip_prefix("fpr:")
                    .map(|r| r.trim_matches(':').to_string())
            })
            .unwrap();
        Gpg { home, fingerprint }
    }

    fn public_key(&self) -> String {
        run(Command::new("gpg")
            .env("GNUPGHOME", self.home.path())
            .args(["--batch", "--armor", "--export", &self.fingerprint]))
    }

    fn commit(&self, f: &Fixture, message: &str) -> String {
        f.write(&[("app/cm.yaml", &Fixture::config_map("x", message))]);
        git(&f.work, &["add", "-A"]);
        run(git_cmd(&f.work).env("GNUPGHOME", self.home.path()).args([
            "-c",
            "gpg.program=gpg",
            "-c",
            &format!("user.signingkey={}", self.fingerprint),
            "commit",
            "-q",
            "-S",
            "-m",
            message,
        ]));
        f.head()
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.home.path())
            .args(["--kill", "gpg-agent"])
            .output();
    }
}

#[test]
fn openpgp_signatures_are_verified_per_mode() {
    let f = Fixture::new("pgpsig");
    let alice = Gpg::new("alice");
    let mallory = Gpg::new("mallory");
    let trusted = vec![alice.public_key()];

    let good = alice.commit(&f, "good");
    git(&f.work, &["branch", "good"]);
    let bad = mallory.commit(&f, "bad");
    git(&f.work, &["branch", "bad"]);
    f.publish();
    let s = sources(&f);

    let co = s
        .checkout(&req(&f, "good", SignatureMode::Require, &trusted))
        .unwrap();
    assert_eq!(co.commit.id, good);
    assert_eq!(
        co.signature,
        Some(Signature::Good {
            format: "openpgp",
            key: alice.fingerprint.clone()
        })
    );
    let e = s
        .checkout(&req(&f, "bad", SignatureMode::Require, &trusted))
        .err()
        .unwrap();
    let m = e.to_string();
    assert!(m.contains(&bad) && m.contains(&mallory.fingerprint), "{m}");
    let co = s
        .checkout(&req(&f, "bad", SignatureMode::Warn, &trusted))
        .unwrap();
    assert!(
        co.warnings[0].contains(&mallory.fingerprint),
        "{:?}",
        co.warnings
    );
    // Trusting mallory too makes it good.
    let both = vec![alice.public_key(), mallory.public_key()];
    assert!(
        s.checkout(&req(&f, "bad", SignatureMode::Require, &both))
            .is_ok()
    );
}
