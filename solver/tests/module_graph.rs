//! The solver's modules depend on one another in one direction only, so that the crate reads as
//! layers: data (`model`, `solution`, `error`), the checker and readers, the search engine the
//! metaheuristics share (`engine`), the metaheuristics on it (`ruin_recreate`, `hgs`, `cvrp`), and the
//! driver (`search`) and replanning on top. A future `use` that closes a cycle fails here.
//!
//! The test reads `src/**/*.rs` as the crate declares them (from `lib.rs`, following `mod x;`
//! and inline `mod x { .. }`), drops comments, literals and test-only items (`#[cfg(test)]`:
//! tests may reach across layers), collects every `crate::`, `super::` and `self::` path (use
//! trees included) and every path through a child module, and builds the graph of the modules
//! they name: once between top-level modules, once between the submodules of `engine`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module -> modules it refers to.
type Graph = BTreeMap<String, BTreeSet<String>>;

/// One module: its path from the crate root and its code without comments, literals, test-only
/// items and inline child modules (those are modules of their own).
#[derive(Clone, Debug)]
struct Module {
    path: Vec<String>,
    code: String,
}

/// Replaces comments by a space and the contents of string and char literals by nothing, so
/// that only code is left to search for paths.
fn strip(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let mut i = 0;
    while i < c.len() {
        if c[i] == '/' && c.get(i + 1) == Some(&'/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if c[i] == '/' && c.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c[i] == 'r' && (i == 0 || !ident(c[i - 1]) || (c[i - 1] == 'b' && (i < 2 || !ident(c[i - 2])))) && matches!(c.get(i + 1), Some('"' | '#')) {
            // A raw string r"..", r#".."#, (b)r##".."##: ends at a quote and as many hashes.
            let mut j = i + 1;
            let mut hashes = 0;
            while c.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if c.get(j) != Some(&'"') {
                out.push(c[i]);
                i += 1;
                continue;
            }
            j += 1;
            while j < c.len() && !(c[j] == '"' && (1..=hashes).all(|h| c.get(j + h) == Some(&'#'))) {
                j += 1;
            }
            out.push_str("\"\"");
            i = j + 1 + hashes;
        } else if c[i] == '"' {
            i += 1;
            while i < c.len() && c[i] != '"' {
                i += if c[i] == '\\' { 2 } else { 1 };
            }
            out.push_str("\"\"");
            i += 1;
        } else if c[i] == '\'' && (c.get(i + 1) == Some(&'\\') || c.get(i + 2) == Some(&'\'')) {
            // A char literal ('x', '\n', '\u{..}'); a lifetime ('a) has no closing quote.
            i += 2;
            while i < c.len() && c[i] != '\'' {
                i += 1;
            }
            out.push_str("' '");
            i += 1;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

/// The index just past the bracket that closes the one at `open`.
fn closing(c: &[char], open: usize) -> usize {
    let (o, cl) = match c[open] {
        '(' => ('(', ')'),
        '[' => ('[', ']'),
        _ => ('{', '}'),
    };
    let mut depth = 0;
    for (k, &ch) in c.iter().enumerate().skip(open) {
        if ch == o {
            depth += 1;
        } else if ch == cl {
            depth -= 1;
            if depth == 0 {
                return k + 1;
            }
        }
    }
    c.len()
}

/// Whether a `cfg` predicate only holds in test builds (`test`, `all(test, ..)`).
fn test_only(predicate: &str) -> bool {
    let words: Vec<&str> = predicate.split(|ch: char| !(ch.is_alphanumeric() || ch == '_')).collect();
    words.contains(&"test") && !predicate.replace(' ', "").contains("not(test")
}

/// Blanks out every item under a test-only `#[cfg(..)]` (the attribute, the attributes that
/// follow it and the item up to its `;` or closing brace). Returns "" for a test-only file.
fn drop_test_items(code: &str) -> String {
    let mut c: Vec<char> = code.chars().collect();
    let text: String = c.iter().collect();
    if let Some(at) = text.find("#![cfg(") {
        let open = text[..at].chars().count() + 6;
        let end = closing(&c, open);
        if test_only(&c[open..end].iter().collect::<String>()) {
            return String::new();
        }
    }
    let mut i = 0;
    while i + 6 < c.len() {
        if c[i..i + 6].iter().collect::<String>() != "#[cfg(" {
            i += 1;
            continue;
        }
        let end = closing(&c, i + 5);
        if !test_only(&c[i + 5..end].iter().collect::<String>()) {
            i = end;
            continue;
        }
        // Past the attribute's `]`, further attributes, then the item.
        let mut j = closing(&c, i + 1);
        loop {
            while j < c.len() && c[j].is_whitespace() {
                j += 1;
            }
            if c.get(j) == Some(&'#') && c.get(j + 1) == Some(&'[') {
                j = closing(&c, j + 1);
            } else {
                break;
            }
        }
        while j < c.len() && c[j] != ';' && c[j] != '{' {
            j = if c[j] == '(' || c[j] == '[' { closing(&c, j) } else { j + 1 };
        }
        let end = if c.get(j) == Some(&'{') { closing(&c, j) } else { j + 1 }.min(c.len());
        for ch in &mut c[i..end] {
            if *ch != '\n' {
                *ch = ' ';
            }
        }
        i = end;
    }
    c.into_iter().collect()
}

/// Splits inline modules (`mod x { .. }`) out of `code` (a module at `path`), recursively.
fn split_inline(path: Vec<String>, code: &str, out: &mut Vec<Module>) {
    let mut c: Vec<char> = code.chars().collect();
    let toks = tokens_at(&c);
    for k in 0..toks.len() {
        if toks[k].1 != "mod" || k + 2 >= toks.len() || toks[k + 2].1 != "{" {
            continue;
        }
        let open = toks[k + 2].0;
        if c[open] != '{' {
            continue; // blanked by an enclosing inline module already
        }
        let end = closing(&c, open);
        let mut child = path.clone();
        child.push(toks[k + 1].1.clone());
        split_inline(child, &c[open + 1..end - 1].iter().collect::<String>(), out);
        for ch in &mut c[toks[k].0..end] {
            if *ch != '\n' {
                *ch = ' ';
            }
        }
    }
    out.push(Module { path, code: c.into_iter().collect() });
}

/// Tokens with their start index: identifiers, `::` and single punctuation characters.
fn tokens_at(c: &[char]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        if c[i].is_alphanumeric() || c[i] == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push((start, c[start..i].iter().collect()));
        } else if c[i] == ':' && c.get(i + 1) == Some(&':') {
            out.push((i, "::".to_string()));
            i += 2;
        } else if c[i].is_whitespace() {
            i += 1;
        } else {
            out.push((i, c[i].to_string()));
            i += 1;
        }
    }
    out
}

fn tokens(code: &str) -> Vec<String> {
    tokens_at(&code.chars().collect::<Vec<_>>()).into_iter().map(|(_, t)| t).collect()
}

fn is_ident(t: &str) -> bool {
    t.chars().next().is_some_and(|ch| ch.is_alphabetic() || ch == '_')
}

/// Parses the path (or use tree) starting at `t[k]` with `prefix` before it; pushes every full
/// path it names to `out` and returns the index past it.
fn parse_tree(t: &[String], mut k: usize, mut prefix: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
    loop {
        match t.get(k).map(String::as_str) {
            Some("{") => {
                k += 1;
                while k < t.len() && t[k] != "}" {
                    if t[k] == "," {
                        k += 1;
                        continue;
                    }
                    let next = parse_tree(t, k, prefix.clone(), out);
                    k = if next == k { k + 1 } else { next };
                    // `x as y`
                    if t.get(k).map(String::as_str) == Some("as") {
                        k += 2;
                    }
                }
                return k + 1;
            }
            Some(s) if is_ident(s) => {
                if s != "self" || prefix.is_empty() {
                    prefix.push(s.to_string());
                }
                k += 1;
                if t.get(k).map(String::as_str) == Some("::") && t.get(k + 1).is_some_and(|n| n == "{" || is_ident(n)) {
                    k += 1;
                    continue;
                }
                out.push(prefix);
                return k;
            }
            _ => {
                // `*`, or a path ending in `::<..>`.
                if !prefix.is_empty() {
                    out.push(prefix);
                }
                return k + usize::from(t.get(k).is_some_and(|s| s == "*"));
            }
        }
    }
}

/// Every path in `code` that starts with `crate`, `super`, `self` or one of `children`, as
/// written (segments).
fn raw_paths(code: &str, children: &BTreeSet<String>) -> Vec<Vec<String>> {
    let t = tokens(code);
    let mut out = Vec::new();
    let mut k = 0;
    while k < t.len() {
        let starts = (k == 0 || (t[k - 1] != "::" && t[k - 1] != "." && t[k - 1] != "$"))
            && t.get(k + 1).is_some_and(|n| n == "::")
            && (matches!(t[k].as_str(), "crate" | "super" | "self") || children.contains(&t[k]));
        if starts {
            k = parse_tree(&t, k, Vec::new(), &mut out).max(k + 1);
        } else {
            k += 1;
        }
    }
    out
}

/// The absolute path that `raw`, written in module `at`, names.
fn absolute(at: &[String], raw: &[String]) -> Vec<String> {
    let mut base: Vec<String> = Vec::new();
    let mut rest = raw;
    match raw[0].as_str() {
        "crate" => rest = &raw[1..],
        "super" => {
            base = at.to_vec();
            while rest.first().is_some_and(|s| s == "super") {
                base.pop();
                rest = &rest[1..];
            }
        }
        "self" => {
            base = at.to_vec();
            rest = &raw[1..];
        }
        _ => base = at.to_vec(),
    }
    base.extend(rest.iter().filter(|s| *s != "self").cloned());
    base
}

/// The module (the longest known prefix of `path`) that `path` lies in, with the crate root's
/// re-exports (`crate::Problem`) followed.
fn module_of(path: &[String], modules: &BTreeSet<Vec<String>>, root_exports: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let path: Vec<String> = match path.first().and_then(|f| root_exports.get(f)) {
        Some(target) if !modules.contains(&path[..1].to_vec()) => target.iter().chain(&path[1..]).cloned().collect(),
        _ => path.to_vec(),
    };
    (0..=path.len()).rev().map(|n| path[..n].to_vec()).find(|p| modules.contains(p)).unwrap_or_default()
}

/// The modules of the crate whose root is `src/lib.rs`, following `mod x;` declarations that are
/// not test-only.
fn load_crate(src: &Path) -> Vec<Module> {
    let mut out = Vec::new();
    let mut todo: Vec<(PathBuf, Vec<String>)> = vec![(src.join("lib.rs"), Vec::new())];
    while let Some((file, path)) = todo.pop() {
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let code = drop_test_items(&strip(&text));
        // Children of lib.rs and mod.rs are beside them; those of a/b.rs are in a/b/.
        let owner = matches!(file.file_name().and_then(|n| n.to_str()), Some("lib.rs" | "mod.rs"));
        let dir = if owner { file.parent().unwrap().to_path_buf() } else { file.with_extension("") };
        let t = tokens(&code);
        for k in 0..t.len().saturating_sub(2) {
            if t[k] == "mod" && is_ident(&t[k + 1]) && t[k + 2] == ";" {
                let name = &t[k + 1];
                let flat = dir.join(format!("{name}.rs"));
                let child = if flat.is_file() { flat } else { dir.join(name).join("mod.rs") };
                let mut child_path = path.clone();
                child_path.push(name.clone());
                todo.push((child, child_path));
            }
        }
        split_inline(path, &code, &mut out);
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// The graph between the nodes that `node` gives modules (`None`: not a node), from every
/// module's references.
fn graph(modules: &[Module], node: impl Fn(&[String]) -> Option<String>) -> Graph {
    let known: BTreeSet<Vec<String>> = modules.iter().map(|m| m.path.clone()).collect();
    let none = BTreeSet::new();
    // What the crate root re-exports: `pub use model::Problem` makes `crate::Problem` model's.
    let mut root_exports = BTreeMap::new();
    for m in modules.iter().filter(|m| m.path.is_empty()) {
        for raw in raw_paths(&m.code.replace("pub use ", "pub use crate::"), &none) {
            if let Some(last) = raw.last() {
                root_exports.insert(last.clone(), absolute(&[], &raw));
            }
        }
    }
    let mut g = Graph::new();
    for m in modules {
        let Some(from) = node(&m.path) else { continue };
        g.entry(from.clone()).or_default();
        let children: BTreeSet<String> =
            known.iter().filter(|p| p.len() == m.path.len() + 1 && p.starts_with(&m.path)).map(|p| p[m.path.len()].clone()).collect();
        for raw in raw_paths(&m.code, &children) {
            let target = module_of(&absolute(&m.path, &raw), &known, &root_exports);
            if let Some(to) = node(&target).filter(|to| *to != from) {
                g.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    g
}

/// A cycle of `g` (its nodes in order, the first repeated at the end), if it has one.
fn find_cycle(g: &Graph) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit<'a>(n: &'a str, g: &'a Graph, marks: &mut BTreeMap<&'a str, Mark>, stack: &mut Vec<&'a str>) -> Option<Vec<String>> {
        marks.insert(n, Mark::Open);
        stack.push(n);
        for m in g.get(n).into_iter().flatten() {
            match marks.get(m.as_str()) {
                Some(Mark::Open) => {
                    let at = stack.iter().position(|s| s == m).expect("an open node is on the stack");
                    return Some(stack[at..].iter().map(|s| s.to_string()).chain([m.clone()]).collect());
                }
                Some(Mark::Done) => {}
                None => {
                    if let Some(cycle) = visit(m, g, marks, stack) {
                        return Some(cycle);
                    }
                }
            }
        }
        stack.pop();
        marks.insert(n, Mark::Done);
        None
    }
    let mut marks = BTreeMap::new();
    for n in g.keys() {
        if !marks.contains_key(n.as_str()) {
            if let Some(cycle) = visit(n, g, &mut marks, &mut Vec::new()) {
                return Some(cycle);
            }
        }
    }
    None
}

fn crate_modules() -> Vec<Module> {
    load_crate(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
}

fn top_level(path: &[String]) -> Option<String> {
    path.first().cloned()
}

fn engine_submodule(path: &[String]) -> Option<String> {
    (path.len() >= 2 && path[0] == "engine").then(|| path[..2].join("::"))
}

fn show(g: &Graph) -> String {
    g.iter().map(|(from, to)| format!("{from} -> {}", to.iter().cloned().collect::<Vec<_>>().join(", "))).collect::<Vec<_>>().join("\n")
}

#[test]
fn the_top_level_modules_form_no_cycle() {
    let modules = crate_modules();
    let g = graph(&modules, top_level);
    println!("{}", show(&g));
    // The reader found the crate: every room, and their known edges.
    for room in ["check", "cvrp", "engine", "error", "hgs", "io", "model", "partition", "repair", "replan", "ruin_recreate", "search", "solution"] {
        assert!(g.contains_key(room), "module {room} not found:\n{}", show(&g));
    }
    assert!(
        g["search"].contains("hgs") && g["search"].contains("ruin_recreate") && g["search"].contains("cvrp") && g["hgs"].contains("engine"),
        "{}",
        show(&g)
    );
    assert_eq!(find_cycle(&g), None, "the modules depend on each other in a cycle:\n{}", show(&g));
}

#[test]
fn the_engine_submodules_form_no_cycle() {
    let g = graph(&crate_modules(), engine_submodule);
    println!("{}", show(&g));
    assert!(g.get("engine::local_search").is_some_and(|to| to.contains("engine::state")), "{}", show(&g));
    assert_eq!(find_cycle(&g), None, "the engine's modules depend on each other in a cycle:\n{}", show(&g));
}

#[test]
fn the_engine_depends_on_neither_metaheuristic_nor_the_driver() {
    let g = graph(&crate_modules(), top_level);
    let allowed: BTreeSet<String> = ["model", "solution", "error"].map(String::from).into();
    let engine = &g["engine"];
    assert!(engine.is_subset(&allowed), "engine -> {engine:?}: the shared machinery may use only {allowed:?}");
    let heuristics = ["ruin_recreate", "hgs", "cvrp"];
    for heuristic in heuristics {
        for forbidden in heuristics.into_iter().filter(|&h| h != heuristic).chain(["search", "partition", "replan"]) {
            assert!(!g[heuristic].contains(forbidden), "{heuristic} -> {forbidden}: a metaheuristic builds on the engine only");
        }
    }
}

// The reader and the cycle finder on made-up input.

fn module(path: &str, code: &str) -> Module {
    let path = if path.is_empty() { Vec::new() } else { path.split("::").map(String::from).collect() };
    Module { path, code: drop_test_items(&strip(code)) }
}

#[test]
fn the_cycle_finder_finds_a_cycle_and_only_a_cycle() {
    let g = |edges: &[(&str, &str)]| {
        let mut g = Graph::new();
        for (a, b) in edges {
            g.entry(a.to_string()).or_default().insert(b.to_string());
            g.entry(b.to_string()).or_default();
        }
        g
    };
    assert_eq!(find_cycle(&g(&[("a", "b"), ("b", "c"), ("a", "c"), ("d", "a")])), None);
    let cycle = find_cycle(&g(&[("a", "b"), ("b", "c"), ("c", "d"), ("d", "b"), ("e", "a")])).expect("b -> c -> d -> b");
    assert_eq!(cycle, ["b", "c", "d", "b"]);
    assert_eq!(find_cycle(&g(&[("a", "a")])), Some(vec!["a".to_string(), "a".to_string()]));
}

#[test]
fn a_cyclic_crate_fails_the_check() {
    // search uses hgs, and hgs uses search's submodule: the cycle this test exists to catch.
    let modules = vec![
        module("", "pub mod hgs; pub mod search; pub mod model; pub use model::Problem;"),
        module("model", "pub struct Problem;"),
        module("search", "mod parallel; use crate::Problem;"),
        module("search::parallel", "fn run() { crate::hgs::run() }"),
        module("search::state", "pub struct State;"),
        module("hgs", "use crate::search::{state::State, parallel as p};\nfn run() {}"),
    ];
    let g = graph(&modules, top_level);
    assert_eq!(g["search"], ["hgs", "model"].map(String::from).into());
    assert_eq!(find_cycle(&g), Some(["hgs", "search", "hgs"].map(String::from).to_vec()));
    // Without hgs's use, no cycle.
    let mut fixed = modules.clone();
    fixed[5] = module("hgs", "fn run() {}");
    assert_eq!(find_cycle(&graph(&fixed, top_level)), None);
}

#[test]
fn the_reader_sees_code_paths_only() {
    let code = r##"
        //! Docs mention crate::hgs and super::c.
        use super::{a::{self, X}, b as bee};
        use self::child::Y;
        /* crate::commented /* nested crate::too */ */
        const S: &str = "crate::in_a_string";
        const R: &str = r#"super::raw "string""#;
        fn f<'a>(x: &'a str) -> char { let _ = crate::d::e::f(x); child::g(); ' ' }
        #[cfg(test)]
        mod tests { use crate::test_only; }
        #[cfg(test)]
        use crate::test_only_too;
        #[cfg(not(test))]
        use crate::kept;
    "##;
    let m = module("p::q", code);
    let children: BTreeSet<String> = ["child".to_string()].into();
    let mut found: Vec<Vec<String>> = raw_paths(&m.code, &children).iter().map(|raw| absolute(&m.path, raw)).collect();
    found.sort();
    let expect: Vec<Vec<String>> =
        [&["d", "e", "f"][..], &["kept"], &["p", "a"], &["p", "a", "X"], &["p", "b"], &["p", "q", "child", "Y"], &["p", "q", "child", "g"]]
            .iter()
            .map(|p| p.iter().map(|s| s.to_string()).collect())
            .collect();
    assert_eq!(found, expect);
}
