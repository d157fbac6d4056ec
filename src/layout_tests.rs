//! The module layout stays acyclic: a test reads every source file's `crate::` paths and fails
//! on a cycle between top-level modules (so that, say, the catalogue never depends on a tool
//! family that depends on it). Test code (`tests.rs` files, `#[cfg(test)] mod` blocks at the
//! end of a file) may reach anywhere and is not counted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module → the top-level modules its files name through `crate::`.
fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            let rel = path.strip_prefix(&src).expect("under src");
            let first = rel.components().next().expect("a component");
            let module = first
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string();
            if matches!(module.as_str(), "lib" | "main" | "layout_tests") {
                continue;
            }
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if name == "tests.rs" || name.ends_with("_tests.rs") {
                continue;
            }
            let mut text = std::fs::read_to_string(&path).expect("read file");
            if let Some(at) = text.find("\n#[cfg(test)]\nmod ") {
                text.truncate(at);
            }
            let deps = graph.entry(module.clone()).or_default();
            for (i, _) in text.match_indices("crate::") {
                // Skip `$crate::` in macros.
                if text[..i].ends_with('$') {
                    continue;
                }
                let rest = &text[i + "crate::".len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() && name != module {
                    deps.insert(name);
                }
            }
            // `use crate::{a, b::c}` lists.
            for (i, _) in text.match_indices("crate::{") {
                let rest = &text[i + "crate::{".len()..];
                let list = rest.split('}').next().unwrap_or_default();
                for item in list.split(',') {
                    let name: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() && name != module {
                        deps.insert(name);
                    }
                }
            }
        }
    }
    graph
}

/// One cycle, if there is any.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|n| n == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_import_cycles_between_modules() {
    let graph = dependencies();
    assert!(
        graph.contains_key("gate") && graph.contains_key("tools"),
        "{graph:?}"
    );
    if let Some(cycle) = find_cycle(&graph) {
        panic!("import cycle: {}", cycle.join(" -> "));
    }
}

#[test]
fn the_cycle_finder_finds_cycles() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("c".into());
    assert_eq!(find_cycle(&g), None);
    g.entry("c".into()).or_default().insert("a".into());
    assert_eq!(find_cycle(&g).map(|c| c.len()), Some(4));
}

/// Only `src/tools/` names a tool family (`tools::iam`, `tools::mq` …): the gate, the policy,
/// the CLI and the rest reach families through `tools::FAMILIES`, the catalogue and its guard
/// traits. Test code may name them.
#[test]
fn no_module_outside_the_tools_names_a_family() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let families: Vec<String> = std::fs::read_dir(src.join("tools"))
        .expect("read src/tools")
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let module = name.trim_end_matches(".rs").to_string();
            (!matches!(module.as_str(), "mod" | "common")).then_some(module)
        })
        .collect();
    assert!(families.contains(&"iam".to_string()), "{families:?}");
    let mut named = Vec::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src").flatten() {
            let path = entry.path();
            if path == src.join("tools") {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let name = path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or_default();
            if !name.ends_with(".rs") || name == "tests.rs" || name.ends_with("_tests.rs") {
                continue;
            }
            let mut text = std::fs::read_to_string(&path).expect("read file");
            if let Some(at) = text.find("\n#[cfg(test)]\nmod ") {
                text.truncate(at);
            }
            for f in &families {
                if text.contains(&format!("tools::{f}::")) {
                    named.push(format!("{} names tools::{f}", path.display()));
                }
            }
        }
    }
    assert!(named.is_empty(), "{named:#?}");
}
