//! `.helmignore` rules, evaluated exactly as Helm's `pkg/ignore` does (including its treatment
//! of negated rules: a file that does not match `!pattern` is ignored once that rule is
//! reached).

#[derive(Debug, Clone)]
struct Pattern {
    rule: String,
    negate: bool,
    must_dir: bool,
    kind: MatchKind,
}

#[derive(Debug, Clone, Copy)]
enum MatchKind {
    /// A leading `/`: match the whole path from the chart root.
    Rooted,
    /// Contains `/`: match the whole relative path.
    Path,
    /// No `/`: match the base name only.
    Base,
}

#[derive(Debug, Clone, Default)]
pub struct Rules {
    patterns: Vec<Pattern>,
}

impl Rules {
    pub fn parse(text: &str) -> Result<Rules, String> {
        let mut r = Rules::default();
        for line in text.lines() {
            r.parse_rule(line)?;
        }
        Ok(r)
    }

    /// Helm's defaults: hidden files in `templates/`.
    pub fn add_defaults(&mut self) {
        let _ = self.parse_rule("templates/.?*");
    }

    fn parse_rule(&mut self, rule: &str) -> Result<(), String> {
        let mut rule = rule.trim();
        if rule.is_empty() || rule.starts_with('#') {
            return Ok(());
        }
        if rule.contains("**") {
            return Err("double-star (**) syntax is not supported".into());
        }
        if match_path(rule, "abc").is_err() {
            return Err("syntax error in pattern".into());
        }
        let mut negate = false;
        if let Some(r) = rule.strip_prefix('!') {
            negate = true;
            rule = r;
        }
        let mut must_dir = false;
        if let Some(r) = rule.strip_suffix('/') {
            must_dir = true;
            rule = r;
        }
        let (kind, rule) = if let Some(r) = rule.strip_prefix('/') {
            (MatchKind::Rooted, r)
        } else if rule.contains('/') {
            (MatchKind::Path, rule)
        } else {
            (MatchKind::Base, rule)
        };
        self.patterns.push(Pattern {
            rule: rule.to_string(),
            negate,
            must_dir,
            kind,
        });
        Ok(())
    }

    /// Whether `path` (relative to the chart root, `/`-separated) is ignored.
    pub fn ignore(&self, path: &str, is_dir: bool) -> bool {
        if path.is_empty() || path == "." || path == "./" {
            return false;
        }
        for p in &self.patterns {
            let matched = || {
                let subject = match p.kind {
                    MatchKind::Base => path.rsplit('/').next().unwrap_or(path),
                    _ => path,
                };
                match_path(&p.rule, subject).unwrap_or(false)
            };
            if p.negate {
                if p.must_dir && !is_dir {
                    return true;
                }
                if !matched() {
                    return true;
                }
                continue;
            }
            if p.must_dir && !is_dir {
                continue;
            }
            if matched() {
                return true;
            }
        }
        false
    }
}

/// Go's `filepath.Match` on `/`-separated paths.
pub fn match_path(pattern: &str, name: &str) -> Result<bool, ()> {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    m(&p, &n)
}

fn m(p: &[char], n: &[char]) -> Result<bool, ()> {
    if p.is_empty() {
        return Ok(n.is_empty());
    }
    match p[0] {
        '*' => {
            // Star matches any run of non-separators.
            let rest = &p[1..];
            let mut i = 0;
            loop {
                if m(rest, &n[i..])? {
                    return Ok(true);
                }
                if i >= n.len() || n[i] == '/' {
                    // Still validate the rest of the pattern syntax.
                    return Ok(false);
                }
                i += 1;
            }
        }
        '?' => {
            if n.is_empty() || n[0] == '/' {
                return Ok(false);
            }
            m(&p[1..], &n[1..])
        }
        '[' => {
            let mut i = 1;
            let negated = p.get(1) == Some(&'^');
            if negated {
                i += 1;
            }
            let mut matched = false;
            let c = n.first().copied();
            let mut first = true;
            loop {
                let Some(&lo) = p.get(i) else { return Err(()) };
                if lo == ']' && !first {
                    i += 1;
                    break;
                }
                first = false;
                let lo = if lo == '\\' {
                    i += 1;
                    *p.get(i).ok_or(())?
                } else {
                    lo
                };
                i += 1;
                let mut hi = lo;
                if p.get(i) == Some(&'-') && p.get(i + 1).is_some_and(|x| *x != ']') {
                    i += 1;
                    hi = *p.get(i).ok_or(())?;
                    if hi == '\\' {
                        i += 1;
                        hi = *p.get(i).ok_or(())?;
                    }
                    i += 1;
                }
                if let Some(c) = c
                    && lo <= c
                    && c <= hi
                {
                    matched = true;
                }
            }
            match c {
                Some(c) if c != '/' && matched != negated => m(&p[i..], &n[1..]),
                _ => Ok(false),
            }
        }
        '\\' => {
            let Some(&lit) = p.get(1) else { return Err(()) };
            if n.first() == Some(&lit) {
                m(&p[2..], &n[1..])
            } else {
                Ok(false)
            }
        }
        c => {
            if n.first() == Some(&c) {
                m(&p[1..], &n[1..])
            } else {
                Ok(false)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helmignore_rules() {
        let mut r = Rules::parse("# comment\n*.bak\n/docs/\ntests/\nsecret?.txt\n").unwrap();
        r.add_defaults();
        assert!(r.ignore("a/b.bak", false));
        assert!(r.ignore("docs", true));
        assert!(!r.ignore("x/docs", true));
        assert!(r.ignore("tests", true));
        assert!(r.ignore("templates/.hidden", false));
        assert!(!r.ignore("templates/x.yaml", false));
        assert!(r.ignore("secret1.txt", false));
        assert!(match_path("[a-c]x", "bx").unwrap());
        assert!(!match_path("*", "a/b").unwrap());
    }
}
