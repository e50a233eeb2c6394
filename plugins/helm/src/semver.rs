//! Masterminds/semver v3, as Sprig's `semver`/`semverCompare` and Helm's `kubeVersion` checks
//! use it: loose versions (`v1.2`, `1`), constraints with `||`, `,`/space-separated ANDs,
//! `~`, `^`, wildcards, hyphen ranges, and the rule that a pre-release version only matches a
//! constraint that has a pre-release itself (hence charts' `>=1.21-0`).

use std::cmp::Ordering;
use std::sync::OnceLock;

use regex::Regex;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub pre: String,
    pub metadata: String,
    pub original: String,
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        if !self.metadata.is_empty() {
            write!(f, "+{}", self.metadata)?;
        }
        Ok(())
    }
}

fn version_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?$",
        )
        .expect("constant regex")
    })
}

impl Version {
    /// `semver.NewVersion`.
    pub fn parse(s: &str) -> Result<Version, String> {
        let Some(m) = version_re().captures(s) else {
            return Err("Invalid Semantic Version".into());
        };
        let num = |i: usize| -> Result<u64, String> {
            match m.get(i) {
                None => Ok(0),
                Some(x) => x
                    .as_str()
                    .trim_start_matches('.')
                    .parse::<u64>()
                    .map_err(|e| format!("Error parsing version segment: {e}")),
            }
        };
        let pre = m.get(5).map(|x| x.as_str().to_string()).unwrap_or_default();
        // Numeric pre-release identifiers must not have leading zeros.
        for part in pre.split('.') {
            if part.len() > 1 && part.starts_with('0') && part.bytes().all(|b| b.is_ascii_digit()) {
                return Err("Version segment starts with 0".into());
            }
        }
        Ok(Version {
            major: num(1)?,
            minor: num(2)?,
            patch: num(3)?,
            pre,
            metadata: m.get(8).map(|x| x.as_str().to_string()).unwrap_or_default(),
            original: s.to_string(),
        })
    }

    pub fn compare(&self, o: &Version) -> Ordering {
        self.major
            .cmp(&o.major)
            .then(self.minor.cmp(&o.minor))
            .then(self.patch.cmp(&o.patch))
            .then_with(|| compare_pre(&self.pre, &o.pre))
    }
}

fn compare_pre(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let pa: Vec<&str> = a.split('.').collect();
    let pb: Vec<&str> = b.split('.').collect();
    for i in 0..pa.len().max(pb.len()) {
        let (Some(x), Some(y)) = (pa.get(i), pb.get(i)) else {
            return pa.len().cmp(&pb.len());
        };
        let o = match (x.parse::<u64>(), y.parse::<u64>()) {
            (Ok(nx), Ok(ny)) => nx.cmp(&ny),
            (Ok(_), Err(_)) => Ordering::Less,
            (Err(_), Ok(_)) => Ordering::Greater,
            _ => x.cmp(y),
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

#[derive(Debug, Clone)]
struct Constraint {
    op: String,
    con: Version,
    minor_dirty: bool,
    patch_dirty: bool,
    dirty: bool,
}

const CV: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const OPS: &str = r"=|!=|>|<|>=|=>|<=|=<|~|~>|\^";

struct Res {
    constraint: Regex,
    find: Regex,
    range: Regex,
}

fn res() -> &'static Res {
    static R: OnceLock<Res> = OnceLock::new();
    R.get_or_init(|| Res {
        constraint: Regex::new(&format!(r"^\s*({OPS}|)\s*({CV})\s*$")).expect("constant regex"),
        find: Regex::new(&format!(r"({OPS}|)\s*({CV})")).expect("constant regex"),
        range: Regex::new(&format!(r"\s*({CV})\s+-\s+({CV})\s*")).expect("constant regex"),
    })
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

fn parse_constraint(c: &str) -> Result<Constraint, String> {
    if c.trim().is_empty() {
        return Ok(Constraint {
            op: String::new(),
            con: Version::parse("0.0.0")?,
            minor_dirty: false,
            patch_dirty: false,
            dirty: true,
        });
    }
    let Some(m) = res().constraint.captures(c) else {
        return Err(format!("improper constraint: {c}"));
    };
    let g = |i: usize| m.get(i).map(|x| x.as_str()).unwrap_or("");
    let op = g(1).to_string();
    let (major, minor, patch, pre) = (g(3), g(4), g(5), g(6));
    let (mut minor_dirty, mut patch_dirty, mut dirty) = (false, false, false);
    let ver = if is_x(major) || major.is_empty() {
        dirty = true;
        format!("0.0.0{pre}")
    } else if is_x(minor.trim_start_matches('.')) || minor.is_empty() {
        minor_dirty = true;
        dirty = true;
        format!("{major}.0.0{pre}")
    } else if is_x(patch.trim_start_matches('.')) || patch.is_empty() {
        dirty = true;
        patch_dirty = true;
        format!("{major}{minor}.0{pre}")
    } else {
        g(2).to_string()
    };
    let con = Version::parse(&ver).map_err(|_| "constraint Parser Error".to_string())?;
    Ok(Constraint {
        op,
        con,
        minor_dirty,
        patch_dirty,
        dirty,
    })
}

fn rewrite_range(c: &str) -> String {
    let r = &res().range;
    r.replace_all(c, |caps: &regex::Captures| {
        let a = caps.get(1).map(|x| x.as_str()).unwrap_or("");
        let b = caps.get(11).map(|x| x.as_str()).unwrap_or("");
        format!(">= {a}, <= {b}")
    })
    .into_owned()
}

/// A parsed constraint set: OR of ANDs.
pub struct Constraints(Vec<Vec<Constraint>>);

impl Constraints {
    pub fn parse(c: &str) -> Result<Constraints, String> {
        let c = rewrite_range(c);
        let mut ors = Vec::new();
        for part in c.split("||") {
            let found: Vec<&str> = res().find.find_iter(part).map(|m| m.as_str()).collect();
            let mut rest = part.to_string();
            for f in &found {
                rest = rest.replacen(f, "", 1);
            }
            if !rest.chars().all(|ch| ch.is_whitespace() || ch == ',') {
                return Err(format!("improper constraint: {part}"));
            }
            let mut ands = Vec::new();
            if found.is_empty() {
                ands.push(parse_constraint(part)?);
            }
            for f in found {
                ands.push(parse_constraint(f)?);
            }
            ors.push(ands);
        }
        Ok(Constraints(ors))
    }

    pub fn check(&self, v: &Version) -> bool {
        self.0.iter().any(|ands| ands.iter().all(|c| check(c, v)))
    }
}

fn check(c: &Constraint, v: &Version) -> bool {
    let pre_ok = v.pre.is_empty() || !c.con.pre.is_empty();
    match c.op.as_str() {
        "" | "=" => {
            if !pre_ok {
                return false;
            }
            if c.dirty {
                tilde(c, v)
            } else {
                v.compare(&c.con) == Ordering::Equal
            }
        }
        "!=" => {
            if c.dirty {
                if !pre_ok {
                    return false;
                }
                if c.con.major != v.major {
                    return true;
                }
                if c.con.minor != v.minor && !c.minor_dirty {
                    return true;
                } else if c.minor_dirty {
                    return false;
                } else if c.con.patch != v.patch && !c.patch_dirty {
                    return true;
                } else if c.patch_dirty {
                    return false;
                }
            }
            v.compare(&c.con) != Ordering::Equal
        }
        ">" => {
            if !pre_ok {
                return false;
            }
            if !c.dirty {
                return v.compare(&c.con) == Ordering::Greater;
            }
            if v.major > c.con.major {
                return true;
            } else if v.major < c.con.major || c.minor_dirty {
                return false;
            } else if c.patch_dirty {
                return v.minor > c.con.minor;
            }
            v.compare(&c.con) == Ordering::Greater
        }
        "<" => pre_ok && v.compare(&c.con) == Ordering::Less,
        ">=" | "=>" => pre_ok && v.compare(&c.con) != Ordering::Less,
        "<=" | "=<" => {
            if !pre_ok {
                return false;
            }
            if !c.dirty {
                return v.compare(&c.con) != Ordering::Greater;
            }
            !(v.major > c.con.major
                || (v.major == c.con.major && v.minor > c.con.minor && !c.minor_dirty))
        }
        "~" | "~>" => pre_ok && tilde(c, v),
        "^" => {
            if !pre_ok || v.compare(&c.con) == Ordering::Less {
                return false;
            }
            if c.con.major > 0 || c.minor_dirty {
                return v.major == c.con.major;
            }
            if c.con.major == 0 && v.major > 0 {
                return false;
            }
            if c.con.minor > 0 || c.patch_dirty {
                return v.minor == c.con.minor;
            }
            if c.con.minor == 0 && v.minor > 0 {
                return false;
            }
            c.con.patch == v.patch
        }
        _ => false,
    }
}

fn tilde(c: &Constraint, v: &Version) -> bool {
    if v.compare(&c.con) == Ordering::Less {
        return false;
    }
    if c.con.major == 0 && c.con.minor == 0 && c.con.patch == 0 && !c.minor_dirty && !c.patch_dirty
    {
        return true;
    }
    if v.major != c.con.major {
        return false;
    }
    if v.minor != c.con.minor && !c.minor_dirty {
        return false;
    }
    true
}

/// Sprig's `semverCompare constraint version`.
pub fn semver_compare(constraint: &str, version: &str) -> Result<bool, String> {
    let c = Constraints::parse(constraint)?;
    let v = Version::parse(version)?;
    Ok(c.check(&v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraints_like_masterminds() {
        assert!(semver_compare(">=1.21-0", "v1.35.0").unwrap());
        assert!(semver_compare(">=1.19.0-0", "1.35.0").unwrap());
        assert!(!semver_compare("<1.19", "v1.35.0").unwrap());
        assert!(semver_compare(">= 1.2, < 3.0", "2.1.0").unwrap());
        assert!(semver_compare(">=1.2 <3.0 || =5", "5.0.0").unwrap());
        assert!(!semver_compare(">=1.21", "1.22.0-gke.1").unwrap());
        assert!(semver_compare(">=1.21-0", "1.22.0-gke.1").unwrap());
        assert!(semver_compare("~1.2", "1.2.9").unwrap());
        assert!(!semver_compare("~1.2", "1.3.0").unwrap());
        assert!(semver_compare("^1.2.3", "1.9.0").unwrap());
        assert!(semver_compare("1.2 - 1.4", "1.3.0").unwrap());
        assert!(semver_compare("*", "1.3.0").unwrap());
        assert!(semver_compare(">1.20", "1.21.0").unwrap());
        assert!(!semver_compare(">1.20", "1.20.5").unwrap());
        assert!(Version::parse("x.y").is_err());
        assert_eq!(Version::parse("v1.2").unwrap().to_string(), "1.2.0");
    }
}
