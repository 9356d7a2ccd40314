//! The layers of `docs/ARCHITECTURE.md`: every top-level module imports only modules of lower
//! layers, so no two modules import each other, directly or through a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::support::root;

/// `module → layer`, from the "## Layers" table of docs/ARCHITECTURE.md.
fn layers() -> BTreeMap<String, usize> {
    let doc = std::fs::read_to_string(root().join("docs/ARCHITECTURE.md")).unwrap();
    let section = doc
        .split("\n## Layers\n")
        .nth(1)
        .expect("docs/ARCHITECTURE.md has a `## Layers` section");
    let section = section.split("\n## ").next().unwrap();
    let mut layers = BTreeMap::new();
    for line in section.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let [_, layer, modules, _] = cells[..] else {
            continue;
        };
        let Ok(layer) = layer.parse::<usize>() else {
            continue;
        };
        for module in modules.split(',') {
            let module = module.trim().trim_matches('`');
            assert!(
                layers.insert(module.to_owned(), layer).is_none(),
                "`{module}` is on two layers"
            );
        }
    }
    assert!(!layers.is_empty(), "the Layers table has no rows");
    layers
}

/// The code of a source file without its comments and its trailing `#[cfg(test)]` module.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `crate::NAME` references in `code`.
fn references(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        if code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue; // `mycrate::`
        }
        let name: String = code[at + "crate::".len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        found.insert(name);
    }
    found
}

/// Every `.rs` file under `dir` but test tables (`tests.rs`).
fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs")
            && path.file_name().is_some_and(|n| n != "tests.rs")
        {
            out.push(path);
        }
    }
}

#[test]
fn no_module_imports_one_of_its_own_layer_or_above() {
    let layers = layers();
    let src = root().join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    let mut broken = Vec::new();
    let mut seen = BTreeSet::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_owned();
        if module == "lib" || module == "main" {
            continue;
        }
        let Some(&layer) = layers.get(&module) else {
            broken.push(format!(
                "`{module}` ({}) is in no layer of docs/ARCHITECTURE.md",
                rel.display()
            ));
            continue;
        };
        seen.insert(module.clone());
        let text = std::fs::read_to_string(file).unwrap();
        for target in references(&code(&text)) {
            // Items at the crate root (macros, re-exported functions) are not modules.
            let Some(&target_layer) = layers.get(&target) else {
                continue;
            };
            if target != module && target_layer >= layer {
                broken.push(format!(
                    "src/{} (`{module}`, layer {layer}) imports `{target}` (layer {target_layer})",
                    rel.display()
                ));
            }
        }
    }
    for module in layers.keys() {
        if !seen.contains(module) {
            broken.push(format!("`{module}` is in the Layers table but not in src/"));
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
}

#[test]
fn the_layer_check_sees_imports_and_skips_comments_and_tests() {
    let text = "use crate::trace::Span;\n/// see [`crate::cli`]\nfn f() { crate::metrics::x(); }\n\
                #[cfg(test)]\nmod tests {\n    use crate::runner::X;\n}\n";
    let found = references(&code(text));
    assert_eq!(found.into_iter().collect::<Vec<_>>(), ["metrics", "trace"],);
    assert!(references("mycrate::x").is_empty());
}

/// Lines of code of a source file: not blank, not a comment, before its trailing test module.
fn lines_of_code(text: &str) -> usize {
    code(text).lines().filter(|l| !l.trim().is_empty()).count()
}

#[test]
fn no_source_file_is_over_600_lines_of_code_and_no_cli_file_over_300() {
    let src = root().join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut over = Vec::new();
    for file in files {
        let rel = file.strip_prefix(&src).unwrap();
        // Test tables split out of a module (`tests/…`) are not code.
        if rel.components().any(|c| c.as_os_str() == "tests") {
            continue;
        }
        let limit = if rel.starts_with("cli") { 300 } else { 600 };
        let n = lines_of_code(&std::fs::read_to_string(&file).unwrap());
        if n > limit {
            over.push(format!(
                "src/{}: {n} lines of code (at most {limit})",
                rel.display()
            ));
        }
    }
    assert!(over.is_empty(), "split these files:\n{}", over.join("\n"));
}

/// The submodule of `top` a file belongs to (`src/runner/driver/command.rs` → `driver`), or
/// `None` for the module's own root file.
fn submodule(rel: &Path) -> Option<String> {
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    match parts.len() {
        0 | 1 => None,
        2 if parts[1] == "mod.rs" => None,
        _ => Some(parts[1].trim_end_matches(".rs").to_owned()),
    }
}

/// Sibling submodules of one top-level module (`runner::dispatch`, `runner::trial`) that
/// import each other through `crate::top::NAME` or, from a submodule's own files, `super::NAME`.
fn sibling_edges(top: &str, rel: &Path, code: &str, names: &BTreeSet<String>) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let prefix = format!("crate::{top}::");
    let depth = rel.components().count();
    let direct = depth == 2 || (depth == 3 && rel.ends_with("mod.rs"));
    for pattern in [prefix.as_str(), "super::"] {
        if pattern == "super::" && !direct {
            continue;
        }
        for (at, _) in code.match_indices(pattern) {
            if code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':') {
                continue; // `super::super::`, `mycrate::`
            }
            let name: String = code[at + pattern.len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if names.contains(&name) {
                found.insert(name);
            }
        }
    }
    found
}

#[test]
fn no_two_submodules_of_a_module_import_each_other() {
    let src = root().join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    // top → (submodule → the siblings it imports)
    let mut graph: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    let mut texts = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).unwrap().to_owned();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let top = top.trim_end_matches(".rs").to_owned();
        if let Some(sub) = submodule(&rel) {
            graph
                .entry(top.clone())
                .or_default()
                .entry(sub)
                .or_default();
        }
        texts.push((top, rel, std::fs::read_to_string(file).unwrap()));
    }
    for (top, rel, text) in &texts {
        let Some(sub) = submodule(rel) else { continue };
        let names: BTreeSet<String> = graph[top].keys().cloned().collect();
        let edges = sibling_edges(top, rel, &code(text), &names);
        let entry = graph.get_mut(top).unwrap().get_mut(&sub).unwrap();
        entry.extend(edges.into_iter().filter(|n| *n != sub));
    }
    let mut cycles = Vec::new();
    for (top, subs) in &graph {
        for (a, targets) in subs {
            for b in targets {
                // A path back from b to a closes a cycle.
                let mut stack = vec![b.clone()];
                let mut seen = BTreeSet::new();
                while let Some(m) = stack.pop() {
                    if m == *a {
                        cycles.push(format!("{top}::{a} → {top}::{b} → … → {top}::{a}"));
                        break;
                    }
                    if seen.insert(m.clone()) {
                        stack.extend(subs.get(&m).into_iter().flatten().cloned());
                    }
                }
            }
        }
    }
    assert!(cycles.is_empty(), "import cycles:\n{}", cycles.join("\n"));
}
