//! go-yaml's map key order (`keyList.Less` in sorter.go), which both kustomize and Helm output
//! follow.

/// `keyList.Less` for string keys: letters sort after other characters, and runs of digits
/// compare as numbers (`a9` < `a10`).
pub fn key_less(a: &str, b: &str) -> bool {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let is_digit = |c: char| c.is_ascii_digit();
    for i in 0..ar.len().min(br.len()) {
        if ar[i] == br[i] {
            continue;
        }
        let al = ar[i].is_alphabetic();
        let bl = br[i].is_alphabetic();
        if al && bl {
            return ar[i] < br[i];
        }
        if al || bl {
            return bl;
        }
        let (mut an, mut bn) = (0, 0);
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i;
            while j > 0 && is_digit(ar[j - 1]) {
                j -= 1;
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let (an, ai) = number_at(&ar, i, an);
        let (bn, bi) = number_at(&br, i, bn);
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return ar[i] < br[i];
    }
    ar.len() < br.len()
}

/// `n` followed by the digits from `chars[i]` on, as Go's `int64` arithmetic computes it, and
/// the index after the digits.
fn number_at(chars: &[char], mut i: usize, mut n: i64) -> (i64, usize) {
    while i < chars.len() && chars[i].is_ascii_digit() {
        n = n
            .wrapping_mul(10)
            .wrapping_add(i64::from(chars[i] as u8 - b'0'));
        i += 1;
    }
    (n, i)
}

/// Sorts map entries by key in go-yaml's order. `key_less` is not a total order for every set
/// of keys (Go then sorts keys that arrive in random map order), so this is a stable merge
/// sort, which cannot fail on an inconsistent order, rather than `sort_by`, which may panic.
pub fn sort_entries<T>(entries: &mut Vec<(String, T)>) {
    if entries.len() <= 1 {
        return;
    }
    let mut right = entries.split_off(entries.len() / 2);
    sort_entries(entries);
    sort_entries(&mut right);
    let left = std::mem::take(entries);
    let (mut l, mut r) = (left.into_iter().peekable(), right.into_iter().peekable());
    while let (Some(a), Some(b)) = (l.peek(), r.peek()) {
        if key_less(&b.0, &a.0) {
            entries.extend(r.next());
        } else {
            entries.extend(l.next());
        }
    }
    entries.extend(l);
    entries.extend(r);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(keys: &[&str]) -> Vec<String> {
        let mut entries: Vec<(String, ())> = keys.iter().map(|k| (k.to_string(), ())).collect();
        sort_entries(&mut entries);
        entries.into_iter().map(|(k, ())| k).collect()
    }

    /// Letters after other characters, digit runs compared as numbers.
    #[test]
    fn keys_sorted_as_go_yaml_sorts_them() {
        let want = [
            "-x",
            "_x",
            "~",
            "0",
            "00",
            "1",
            "9",
            "10",
            "A",
            "Z",
            "a-b",
            "a.b",
            "a_b",
            "a~",
            "a9",
            "a10",
            "aB",
            "ab",
            "port-80",
            "port-443",
            "port-8080",
            "v1",
            "v2",
            "v10",
            "x 1",
            "x 9",
            "x 10",
            "x0",
            "x00",
            "x00y",
            "x01y",
            "x0y",
            "z",
            "é",
        ];
        // Any input order gives the same result.
        let mut keys = want;
        keys.reverse();
        assert_eq!(sorted(&keys), want);
        keys.rotate_left(13);
        assert_eq!(sorted(&keys), want);
    }

    #[test]
    fn key_order_is_natural() {
        assert_eq!(
            sorted(&["a10", "a9", "b", "A", "_x", "a"]),
            ["_x", "A", "a", "a9", "a10", "b"]
        );
    }
}
