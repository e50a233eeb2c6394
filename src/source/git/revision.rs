//! Revisions: a branch, a tag, a semver range over tags, a commit id, or `HEAD`, resolved
//! against a list of references (as a server advertises them, or as the cache holds them).

use gix::ObjectId;
use semver::{Version, VersionReq};

/// One reference: what it points at and the commit under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefEntry {
    /// Full name, like `refs/heads/main` or `refs/tags/v1.0.0`.
    pub name: String,
    /// The object the ref points at: a commit, or an annotated tag.
    pub target: ObjectId,
    /// The commit under it (`target` for a branch or a lightweight tag).
    pub peeled: ObjectId,
}

/// Every branch and tag of a repository, and the branch its `HEAD` names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefList {
    pub refs: Vec<RefEntry>,
    /// Full name of the default branch (`HEAD`'s target), when known.
    pub head: Option<String>,
}

impl RefList {
    pub fn get(&self, name: &str) -> Option<&RefEntry> {
        self.refs.iter().find(|r| r.name == name)
    }

    fn names(&self, prefix: &str) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .refs
            .iter()
            .filter_map(|r| r.name.strip_prefix(prefix))
            .collect();
        v.sort_unstable();
        v
    }

    /// A short list of what exists, for "not found" messages.
    pub fn summary(&self) -> String {
        let show = |v: Vec<&str>| {
            let n = v.len();
            let mut s = v.into_iter().take(10).collect::<Vec<_>>().join(", ");
            if n > 10 {
                s.push_str(&format!(", … ({n} in all)"));
            }
            if s.is_empty() { "none".into() } else { s }
        };
        format!(
            "branches: {}; tags: {}",
            show(self.names("refs/heads/")),
            show(self.names("refs/tags/"))
        )
    }
}

/// What a revision resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The commit (or, for a commit id or prefix, what was asked for; the caller checks it exists).
    pub target: Target,
    /// The reference it came through, if any (`refs/heads/main`, `refs/tags/v1.2.0`).
    pub ref_name: Option<String>,
    /// The annotated tag object it came through, if any.
    pub tag: Option<ObjectId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Commit(ObjectId),
    /// An abbreviated commit id (4–39 hex digits): looked up in the object database.
    Prefix(String),
}

/// Why a revision did not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unresolved {
    /// Neither a branch, a tag, a commit id nor a range.
    NotFound,
    /// A semver range no tag satisfies.
    NoMatchingTag { versions: Vec<String> },
    /// A range that does not parse.
    BadRange(String),
    /// `HEAD` asked for, the server names no default branch.
    NoHead,
}

fn from_entry(r: &RefEntry) -> Resolved {
    Resolved {
        target: Target::Commit(r.peeled),
        ref_name: Some(r.name.clone()),
        tag: (r.target != r.peeled && r.name.starts_with("refs/tags/")).then_some(r.target),
    }
}

/// Resolves `rev` against `refs`. In order: `HEAD` (or empty) → the default branch; a full ref
/// name; a branch; a tag (also `v`+rev); a full commit id; a semver range over tags (when `rev`
/// has an operator or wildcard: `>=1.2.0 <2`, `^1.2`, `~1.4`, `1.x`, `>=1 <2 || >=3`); an
/// abbreviated commit id.
pub fn resolve(rev: &str, refs: &RefList) -> Result<Resolved, Unresolved> {
    let rev = rev.trim();
    if rev.is_empty() || rev == "HEAD" {
        let head = refs.head.as_deref().ok_or(Unresolved::NoHead)?;
        return refs.get(head).map(from_entry).ok_or(Unresolved::NoHead);
    }
    if rev.starts_with("refs/") {
        return refs.get(rev).map(from_entry).ok_or(Unresolved::NotFound);
    }
    for candidate in [
        format!("refs/heads/{rev}"),
        format!("refs/tags/{rev}"),
        format!("refs/tags/v{rev}"),
    ] {
        if let Some(r) = refs.get(&candidate) {
            return Ok(from_entry(r));
        }
    }
    let hex = rev.len() >= 4 && rev.bytes().all(|b| b.is_ascii_hexdigit());
    if hex && rev.len() == 40 {
        let id = ObjectId::from_hex(rev.as_bytes()).map_err(|_| Unresolved::NotFound)?;
        return Ok(Resolved {
            target: Target::Commit(id),
            ref_name: None,
            tag: None,
        });
    }
    if looks_like_range(rev) {
        let req = parse_range(rev).map_err(Unresolved::BadRange)?;
        return best_tag(&req, refs).map(from_entry).ok_or_else(|| {
            let mut versions: Vec<String> =
                version_tags(refs).map(|(v, _)| v.to_string()).collect();
            versions.sort();
            versions.dedup();
            Unresolved::NoMatchingTag { versions }
        });
    }
    if hex && rev.len() < 40 {
        return Ok(Resolved {
            target: Target::Prefix(rev.to_ascii_lowercase()),
            ref_name: None,
            tag: None,
        });
    }
    Err(Unresolved::NotFound)
}

/// Whether `rev` is meant as a range rather than a name: it has a comparison operator,
/// a wildcard part or several comparators.
pub fn looks_like_range(rev: &str) -> bool {
    rev.contains(['<', '>', '=', '~', '^', '*', '|', ',', ' '])
        || rev
            .trim_start_matches('v')
            .split('.')
            .any(|p| matches!(p, "x" | "X"))
}

/// A semver range in the syntax Helm, npm and Argo CD users write (`>=1.2.0 <2`, `^1.2`,
/// `1.2.x`, alternatives with `||`), as the alternatives it allows. A bare version inside a
/// range means exactly that version (or that prefix: `1.2` is `1.2.x`).
pub fn parse_range(text: &str) -> Result<Vec<VersionReq>, String> {
    let mut out = Vec::new();
    for alt in text.split("||") {
        let spaced = alt.replace(',', " ");
        let mut comparators: Vec<String> = Vec::new();
        let mut pending_op = String::new();
        for tok in spaced.split_whitespace() {
            if tok
                .chars()
                .all(|c| matches!(c, '<' | '>' | '=' | '~' | '^'))
            {
                pending_op.push_str(tok);
                continue;
            }
            let op_len = tok
                .find(|c: char| !matches!(c, '<' | '>' | '=' | '~' | '^'))
                .unwrap_or(tok.len());
            let (op, ver) = tok.split_at(op_len);
            let op = format!("{pending_op}{op}");
            pending_op.clear();
            let ver = ver.strip_prefix(['v', 'V']).unwrap_or(ver);
            let wildcard = ver == "*" || ver.split('.').any(|p| matches!(p, "x" | "X" | "*"));
            let op = if op.is_empty() && !wildcard {
                "=".to_string()
            } else {
                op
            };
            comparators.push(format!("{op}{ver}"));
        }
        if !pending_op.is_empty() {
            return Err(format!(
                "{text:?}: {pending_op:?} is not followed by a version"
            ));
        }
        if comparators.is_empty() {
            return Err(format!("{text:?}: an empty alternative"));
        }
        let req = VersionReq::parse(&comparators.join(", "))
            .map_err(|e| format!("{text:?} is not a semver range: {e}"))?;
        out.push(req);
    }
    Ok(out)
}

/// Tags that are versions (`1.2.3` or `v1.2.3`), with their versions.
fn version_tags(refs: &RefList) -> impl Iterator<Item = (Version, &RefEntry)> {
    refs.refs.iter().filter_map(|r| {
        let name = r.name.strip_prefix("refs/tags/")?;
        let v = Version::parse(name.strip_prefix(['v', 'V']).unwrap_or(name)).ok()?;
        Some((v, r))
    })
}

/// The highest version tag any alternative allows; between equal versions, the first name.
pub fn best_tag<'a>(req: &[VersionReq], refs: &'a RefList) -> Option<&'a RefEntry> {
    let mut best: Option<(Version, &RefEntry)> = None;
    for (v, r) in version_tags(refs) {
        if !req.iter().any(|q| q.matches(&v)) {
            continue;
        }
        let better = match &best {
            None => true,
            Some((bv, br)) => v > *bv || (v == *bv && r.name < br.name),
        };
        if better {
            best = Some((v, r));
        }
    }
    best.map(|(_, r)| r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oid(n: u8) -> ObjectId {
        ObjectId::from_bytes_or_panic(&[n; 20])
    }

    fn refs() -> RefList {
        let mut refs = vec![
            ("refs/heads/main", 1, 1),
            ("refs/heads/dev", 2, 2),
            ("refs/tags/v1.0.0", 10, 3),
            ("refs/tags/v1.2.0", 11, 4),
            ("refs/tags/v1.9.1", 5, 5),
            ("refs/tags/2.0.0", 12, 6),
            ("refs/tags/v2.1.0-rc.1", 13, 7),
            ("refs/tags/nightly", 8, 8),
        ];
        refs.sort();
        RefList {
            refs: refs
                .into_iter()
                .map(|(n, t, p)| RefEntry {
                    name: n.into(),
                    target: oid(t),
                    peeled: oid(p),
                })
                .collect(),
            head: Some("refs/heads/main".into()),
        }
    }

    fn commit(rev: &str) -> ObjectId {
        match resolve(rev, &refs()).unwrap().target {
            Target::Commit(c) => c,
            t => panic!("{rev}: {t:?}"),
        }
    }

    #[test]
    fn names_resolve_in_order() {
        assert_eq!(commit("HEAD"), oid(1));
        assert_eq!(commit(""), oid(1));
        assert_eq!(commit("dev"), oid(2));
        assert_eq!(commit("refs/heads/dev"), oid(2));
        assert_eq!(commit("nightly"), oid(8));
        assert_eq!(commit("v1.2.0"), oid(4));
        assert_eq!(commit("1.2.0"), oid(4), "v is optional");
        let r = resolve("v1.2.0", &refs()).unwrap();
        assert_eq!(r.tag, Some(oid(11)), "annotated tag object kept");
        assert_eq!(resolve("v1.9.1", &refs()).unwrap().tag, None, "lightweight");
        let full = "0101010101010101010101010101010101010101";
        assert_eq!(commit(full), oid(1));
        assert_eq!(
            resolve("abc1234", &refs()).unwrap().target,
            Target::Prefix("abc1234".into())
        );
        assert_eq!(resolve("nope", &refs()), Err(Unresolved::NotFound));
    }

    #[test]
    fn ranges_pick_the_highest_matching_tag() {
        assert_eq!(commit(">=1.2.0 <2"), oid(5));
        assert_eq!(commit(">= 1.0, < 1.5"), oid(4));
        assert_eq!(commit("^1"), oid(5));
        assert_eq!(commit("~1.2"), oid(4));
        assert_eq!(commit("1.x"), oid(5));
        assert_eq!(commit("*"), oid(6), "pre-releases excluded");
        assert_eq!(commit(">=2.1.0-rc.0"), oid(7), "unless asked for");
        assert_eq!(commit("<1.1 || >=2 <3"), oid(6));
        assert!(matches!(
            resolve(">=3", &refs()),
            Err(Unresolved::NoMatchingTag { versions }) if versions.len() == 5
        ));
        assert!(matches!(
            resolve(">=", &refs()),
            Err(Unresolved::BadRange(_))
        ));
    }

    #[test]
    fn summary_lists_what_exists() {
        let s = refs().summary();
        assert!(s.contains("branches: dev, main"), "{s}");
        assert!(s.contains("v1.0.0"), "{s}");
    }
}
