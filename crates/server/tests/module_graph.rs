//! The server's modules import each other without cycles: reads every file of `src/`, collects
//! its `crate::` and `super::` paths (and a parent's use of its child modules), and fails naming
//! the first circle it finds (e.g. `state -> access -> state`). Keeping the graph acyclic keeps the request flow readable top
//! to bottom.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module path (`session::cookie`) of a file under `src/`.
fn module_of(relative: &Path) -> String {
    let text = relative
        .with_extension("")
        .to_string_lossy()
        .replace('/', "::");
    match text.as_str() {
        "lib" | "main" => String::new(),
        _ => text,
    }
}

fn collect(dir: &Path, root: &Path, files: &mut BTreeMap<String, String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("src is readable")
        .map(|e| e.expect("an entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, root, files);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path.strip_prefix(root).expect("under src");
            let text = std::fs::read_to_string(&path).expect("a source file");
            files.insert(module_of(relative), text);
        }
    }
}

/// Every path written after `crate::` (with `{a, b::c}` groups expanded), as segment lists.
fn crate_paths(text: &str) -> Vec<Vec<String>> {
    let code: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().last();
        rest = &rest[at + "crate::".len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // e.g. `$crate::`
        }
        expand(&mut Vec::new(), rest, &mut found);
    }
    found
}

/// Reads one path (or group) at the start of `text` after `prefix`.
fn expand(prefix: &mut Vec<String>, text: &str, found: &mut Vec<Vec<String>>) {
    if let Some(inner) = text.strip_prefix('{') {
        let mut depth = 0;
        let mut item_start = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    expand(
                        &mut prefix.clone(),
                        inner[item_start..i].trim_start(),
                        found,
                    );
                    return;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(
                        &mut prefix.clone(),
                        inner[item_start..i].trim_start(),
                        found,
                    );
                    item_start = i + 1;
                }
                _ => {}
            }
        }
        return;
    }
    let ident: String = text
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    if ident.is_empty() {
        if !prefix.is_empty() {
            found.push(prefix.clone());
        }
        return;
    }
    prefix.push(ident.clone());
    match text[ident.len()..].strip_prefix("::") {
        Some(more) => expand(prefix, more, found),
        None => found.push(prefix.clone()),
    }
}

/// The most specific module file a path names.
fn resolve(segments: &[String], modules: &BTreeSet<String>) -> Option<String> {
    (1..=segments.len())
        .rev()
        .map(|n| segments[..n].join("::"))
        .find(|m| modules.contains(m))
}

#[test]
fn no_two_modules_of_the_server_import_each_other_in_a_circle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    collect(&root, &root, &mut files);
    let modules: BTreeSet<String> = files.keys().cloned().collect();
    assert!(
        modules.contains("state") && modules.contains("jobs"),
        "{modules:?}"
    );

    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, text) in &files {
        // An inline `#[cfg(test)] mod tests` is a child of this file: its `super::` is the file.
        let text = text.split("#[cfg(test)]").next().unwrap_or(text);
        let mut targets = BTreeSet::new();
        for path in crate_paths(text) {
            if let Some(target) = resolve(&path, &modules) {
                targets.insert(target);
            }
        }
        if text.contains("super::")
            && let Some((parent, _)) = module.rsplit_once("::")
        {
            targets.insert(parent.to_owned());
        }
        // A parent file declares and uses its children (`mod meta;`, `meta::router()`).
        for child in &modules {
            let direct = child
                .strip_prefix(module.as_str())
                .and_then(|rest| rest.strip_prefix("::"))
                .is_some_and(|rest| !rest.contains("::"));
            if direct || (module.is_empty() && !child.is_empty() && !child.contains("::")) {
                targets.insert(child.clone());
            }
        }
        targets.remove(module);
        edges.insert(module.clone(), targets);
    }

    // Depth-first search for a back edge.
    fn visit(
        node: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut circle = stack[at..].to_vec();
            circle.push(node.to_owned());
            return Some(circle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_owned());
        for next in edges.get(node).into_iter().flatten() {
            if let Some(circle) = visit(next, edges, stack, done) {
                return Some(circle);
            }
        }
        stack.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for module in edges.keys() {
        if let Some(circle) = visit(module, &edges, &mut Vec::new(), &mut done) {
            panic!(
                "modules import each other in a circle: {}",
                circle.join(" -> ")
            );
        }
    }
}

#[test]
fn the_path_reader_sees_groups_and_nested_paths() {
    let paths = crate_paths(
        "use crate::{access, session::{cookie::Signer, SessionData}, error::ApiError};\n\
         // crate::commented::out\n\
         let x = crate::jobs::interrupted();",
    );
    let joined: Vec<String> = paths.iter().map(|p| p.join("::")).collect();
    assert_eq!(
        joined,
        [
            "access",
            "session::cookie::Signer",
            "session::SessionData",
            "error::ApiError",
            "jobs::interrupted"
        ]
    );
}
