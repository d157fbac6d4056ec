//! The docs stay true: the generated references (`docs/tools.md`, `docs/cli.md`) match the
//! catalogue and the flags, every relative link in README.md and docs/ resolves (to a file,
//! and to a heading when it names one), every page in docs/ is reachable from the README, and
//! ARCHITECTURE.md names every top-level module and only paths that exist.
//!
//! `GUARDED_UPDATE_DOCS=1 cargo test --lib docs_tests` rewrites the generated references.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::catalogue::reference::slug;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn check_generated(file: &str, now: String) {
    let path = root().join(file);
    if std::env::var_os("GUARDED_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &now).expect("write the reference");
        return;
    }
    let was = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        was == now,
        "{file} is stale: run `GUARDED_UPDATE_DOCS=1 cargo test --lib docs_tests` and commit it"
    );
}

#[test]
fn the_tools_reference_is_current() {
    check_generated(
        "docs/tools.md",
        crate::catalogue::reference::markdown(&crate::catalogue::Catalogue::builtin()),
    );
}

#[test]
fn the_cli_reference_is_current() {
    check_generated("docs/cli.md", crate::cli::reference::markdown());
}

/// README.md, docs/*.md and the other Markdown files a reader reaches from them.
fn pages() -> Vec<PathBuf> {
    let mut pages = vec![root().join("README.md"), root().join("CHANGELOG.md")];
    for dir in ["docs", "policies", "examples"] {
        let Ok(entries) = std::fs::read_dir(root().join(dir)) else {
            continue;
        };
        for e in entries.flatten() {
            if e.path().extension().and_then(|x| x.to_str()) == Some("md") {
                pages.push(e.path());
            }
        }
    }
    pages.sort();
    pages
}

/// The links `[text](target)` of a Markdown text, outside code.
fn links(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        // Drop inline code spans.
        let mut plain = String::new();
        for (i, part) in line.split('`').enumerate() {
            if i % 2 == 0 {
                plain.push_str(part);
            }
        }
        let mut rest = plain.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            out.push(after[..end].to_string());
            rest = &after[end..];
        }
    }
    out
}

/// The anchors of a Markdown file's headings.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced || !line.starts_with('#') {
            continue;
        }
        let heading = line.trim_start_matches('#').trim().replace('`', "");
        let base = slug(&heading);
        let n = seen.entry(base.clone()).or_insert(0);
        out.insert(if *n == 0 {
            base.clone()
        } else {
            format!("{base}-{n}")
        });
        *n += 1;
    }
    out
}

fn is_external(target: &str) -> bool {
    target.starts_with("http://") || target.starts_with("https://") || target.starts_with("mailto:")
}

#[test]
fn every_relative_link_resolves() {
    let mut broken = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).expect("read page");
        for target in links(&text) {
            if is_external(&target) {
                continue;
            }
            let (file, anchor) = match target.split_once('#') {
                Some((f, a)) => (f, Some(a)),
                None => (target.as_str(), None),
            };
            let dest = if file.is_empty() {
                page.clone()
            } else {
                page.parent().unwrap_or(Path::new(".")).join(file)
            };
            if !dest.exists() {
                broken.push(format!("{}: {target}: no such file", page.display()));
                continue;
            }
            if let Some(anchor) = anchor {
                let dest_text = std::fs::read_to_string(&dest).unwrap_or_default();
                if !anchors(&dest_text).contains(anchor) {
                    broken.push(format!("{}: {target}: no such heading", page.display()));
                }
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn every_doc_page_is_reachable_from_the_readme() {
    let mut seen: BTreeSet<PathBuf> = BTreeSet::new();
    let mut todo = vec![root().join("README.md")];
    while let Some(page) = todo.pop() {
        let Ok(canonical) = page.canonicalize() else {
            continue;
        };
        if !seen.insert(canonical.clone()) {
            continue;
        }
        let text = std::fs::read_to_string(&canonical).unwrap_or_default();
        for target in links(&text) {
            let file = target.split('#').next().unwrap_or_default();
            if is_external(&target) || !file.ends_with(".md") {
                continue;
            }
            todo.push(canonical.parent().unwrap_or(Path::new(".")).join(file));
        }
    }
    let docs = std::fs::read_dir(root().join("docs")).expect("docs/");
    for e in docs.flatten() {
        let p = e.path().canonicalize().expect("canonical");
        assert!(
            seen.contains(&p),
            "{} is not reachable from README.md",
            p.display()
        );
    }
}

#[test]
fn the_readme_is_a_map() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README");
    let lines = readme.lines().count();
    assert!(
        lines <= 250,
        "README.md has {lines} lines; move detail into docs/"
    );
}

#[test]
fn architecture_names_every_module_and_only_real_paths() {
    let text =
        std::fs::read_to_string(root().join("docs/ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let src = root().join("src");
    for e in std::fs::read_dir(&src).expect("src").flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        if name.ends_with("_tests.rs") || name == "lib.rs" || name == "main.rs" {
            continue;
        }
        let shown = if e.path().is_dir() {
            format!("src/{name}/")
        } else {
            format!("src/{name}")
        };
        assert!(
            text.contains(&shown),
            "ARCHITECTURE.md does not describe {shown}"
        );
    }
    // Every `src/…` path it names exists.
    let mut missing = Vec::new();
    for (i, _) in text.match_indices("src/") {
        if i > 0 && !text[..i].ends_with(['`', ' ', '(', '\n']) {
            continue;
        }
        let path: String = text[i..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '.' | '-'))
            .collect();
        let path = path.trim_end_matches('.');
        if !root().join(path).exists() {
            missing.push(path.to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md names paths that do not exist: {missing:?}"
    );
}
