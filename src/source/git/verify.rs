//! Signatures on commits and annotated tags, verified in Rust against the keys an app trusts:
//! SSH signatures (`gpg.format=ssh`, the `SSHSIG` format, namespace `git`) and OpenPGP.

use pgp::composed::{Deserializable, DetachedSignature, SignedPublicKey};
use pgp::types::KeyDetails;
use ssh_key::{HashAlg, PublicKey};

const SSH_BEGIN: &[u8] = b"-----BEGIN SSH SIGNATURE-----";
const PGP_BEGIN: &[u8] = b"-----BEGIN PGP SIGNATURE-----";
const PGP_KEY_BEGIN: &str = "-----BEGIN PGP PUBLIC KEY BLOCK-----";

/// The keys an app trusts (from `trustedKeys` in its source).
#[derive(Clone, Default)]
pub struct TrustedKeys {
    ssh: Vec<PublicKey>,
    pgp: Vec<SignedPublicKey>,
}

impl std::fmt::Debug for TrustedKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.fingerprints()).finish()
    }
}

impl TrustedKeys {
    /// Reads each entry: an OpenSSH public key line (`ssh-ed25519 AAAA… comment`, also as in an
    /// `allowed_signers` file, whose leading principals are skipped) or an ASCII-armored OpenPGP
    /// public key block. Every problem is reported, naming the entry by position.
    pub fn parse(entries: &[String]) -> Result<TrustedKeys, String> {
        let mut keys = TrustedKeys::default();
        let mut problems = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            let text = entry.trim();
            if text.contains(PGP_KEY_BEGIN) {
                match SignedPublicKey::from_string(text) {
                    Ok((key, _)) => match key.verify_bindings() {
                        Ok(()) => keys.pgp.push(key),
                        Err(e) => problems.push(format!(
                            "trustedKeys[{i}]: the OpenPGP key's self-signatures do not verify: {e}"
                        )),
                    },
                    Err(e) => problems.push(format!(
                        "trustedKeys[{i}]: not a readable OpenPGP public key block: {e}"
                    )),
                }
                continue;
            }
            match parse_ssh_line(text) {
                Some(key) => keys.ssh.push(key),
                None => problems.push(format!(
                    "trustedKeys[{i}]: neither an OpenSSH public key line (`ssh-ed25519 AAAA…`) nor an OpenPGP public key block"
                )),
            }
        }
        if problems.is_empty() {
            Ok(keys)
        } else {
            Err(problems.join("; "))
        }
    }

    pub fn is_empty(&self) -> bool {
        self.ssh.is_empty() && self.pgp.is_empty()
    }

    /// The keys' fingerprints (SSH: `SHA256:…`, OpenPGP: hex).
    pub fn fingerprints(&self) -> Vec<String> {
        self.ssh
            .iter()
            .map(|k| k.fingerprint(HashAlg::Sha256).to_string())
            .chain(self.pgp.iter().map(|k| format!("{:X}", k.fingerprint())))
            .collect()
    }
}

/// An OpenSSH public key line, or an `allowed_signers` line (principals and options first).
fn parse_ssh_line(line: &str) -> Option<PublicKey> {
    if let Ok(k) = PublicKey::from_openssh(line) {
        return Some(k);
    }
    // allowed_signers: `principals [options] keytype base64 [comment]`.
    let words: Vec<&str> = line.split_whitespace().collect();
    (1..words.len()).find_map(|i| {
        (words[i].starts_with("ssh-")
            || words[i].starts_with("ecdsa-")
            || words[i].starts_with("sk-"))
        .then(|| PublicKey::from_openssh(&words[i..].join(" ")).ok())
        .flatten()
    })
}

/// What a signature check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signature {
    /// No signature.
    Unsigned,
    /// A valid signature by a trusted key.
    Good { format: &'static str, key: String },
    /// A signature by a key the app does not trust (whether or not it verifies).
    UnknownKey { format: &'static str, key: String },
    /// A signature that does not verify, or cannot be read.
    Bad {
        format: &'static str,
        key: Option<String>,
        reason: String,
    },
}

impl Signature {
    pub fn is_good(&self) -> bool {
        matches!(self, Signature::Good { .. })
    }
}

impl std::fmt::Display for Signature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Signature::Unsigned => f.write_str("not signed"),
            Signature::Good { format, key } => {
                write!(f, "good {format} signature by trusted key {key}")
            }
            Signature::UnknownKey { format, key } => {
                write!(
                    f,
                    "{format} signature by key {key}, which is not among the trusted keys"
                )
            }
            Signature::Bad {
                format,
                key: Some(k),
                reason,
            } => {
                write!(f, "bad {format} signature by key {k}: {reason}")
            }
            Signature::Bad {
                format,
                key: None,
                reason,
            } => write!(f, "bad {format} signature: {reason}"),
        }
    }
}

/// The signature of a raw commit object (its `gpgsig` header) and the bytes it signs (the
/// object without that header), as `git verify-commit` splits them.
pub fn split_commit(raw: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut payload = Vec::with_capacity(raw.len());
    let mut sig: Option<Vec<u8>> = None;
    let mut in_sig = false;
    let mut rest = raw;
    let mut in_headers = true;
    while !rest.is_empty() {
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |p| p + 1);
        let (line, tail) = rest.split_at(end);
        rest = tail;
        if !in_headers {
            payload.extend_from_slice(line);
            continue;
        }
        if line == b"\n" {
            in_headers = false;
            in_sig = false;
            payload.extend_from_slice(line);
            continue;
        }
        if in_sig && line.first() == Some(&b' ') {
            let s = sig.get_or_insert_with(Vec::new);
            s.extend_from_slice(&line[1..]);
            continue;
        }
        in_sig = false;
        if let Some(value) = line.strip_prefix(b"gpgsig ") {
            // Only the first signature header counts (gpgsig-sha256 is for SHA-256 repositories).
            if sig.is_none() {
                in_sig = true;
                sig = Some(value.to_vec());
                continue;
            }
        }
        payload.extend_from_slice(line);
    }
    sig.map(|s| (s, payload))
}

/// The signature at the end of a raw annotated tag object and the bytes it signs.
pub fn split_tag(raw: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let mut found = None;
    let mut pos = 0;
    while pos < raw.len() {
        let line = &raw[pos..];
        if line.starts_with(SSH_BEGIN)
            || line.starts_with(PGP_BEGIN)
            || line.starts_with(b"-----BEGIN SIGNED MESSAGE-----")
        {
            found = Some(pos);
        }
        match raw[pos..].iter().position(|&b| b == b'\n') {
            Some(p) => pos += p + 1,
            None => break,
        }
    }
    found.map(|p| (raw[p..].to_vec(), raw[..p].to_vec()))
}

/// Checks `signature` over `payload` against `trusted`.
pub fn check(signature: &[u8], payload: &[u8], trusted: &TrustedKeys) -> Signature {
    let text = signature.trim_ascii_start();
    if text.starts_with(SSH_BEGIN) {
        check_ssh(text, payload, trusted)
    } else if text.starts_with(PGP_BEGIN) {
        check_pgp(text, payload, trusted)
    } else {
        Signature::Bad {
            format: "unknown",
            key: None,
            reason: "an unsupported signature format (X.509/S/MIME signatures are not verified)"
                .into(),
        }
    }
}

fn check_ssh(pem: &[u8], payload: &[u8], trusted: &TrustedKeys) -> Signature {
    const F: &str = "ssh";
    let sig = match ssh_key::SshSig::from_pem(pem) {
        Ok(s) => s,
        Err(e) => {
            return Signature::Bad {
                format: F,
                key: None,
                reason: format!("cannot read the SSHSIG block: {e}"),
            };
        }
    };
    let signer = PublicKey::from(sig.public_key().clone());
    let fingerprint = signer.fingerprint(HashAlg::Sha256).to_string();
    if sig.namespace() != "git" {
        return Signature::Bad {
            format: F,
            key: Some(fingerprint),
            reason: format!("made for namespace {:?}, not \"git\"", sig.namespace()),
        };
    }
    let Some(key) = trusted
        .ssh
        .iter()
        .find(|k| k.key_data() == sig.public_key())
    else {
        return Signature::UnknownKey {
            format: F,
            key: fingerprint,
        };
    };
    match key.verify("git", payload, &sig) {
        Ok(()) => Signature::Good {
            format: F,
            key: fingerprint,
        },
        Err(e) => Signature::Bad {
            format: F,
            key: Some(fingerprint),
            reason: format!("does not verify: {e}"),
        },
    }
}

fn check_pgp(armored: &[u8], payload: &[u8], trusted: &TrustedKeys) -> Signature {
    const F: &str = "openpgp";
    let text = String::from_utf8_lossy(armored);
    let sig = match DetachedSignature::from_string(&text) {
        Ok((s, _)) => s,
        Err(e) => {
            return Signature::Bad {
                format: F,
                key: None,
                reason: format!("cannot read the OpenPGP signature: {e}"),
            };
        }
    };
    let issuer = sig
        .signature
        .issuer_fingerprint()
        .first()
        .map(|fp| format!("{fp:X}"))
        .or_else(|| {
            sig.signature
                .issuer_key_id()
                .first()
                .map(|id| hex::encode_upper(id.as_ref()))
        })
        .unwrap_or_else(|| "(no issuer)".into());
    let fps = sig.signature.issuer_fingerprint();
    let ids = sig.signature.issuer_key_id();
    let matches = |k: &dyn Fn() -> (pgp::types::Fingerprint, pgp::types::KeyId)| {
        let (fp, id) = k();
        fps.iter().any(|f| **f == fp) || ids.iter().any(|i| **i == id)
    };
    for cert in &trusted.pgp {
        let primary = || {
            (
                cert.primary_key.fingerprint(),
                cert.primary_key.legacy_key_id(),
            )
        };
        if matches(&primary) {
            return pgp_outcome(sig.verify(&cert.primary_key, payload), cert, issuer);
        }
        for sub in &cert.public_subkeys {
            let subkey = || (sub.key.fingerprint(), sub.key.legacy_key_id());
            if matches(&subkey) {
                return pgp_outcome(sig.verify(&sub.key, payload), cert, issuer);
            }
        }
    }
    Signature::UnknownKey {
        format: F,
        key: issuer,
    }
}

fn pgp_outcome(
    result: pgp::errors::Result<()>,
    cert: &SignedPublicKey,
    issuer: String,
) -> Signature {
    let key = format!("{:X}", cert.fingerprint());
    match result {
        Ok(()) => Signature::Good {
            format: "openpgp",
            key,
        },
        Err(e) => Signature::Bad {
            format: "openpgp",
            key: Some(issuer),
            reason: format!("does not verify: {e}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_a_signed_commit_as_git_does() {
        let raw = b"tree 1\nparent 2\nauthor A <a> 1 +0000\ncommitter A <a> 1 +0000\ngpgsig -----BEGIN SSH SIGNATURE-----\n U1NIU0lH\n -----END SSH SIGNATURE-----\n\nmessage\n gpgsig not a header\n";
        let (sig, payload) = split_commit(raw).unwrap();
        assert_eq!(
            sig,
            b"-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n"
        );
        assert_eq!(
            payload,
            b"tree 1\nparent 2\nauthor A <a> 1 +0000\ncommitter A <a> 1 +0000\n\nmessage\n gpgsig not a header\n"
        );
        assert!(split_commit(b"tree 1\n\nmsg\n").is_none());
    }

    #[test]
    fn splits_a_signed_tag() {
        let raw = b"object 1\ntype commit\ntag v1\ntagger A <a> 1 +0000\n\nrelease\n-----BEGIN PGP SIGNATURE-----\nabc\n-----END PGP SIGNATURE-----\n";
        let (sig, payload) = split_tag(raw).unwrap();
        assert!(sig.starts_with(PGP_BEGIN));
        assert_eq!(
            payload,
            b"object 1\ntype commit\ntag v1\ntagger A <a> 1 +0000\n\nrelease\n"
        );
        assert!(split_tag(b"object 1\n\nplain\n").is_none());
    }

    #[test]
    fn trusted_keys_report_bad_entries() {
        let e = TrustedKeys::parse(&["not a key".into()]).unwrap_err();
        assert!(e.contains("trustedKeys[0]"), "{e}");
        let k = TrustedKeys::parse(&[
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOTSgfOahAb1BEcq7pOv6e3HhnUJeg7QWqMiOfrUmvTF me@x".into(),
            "me@x namespaces=\"git\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOTSgfOahAb1BEcq7pOv6e3HhnUJeg7QWqMiOfrUmvTF".into(),
        ])
        .unwrap();
        assert_eq!(k.fingerprints().len(), 2);
        assert!(k.fingerprints()[0].starts_with("SHA256:"));
    }

    #[test]
    fn garbage_signatures_are_bad_not_panics() {
        let keys = TrustedKeys::default();
        assert!(matches!(
            check(
                b"-----BEGIN SSH SIGNATURE-----\nnope\n-----END SSH SIGNATURE-----\n",
                b"x",
                &keys
            ),
            Signature::Bad { .. }
        ));
        assert!(matches!(
            check(
                b"-----BEGIN PGP SIGNATURE-----\n\nnope\n-----END PGP SIGNATURE-----\n",
                b"x",
                &keys
            ),
            Signature::Bad { .. }
        ));
        assert!(matches!(check(b"junk", b"x", &keys), Signature::Bad { .. }));
    }
}
