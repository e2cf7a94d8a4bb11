//! Issue 14, "Layering": the modules of `vocab-api/src` import each other in one direction
//! only, and the router-building module (`app`) is the root that nothing imports.
//!
//! The check reads the sources: every `crate::<module>` path (in `use` lines or inline, also
//! inside `use crate::{a, b}` groups) outside comments is an edge from the file's top-level
//! module to `<module>`; `super::` inside `routes/` stays inside `routes`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a source file belongs to (`routes/words.rs` → `routes`); `None`
/// for the crate root and the binaries (they sit above the library).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?.to_owned();
    match first.as_str() {
        "lib.rs" | "main.rs" | "bin" => None,
        f => Some(f.trim_end_matches(".rs").to_owned()),
    }
}

fn ident(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The modules a source text names through `crate::`.
fn imports(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in text.lines() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        let code = code.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            if let Some(group) = after.strip_prefix('{') {
                // `crate::{a, b::c}`: the first segment of each top-level item.
                let mut depth = 0;
                let mut item_start = true;
                for (j, ch) in group.char_indices() {
                    match ch {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => item_start = true,
                        c if item_start && (c.is_alphanumeric() || c == '_') => {
                            found.insert(ident(&group[j..]).to_owned());
                            item_start = false;
                        }
                        _ => {}
                    }
                }
            } else {
                let name = ident(after);
                if !name.is_empty() {
                    found.insert(name.to_owned());
                }
            }
            rest = after;
        }
    }
    found
}

fn graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph = Graph::new();
    for file in files {
        let Some(module) = module_of(&src, &file) else {
            continue;
        };
        let text = std::fs::read_to_string(&file).expect("read source");
        let entry = graph.entry(module.clone()).or_default();
        for m in imports(&text) {
            if m != module {
                entry.insert(m);
            }
        }
    }
    graph
}

/// A cycle, if there is one (as the path of modules around it).
fn find_cycle(graph: &Graph) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &Graph,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(node.to_owned(), 1);
        stack.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            match state.get(next.as_str()).copied().unwrap_or(0) {
                1 => {
                    let from = stack.iter().position(|n| n == next).unwrap_or(0);
                    let mut cycle = stack[from..].to_vec();
                    cycle.push(next.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(next, graph, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(node.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for node in graph.keys() {
        if state.get(node.as_str()).copied().unwrap_or(0) == 0 {
            let mut stack = Vec::new();
            if let Some(c) = visit(node, graph, &mut state, &mut stack) {
                return Some(c);
            }
        }
    }
    None
}

#[test]
fn the_checker_sees_use_groups_inline_paths_and_cycles() {
    let text = "use crate::{error::ApiError, store::{Store, StoreError}};\n\
                // use crate::commented;\n\
                fn f() { crate::model::now(); } // crate::trailing\n";
    let found: Vec<String> = imports(text).into_iter().collect();
    assert_eq!(found, ["error", "model", "store"]);
    let mut g = Graph::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("c".into());
    assert_eq!(find_cycle(&g), None);
    g.entry("c".into()).or_default().insert("a".into());
    assert!(find_cycle(&g).is_some());
}

#[test]
fn issue_14_src_modules_import_each_other_in_no_cycle() {
    let graph = graph();
    assert!(graph.len() > 10, "read the crate's modules: {graph:?}");
    if let Some(cycle) = find_cycle(&graph) {
        panic!("import cycle: {}\n{graph:#?}", cycle.join(" → "));
    }
}

#[test]
fn issue_14_the_router_module_is_the_root_and_state_and_log_context_are_leaves() {
    let graph = graph();
    let importers: Vec<&String> = graph
        .iter()
        .filter(|(_, deps)| deps.contains("app"))
        .map(|(m, _)| m)
        .collect();
    assert!(importers.is_empty(), "app is imported by {importers:?}");
    // State and the log context sit below authentication, the request log and the routes.
    let above = [
        "app",
        "auth",
        "request_log",
        "routes",
        "lambda",
        "telemetry",
    ];
    for low in ["state", "log_ctx"] {
        let deps = graph.get(low).expect(low);
        let bad: Vec<&String> = deps
            .iter()
            .filter(|d| above.contains(&d.as_str()))
            .collect();
        assert!(bad.is_empty(), "{low} imports {bad:?}");
    }
    // Routes depend downward only: never on the request log's middleware or the router.
    let routes = graph.get("routes").expect("routes");
    assert!(
        !routes.contains("request_log") && !routes.contains("app"),
        "{routes:?}"
    );
}
