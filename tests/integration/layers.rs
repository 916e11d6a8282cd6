//! The layer rule (docs/architecture.md): the top-level modules of each crate form no import
//! cycle. A module names what lies below it through `crate::<module>` paths (or names the
//! crate root re-exports), and nothing below names it back.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module -> the modules it names, each with a file that does.
type Graph = BTreeMap<String, BTreeMap<String, PathBuf>>;

#[test]
fn the_actor_crate_has_no_import_cycle_between_top_level_modules() {
    assert_no_cycle(&crate_dir("actors/src"));
}

#[test]
fn the_slides_crate_has_no_import_cycle_between_top_level_modules() {
    assert_no_cycle(&crate_dir("actors/slides/src"));
}

#[test]
fn the_server_crate_has_no_import_cycle_between_top_level_modules() {
    assert_no_cycle(&crate_dir("src"));
}

#[test]
fn a_cycle_is_found_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::write(
        src.join("lib.rs"),
        "pub mod a;\npub mod b;\npub mod c;\npub use c::Thing;\n",
    )
    .unwrap();
    std::fs::write(src.join("a.rs"), "use crate::{b::X, c};\n").unwrap();
    std::fs::create_dir(src.join("b")).unwrap();
    std::fs::write(src.join("b.rs"), "mod inner;\n").unwrap();
    std::fs::write(
        src.join("b/inner.rs"),
        "fn f() -> crate::Thing { todo!() }\n",
    )
    .unwrap();
    std::fs::write(
        src.join("c.rs"),
        "pub struct Thing;\n#[cfg(test)]\nmod tests {\n    use crate::a;\n}\n",
    )
    .unwrap();
    let layers = graph(src);
    assert_eq!(layers["a"].keys().collect::<Vec<_>>(), ["b", "c"]);
    assert_eq!(layers["b"].keys().collect::<Vec<_>>(), ["c"]);
    assert!(
        !layers.contains_key("c"),
        "test modules are not counted: {layers:?}"
    );
    assert_eq!(cycles(&layers), Vec::<Vec<String>>::new());

    std::fs::write(src.join("c.rs"), "pub struct Thing;\nuse crate::a::Y;\n").unwrap();
    let layers = graph(src);
    assert_eq!(
        cycles(&layers),
        [vec!["a".to_string(), "b".into(), "c".into()]]
    );
}

fn crate_dir(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn assert_no_cycle(src: &Path) {
    let layers = graph(src);
    assert!(layers.len() > 1, "no modules found under {}", src.display());
    let found = cycles(&layers);
    if found.is_empty() {
        return;
    }
    let mut report = String::new();
    for cycle in &found {
        report.push_str(&format!("cycle among {}:\n", cycle.join(", ")));
        for from in cycle {
            for (to, file) in &layers[from] {
                if cycle.contains(to) {
                    report.push_str(&format!("  {from} -> {to} ({})\n", file.display()));
                }
            }
        }
    }
    panic!("{report}");
}

/// The modules declared at the crate root, and what each of them names.
fn graph(src: &Path) -> Graph {
    let root = ["lib.rs", "main.rs"]
        .iter()
        .map(|name| src.join(name))
        .find(|path| path.exists())
        .expect("a crate root");
    let root_text = std::fs::read_to_string(&root).unwrap();
    let modules: BTreeSet<String> = std::fs::read_dir(src)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter_map(|path| {
            let name = path.file_stem()?.to_str()?.to_string();
            let is_module = path.is_dir() || path.extension().is_some_and(|e| e == "rs");
            (is_module && path != root && name != "main").then_some(name)
        })
        .collect();
    let exported = root_exports(&root_text, &modules);
    let mut graph = Graph::new();
    for module in &modules {
        let mut files = Vec::new();
        let file = src.join(format!("{module}.rs"));
        if file.exists() {
            files.push(file);
        }
        collect_rs(&src.join(module), &mut files);
        for file in files {
            let text = without_tests(&std::fs::read_to_string(&file).unwrap());
            for name in named_after_crate(&text) {
                let target = if modules.contains(&name) {
                    Some(name)
                } else {
                    exported.get(&name).cloned()
                };
                if let Some(target) = target.filter(|t| t != module) {
                    graph
                        .entry(module.clone())
                        .or_default()
                        .entry(target)
                        .or_insert_with(|| file.strip_prefix(src).unwrap().to_path_buf());
                }
            }
        }
    }
    graph
}

fn collect_rs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_rs(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") && !is_test_file(&path) {
            out.push(path);
        }
    }
}

fn is_test_file(path: &Path) -> bool {
    path.file_stem().is_some_and(|s| s == "tests")
}

/// The text before a file's `#[cfg(test)] mod tests` (test code may reach anywhere).
fn without_tests(text: &str) -> String {
    let mut kept = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        if line.trim() == "#[cfg(test)]"
            && lines
                .peek()
                .is_some_and(|next| next.trim_start().starts_with("mod tests"))
        {
            break;
        }
        kept.push_str(line);
        kept.push('\n');
    }
    kept
}

/// Names re-exported at the crate root (`pub use module::{A, B};`), to the module they come
/// from.
fn root_exports(root: &str, modules: &BTreeSet<String>) -> BTreeMap<String, String> {
    let mut exported = BTreeMap::new();
    for statement in root.split(';') {
        let Some(rest) = statement.trim().strip_prefix("pub use ") else {
            continue;
        };
        let rest = rest
            .trim_start_matches("crate::")
            .trim_start_matches("self::");
        let Some((module, items)) = rest.split_once("::") else {
            continue;
        };
        if !modules.contains(module) {
            continue;
        }
        for item in items.trim_matches(|c| c == '{' || c == '}').split(',') {
            if let Some(name) = item.rsplit("::").next().map(str::trim) {
                let name = name.rsplit(" as ").next().unwrap_or(name).trim();
                if !name.is_empty() {
                    exported.insert(name.to_string(), module.to_string());
                }
            }
        }
    }
    exported
}

/// The first name after each `crate::`, including every name of a `crate::{...}` group.
fn named_after_crate(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut start = 0;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 1 => {
                        names.extend(first_ident(&group[start..i]));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 1 => {
                        names.extend(first_ident(&group[start..i]));
                        start = i + 1;
                    }
                    _ => {}
                }
            }
        } else {
            names.extend(first_ident(rest));
        }
    }
    names
}

fn first_ident(text: &str) -> Option<String> {
    let text = text.trim_start();
    let end = text
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    (end > 0).then(|| text[..end].to_string())
}

/// Every set of modules that name each other in a circle (strongly connected components of
/// more than one module), each sorted.
fn cycles(graph: &Graph) -> Vec<Vec<String>> {
    let nodes: Vec<&String> = graph
        .keys()
        .chain(graph.values().flat_map(|targets| targets.keys()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let reaches = |from: &String| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.clone()];
        while let Some(node) = stack.pop() {
            for next in graph.get(&node).into_iter().flat_map(|t| t.keys()) {
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        seen
    };
    let reach: BTreeMap<&String, BTreeSet<String>> =
        nodes.iter().map(|node| (*node, reaches(node))).collect();
    let mut found: BTreeSet<Vec<String>> = BTreeSet::new();
    for node in &nodes {
        let component: Vec<String> = nodes
            .iter()
            .filter(|other| reach[*node].contains(**other) && reach[**other].contains(*node))
            .map(|other| other.to_string())
            .collect();
        if component.len() > 1 {
            found.insert(component);
        }
    }
    found.into_iter().collect()
}
