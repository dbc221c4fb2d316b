//! Ordered multimaps: [`Headers`] (names case-insensitive) and [`Params`] (names exact).

use alloc::string::String;
use alloc::vec::Vec;

/// HTTP headers in the order they arrived (or were added), every value of a repeated name kept.
///
/// Names compare ASCII case-insensitively and keep the spelling they arrived with. A lookup
/// scans the list, which for the few dozen headers of a request is faster than hashing. Values
/// are strings (events are JSON); [`Headers::get_bytes`] gives the bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Headers {
    entries: Vec<(String, String)>,
}

impl Headers {
    /// No headers.
    pub const fn new() -> Self {
        Self {
            entries: Vec::new(),
        }
    }

    /// No headers, with room for `n`.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            entries: Vec::with_capacity(n),
        }
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_all(name).next()
    }

    /// The first value of `name`, as bytes.
    pub fn get_bytes(&self, name: &str) -> Option<&[u8]> {
        self.get(name).map(str::as_bytes)
    }

    /// Every value of `name`, in order.
    pub fn get_all<'s, 'n>(&'s self, name: &'n str) -> impl Iterator<Item = &'s str> + use<'s, 'n> {
        self.entries
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether `name` has a value.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Every `(name, value)`, in order; a repeated name once per value.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.entries.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Every name once (as first spelled), in the order first seen, with all its values.
    pub fn grouped(&self) -> impl Iterator<Item = (&str, impl Iterator<Item = &str> + '_)> + '_ {
        self.entries
            .iter()
            .enumerate()
            .filter(|(i, (n, _))| {
                !self.entries[..*i]
                    .iter()
                    .any(|(m, _)| m.eq_ignore_ascii_case(n))
            })
            .map(|(_, (n, _))| (n.as_str(), self.get_all(n)))
    }

    /// The number of values.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds a value for `name`, after any it has.
    pub fn append(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.entries.push((name.into(), value.into()));
    }

    /// Replaces every value of `name` by `value` (kept where the first one was).
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        let value = value.into();
        match self
            .entries
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(&name))
        {
            Some(i) => {
                self.entries[i].1 = value;
                let mut seen = 0;
                self.entries.retain(|(n, _)| {
                    seen += 1;
                    seen - 1 <= i || !n.eq_ignore_ascii_case(&name)
                });
            }
            None => self.entries.push((name, value)),
        }
    }

    /// Removes every value of `name`; whether there was one.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.entries.len();
        self.entries.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.entries.len() != before
    }

    /// The `(name, value)` pairs, in order.
    pub fn into_vec(self) -> Vec<(String, String)> {
        self.entries
    }
}

impl From<Vec<(String, String)>> for Headers {
    fn from(entries: Vec<(String, String)>) -> Self {
        Self { entries }
    }
}

impl<N: Into<String>, V: Into<String>> FromIterator<(N, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> Self {
        Self {
            entries: iter
                .into_iter()
                .map(|(n, v)| (n.into(), v.into()))
                .collect(),
        }
    }
}

impl<N: Into<String>, V: Into<String>> Extend<(N, V)> for Headers {
    fn extend<I: IntoIterator<Item = (N, V)>>(&mut self, iter: I) {
        self.entries
            .extend(iter.into_iter().map(|(n, v)| (n.into(), v.into())));
    }
}

/// Name/value pairs in order, names compared exactly: the query (decoded, a repeated name once
/// per value), path parameters and stage variables.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params {
    entries: Vec<(String, String)>,
}

impl Params {
    /// No pairs.
    pub const fn new() -> Self {
        Self {
            entries: Vec::new(),
        }
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_all(name).next()
    }

    /// Every value of `name`, in order.
    pub fn get_all<'s, 'n>(&'s self, name: &'n str) -> impl Iterator<Item = &'s str> + use<'s, 'n> {
        self.entries
            .iter()
            .filter(move |(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether `name` has a value.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Every `(name, value)`, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.entries.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// The number of pairs.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds a pair at the end.
    pub fn append(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.entries.push((name.into(), value.into()));
    }

    /// The pairs, in order.
    pub fn into_vec(self) -> Vec<(String, String)> {
        self.entries
    }
}

impl From<Vec<(String, String)>> for Params {
    fn from(entries: Vec<(String, String)>) -> Self {
        Self { entries }
    }
}

impl<N: Into<String>, V: Into<String>> FromIterator<(N, V)> for Params {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> Self {
        Self {
            entries: iter
                .into_iter()
                .map(|(n, v)| (n.into(), v.into()))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn headers_are_case_insensitive_and_keep_repeats() {
        let mut h: Headers = [("Vary", "a"), ("x", "1"), ("vary", "b")]
            .into_iter()
            .collect();
        assert_eq!(h.get_all("VARY").collect::<Vec<_>>(), ["a", "b"]);
        let grouped: Vec<(&str, Vec<&str>)> = h.grouped().map(|(n, v)| (n, v.collect())).collect();
        assert_eq!(grouped, [("Vary", vec!["a", "b"]), ("x", vec!["1"])]);
        h.insert("VARY", "c");
        assert_eq!(h.iter().collect::<Vec<_>>(), [("Vary", "c"), ("x", "1")]);
        assert!(h.remove("X"));
        assert_eq!(h.len(), 1);
    }
}
