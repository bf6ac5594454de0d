//! Core's modules form layers: no module calls, directly or through others,
//! a module that calls it back (docs/architecture.md, "Layers of core").
//!
//! Most of core's operations are methods of one `Hubkeep` type spread over
//! many files, so `use` lines alone do not show who calls whom. This test
//! reads the sources: a file depends on another when it names one of that
//! file's modules (`crate::x::…`) or calls a `Hubkeep` method defined there
//! (`self.name(`, `hk.name(`). It fails naming the files of any cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The file's code without its unit tests and without `//` comments.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines().map(|l| l.split("//").next().unwrap_or_default()).collect::<Vec<_>>().join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The identifier at the start of `s`.
fn ident(s: &str) -> &str {
    let end = s.find(|c| !is_ident(c)).unwrap_or(s.len());
    &s[..end]
}

/// The bodies of the file's `impl Hubkeep { … }` blocks.
fn hubkeep_impls(code: &str) -> Vec<&str> {
    let mut out = vec![];
    let mut from = 0;
    while let Some(at) = code[from..].find("impl Hubkeep {") {
        let open = from + at + "impl Hubkeep ".len();
        let mut depth = 0;
        let mut end = code.len();
        for (i, c) in code[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.push(&code[open..end]);
        from = end;
    }
    out
}

/// Identifiers that follow `prefix` in `code`.
fn after<'a>(code: &'a str, prefix: &str) -> Vec<&'a str> {
    code.match_indices(prefix)
        .filter(|(i, _)| *i == 0 || !is_ident(code[..*i].chars().next_back().unwrap()))
        .map(|(i, _)| ident(&code[i + prefix.len()..]))
        .filter(|s| !s.is_empty())
        .collect()
}

#[test]
fn core_has_no_module_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = vec![];
    rust_files(&src, &mut paths);
    // Module path (`ops::backup`) → code.
    let files: BTreeMap<String, String> = paths
        .iter()
        .filter_map(|p| {
            let rel = p.strip_prefix(&src).unwrap().with_extension("");
            let name = rel.to_string_lossy().replace('/', "::");
            let name = name.strip_suffix("::mod").map(str::to_string).unwrap_or(name);
            (name != "lib").then(|| (name, code(&std::fs::read_to_string(p).unwrap())))
        })
        .collect();
    assert!(files.len() > 20, "core's sources not found in {}", src.display());

    // Which file defines each Hubkeep method.
    let mut defined_in: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (name, code) in &files {
        for body in hubkeep_impls(code) {
            for f in after(body, "fn ") {
                defined_in.entry(f).or_default().insert(name);
            }
        }
    }

    let mut edges: BTreeMap<&str, BTreeMap<&str, BTreeSet<String>>> = BTreeMap::new();
    for (name, code) in &files {
        let out = edges.entry(name).or_default();
        for receiver in ["self.", "hk.", "hubkeep."] {
            for call in after(code, receiver) {
                let is_call = code.contains(&format!("{receiver}{call}("));
                if let (true, Some(owners)) = (is_call, defined_in.get(call)) {
                    if owners.len() == 1 && !owners.contains(name.as_str()) {
                        out.entry(owners.first().unwrap()).or_default().insert(format!("{call}()"));
                    }
                }
            }
        }
        for (at, _) in code.match_indices("crate::") {
            // The longest known module named by this path.
            let path: String = code[at + "crate::".len()..].chars().take_while(|c| is_ident(*c) || *c == ':').collect();
            let parts: Vec<&str> = path.split("::").collect();
            for n in (1..=parts.len()).rev() {
                let m = parts[..n].join("::");
                if let Some((known, _)) = files.get_key_value(&m) {
                    if known != name {
                        out.entry(known).or_default().insert(format!("crate::{m}"));
                    }
                    break;
                }
            }
        }
    }

    // A cycle is an edge a → b where b reaches a.
    let reaches = |from: &str, to: &str| -> Option<Vec<String>> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![(from.to_string(), vec![from.to_string()])];
        while let Some((at, path)) = stack.pop() {
            if at == to {
                return Some(path);
            }
            if !seen.insert(at.clone()) {
                continue;
            }
            for next in edges.get(at.as_str()).into_iter().flat_map(|e| e.keys()) {
                let mut p = path.clone();
                p.push(next.to_string());
                stack.push((next.to_string(), p));
            }
        }
        None
    };
    let mut cycles = vec![];
    for (a, outs) in &edges {
        for (b, why) in outs {
            if let Some(back) = reaches(b, a) {
                cycles.push(format!("{a} → {b} (by {}) and back: {}", why.iter().cloned().collect::<Vec<_>>().join(", "), back.join(" → ")));
            }
        }
    }
    assert!(cycles.is_empty(), "core's modules call each other in a cycle:\n{}", cycles.join("\n"));
}
