//! Watch mode's decisions, kept apart from the terminal: which saved files matter to which app
//! (the host records every path a render read), how bursts of events become one cycle, and
//! what changed between two renders when there is no cluster to diff against.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use notify::EventKind;
use notify::event::{AccessKind, AccessMode};

use crate::apply::diff::unified_labeled;
use crate::render::{Release, RenderedObject};

/// Whether a filesystem event can change what a render sees. Reads (our own renders open
/// files) and metadata-only changes never trigger a cycle.
pub fn is_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Create(_) | EventKind::Remove(_) => true,
        EventKind::Modify(m) => !matches!(m, notify::event::ModifyKind::Metadata(_)),
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        _ => false,
    }
}

/// Files editors and tools write next to the real ones: vim swap and backup files and its
/// `4913` probe, emacs lock and autosave files, `~` backups, and anything under `.git/`.
pub fn is_noise(path: &Path) -> bool {
    if path.components().any(|c| c.as_os_str() == ".git") {
        return true;
    }
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return true;
    };
    name == "4913"
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.ends_with(".swo")
        || name.starts_with(".#")
        || (name.starts_with('#') && name.ends_with('#'))
        || name.ends_with(".tmp")
}

/// Whether a change at `changed` (absolute) can affect a render of the tree at `root` that
/// read `reads` (root-relative paths): the file itself was read, or it sits in a directory the
/// render listed (a new or removed file there changes the listing).
pub fn affects(root: &Path, reads: &BTreeSet<String>, changed: &Path) -> bool {
    let Ok(rel) = changed.strip_prefix(root) else {
        return false;
    };
    let rel: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    let path = rel.join("/");
    if reads.contains(&path) {
        return true;
    }
    let parent = rel[..rel.len().saturating_sub(1)].join("/");
    if reads.contains(&parent) {
        return true;
    }
    // A directory that was read below (renamed or removed as a whole).
    let prefix = format!("{path}/");
    reads.iter().any(|r| r.starts_with(&prefix))
}

/// Collects a burst of events into one cycle: it ends once nothing new arrived for `quiet`, or
/// after `max` in all, whichever is first (a `git checkout` of thousands of files is one cycle).
pub struct Debounce {
    pub quiet: Duration,
    pub max: Duration,
    first: Option<Instant>,
    last: Option<Instant>,
    paths: BTreeSet<PathBuf>,
}

impl Debounce {
    pub fn new(quiet: Duration, max: Duration) -> Self {
        Debounce {
            quiet,
            max,
            first: None,
            last: None,
            paths: BTreeSet::new(),
        }
    }

    pub fn push(&mut self, path: PathBuf, now: Instant) {
        self.first.get_or_insert(now);
        self.last = Some(now);
        self.paths.insert(path);
    }

    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// How long to wait for more events before the burst is over; `None` when it is over.
    pub fn wait(&self, now: Instant) -> Option<Duration> {
        let (first, last) = (self.first?, self.last?);
        let quiet_left = self.quiet.checked_sub(now.duration_since(last))?;
        let max_left = self.max.checked_sub(now.duration_since(first))?;
        Some(quiet_left.min(max_left))
    }

    /// Ends the burst and hands over its paths.
    pub fn take(&mut self) -> (BTreeSet<PathBuf>, Option<Instant>) {
        let first = self.first.take();
        self.last = None;
        (std::mem::take(&mut self.paths), first)
    }
}

fn key(o: &RenderedObject) -> String {
    let ns = o.namespace().map(|n| format!("{n}/")).unwrap_or_default();
    format!("{} {}{}", o.kind(), ns, o.name())
}

/// What changed between two renders of an app, as unified diffs headed `previous/` and `new/`:
/// changed and created objects (by kind and name), then removed ones.
pub fn release_diff(before: &Release, after: &Release) -> Vec<String> {
    let old: BTreeMap<String, &RenderedObject> =
        before.objects.iter().map(|o| (key(o), o)).collect();
    let new: BTreeMap<String, &RenderedObject> =
        after.objects.iter().map(|o| (key(o), o)).collect();
    let mut out = Vec::new();
    for (k, n) in &new {
        let after_text = crate::yaml::to_yaml(&n.value);
        match old.get(k) {
            Some(o) => {
                let before_text = crate::yaml::to_yaml(&o.value);
                if before_text != after_text {
                    out.push(unified_labeled(
                        k,
                        ("previous", &before_text),
                        ("new", &after_text),
                    ));
                }
            }
            None => out.push(unified_labeled(k, ("previous", ""), ("new", &after_text))),
        }
    }
    for (k, o) in &old {
        if !new.contains_key(k) {
            out.push(unified_labeled(
                k,
                ("previous", &crate::yaml::to_yaml(&o.value)),
                ("new", ""),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_change_matters_when_it_was_read_or_listed() {
        let root = Path::new("/repo");
        let reads: BTreeSet<String> = ["apps/web", "apps/web/deploy.yaml", "base/svc.yaml"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert!(affects(
            root,
            &reads,
            Path::new("/repo/apps/web/deploy.yaml")
        ));
        assert!(
            affects(root, &reads, Path::new("/repo/apps/web/new.yaml")),
            "a new file in a listed directory"
        );
        assert!(affects(root, &reads, Path::new("/repo/base/svc.yaml")));
        assert!(
            affects(root, &reads, Path::new("/repo/base")),
            "a read directory removed as a whole"
        );
        assert!(
            !affects(root, &reads, Path::new("/repo/base/other.yaml")),
            "base/ was not listed"
        );
        assert!(!affects(root, &reads, Path::new("/repo/docs/readme.md")));
        assert!(!affects(
            root,
            &reads,
            Path::new("/elsewhere/apps/web/deploy.yaml")
        ));
    }

    #[test]
    fn editor_noise_is_ignored() {
        for p in [
            "/r/.app.yaml.swp",
            "/r/4913",
            "/r/app.yaml~",
            "/r/.#app.yaml",
            "/r/#app.yaml#",
            "/r/.git/index",
        ] {
            assert!(is_noise(Path::new(p)), "{p}");
        }
        assert!(!is_noise(Path::new("/r/app.yaml")));
    }

    #[test]
    fn a_burst_is_one_cycle_bounded_by_max() {
        let t0 = Instant::now();
        let mut d = Debounce::new(Duration::from_millis(50), Duration::from_millis(300));
        assert_eq!(d.wait(t0), None);
        d.push("/a".into(), t0);
        assert_eq!(d.wait(t0), Some(Duration::from_millis(50)));
        d.push("/b".into(), t0 + Duration::from_millis(40));
        assert_eq!(
            d.wait(t0 + Duration::from_millis(60)),
            Some(Duration::from_millis(30)),
            "quiet restarts at each event"
        );
        assert_eq!(d.wait(t0 + Duration::from_millis(100)), None);
        for i in 0..10 {
            d.push(format!("/c{i}").into(), t0 + Duration::from_millis(40 * i));
        }
        assert_eq!(
            d.wait(t0 + Duration::from_millis(360)),
            None,
            "a never-ending burst is cut at max"
        );
        let (paths, first) = d.take();
        assert_eq!(paths.len(), 12);
        assert_eq!(first, Some(t0));
        assert!(d.is_empty());
    }

    #[test]
    fn release_diff_shows_changed_created_and_removed_objects() {
        let obj = |name: &str, v: &str| RenderedObject {
            value: json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"k": v}}),
            origin: None,
        };
        let rel = |objs: Vec<RenderedObject>| Release {
            app: "a".into(),
            revision: "local".into(),
            renderer: "plain".into(),
            renderer_digest: String::new(),
            objects: objs,
            warnings: vec![],
            reads: Default::default(),
        };
        let d = release_diff(
            &rel(vec![
                obj("same", "1"),
                obj("changed", "1"),
                obj("gone", "1"),
            ]),
            &rel(vec![obj("same", "1"), obj("changed", "2"), obj("new", "1")]),
        );
        assert_eq!(d.len(), 3, "{d:?}");
        assert!(d[0].contains("-  k: \"1\"\n+  k: \"2\""), "{}", d[0]);
        assert!(d[1].contains("+++ new/ConfigMap new"), "{}", d[1]);
        assert!(d[2].contains("--- previous/ConfigMap gone"), "{}", d[2]);
    }
}
