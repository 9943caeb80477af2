//! The library's modules depend on each other one way only: no file's `crate::` paths lead, through other
//! files', back to it (test modules aside). Read from the sources, so a new import that closes a circle fails
//! here and names the circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every module of `src` (`data::npz`, `memory`, ...) and its source without its `#[cfg(test)]` part.
fn modules(src: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("src is readable") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(src).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
                parts.pop();
            }
            let text = std::fs::read_to_string(&path).expect("a source file");
            let code = text.split("#[cfg(test)]").next().unwrap_or("").to_string();
            out.insert(parts.join("::"), code);
        }
    }
    out
}

/// The longest module `path` (`a::b::Item`) names.
fn resolve<'a>(mods: &'a BTreeMap<String, String>, path: &str) -> Option<&'a str> {
    let parts: Vec<&str> = path.split("::").collect();
    (1..=parts.len())
        .rev()
        .map(|n| parts[..n].join("::"))
        .find_map(|m| mods.get_key_value(&m).map(|(k, _)| k.as_str()))
}

/// The modules each module's `crate::` paths name (`use crate::a::{b, c::d}` names a::b and a::c::d), leaving
/// out its own parents and children (a parent declares its children; a child may use its parent's items).
fn edges(mods: &BTreeMap<String, String>) -> BTreeMap<&str, BTreeSet<&str>> {
    let mut out = BTreeMap::new();
    for (m, code) in mods {
        let mut to = BTreeSet::new();
        for (i, _) in code.match_indices("crate::") {
            let rest = &code[i + "crate::".len()..];
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(rest.len());
            let base = rest[..end].trim_end_matches(':');
            let mut names = vec![base.to_string()];
            if rest[end..].starts_with('{') {
                let inner = &rest[end + 1..rest[end..].find('}').map_or(end + 1, |j| end + j)];
                names.extend(
                    inner.split(',').map(|p| {
                        format!("{base}::{}", p.trim().split(" as ").next().unwrap_or(""))
                    }),
                );
            }
            for name in names {
                if let Some(r) = resolve(mods, &name) {
                    let related = r == m
                        || m.starts_with(&format!("{r}::"))
                        || r.starts_with(&format!("{m}::"))
                        || r.is_empty();
                    if !related {
                        to.insert(r);
                    }
                }
            }
        }
        out.insert(m.as_str(), to);
    }
    out
}

/// A circle through `start`, if any: the modules from `start` back to it.
fn circle<'a>(
    edges: &BTreeMap<&'a str, BTreeSet<&'a str>>,
    start: &'a str,
) -> Option<Vec<&'a str>> {
    let mut stack = vec![(start, vec![start])];
    let mut seen = BTreeSet::new();
    while let Some((at, path)) = stack.pop() {
        for &next in &edges[at] {
            if next == start {
                return Some(path.clone());
            }
            if seen.insert(next) {
                let mut p = path.clone();
                p.push(next);
                stack.push((next, p));
            }
        }
    }
    None
}

#[test]
fn no_module_imports_back_along_a_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mods = modules(&src);
    assert!(
        mods.contains_key("engine") && mods.contains_key("data::npz"),
        "the module list is read from {}",
        src.display()
    );
    let edges = edges(&mods);
    assert!(
        edges["backend"].contains("engine"),
        "the reader sees backend's use of the engine"
    );
    let circles: Vec<String> = edges
        .keys()
        .filter_map(|&m| circle(&edges, m))
        .map(|c| format!("{} -> {}", c.join(" -> "), c[0]))
        .collect();
    assert!(circles.is_empty(), "import circles: {circles:#?}");
}
