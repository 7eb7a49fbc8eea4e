//! The floors of `src/` (STYLE.md, issue #19): every file sits on the floor of its top
//! module, imports only go down or stay on their floor, and no files import each other in
//! a circle. Read from the source as the compiler reads it: `use` trees and the `crate::`,
//! `super::` and `self::` paths in the code, each re-export followed to the file that
//! defines the item, so a re-export cannot hide an import.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The floors, top to bottom: a module may import its own floor and those below. The one
/// place this table is written; STYLE.md shows it with what each floor holds.
const FLOORS: &[(u8, &[&str])] = &[
    (9, &["cli", "app"]),
    (8, &["experiments"]),
    (7, &["train"]),
    (6, &["stream", "eval"]),
    (5, &["classify"]),
    (4, &["model"]),
    (3, &["features"]),
    (2, &["sequence", "stamp", "sim", "labels"]),
    (
        1,
        &["alert", "assets", "time", "backend", "atomic", "errors"],
    ),
];

/// Circles of files inside one module that are known, each with the reason it stays. Keep
/// it short: in a circle no file can change without the others. An entry whose circle is
/// gone fails the test, so that the list stays true.
const ALLOWED_CIRCLES: &[(&[&str], &str)] = &[];

/// Most lines a file of `src/` may have.
const MAX_FILE_LINES: usize = 800;

/// Most lines a function may have, from its `fn` line to its closing brace, outside
/// `#[cfg(test)]` code. A longer one is split into named steps.
const MAX_FN_LINES: usize = 150;

/// Files and functions (`app/mod.rs::run_command`) over those lengths
/// that are known, each with the reason it stays. Keep it short. An entry that is no longer
/// too long fails the test, so that the list stays true.
const ALLOWED_LONG: &[(&str, &str)] = &[];

#[test]
fn imports_only_go_down_the_floors() {
    let graph = Graph::of_src();
    let mut upward = Vec::new();
    for (from, tos) in &graph.edges {
        for to in tos {
            let (a, b) = (graph.floor(*from), graph.floor(*to));
            if b > a {
                upward.push(format!(
                    "src/{} (floor {a}) imports src/{} (floor {b})",
                    graph.files[*from].rel, graph.files[*to].rel
                ));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports going up the floors (move the helper down to the lowest floor that uses \
         it, or the user up):\n  {}",
        upward.join("\n  ")
    );
}

#[test]
fn every_module_has_a_floor() {
    let graph = Graph::of_src();
    let unplaced: BTreeSet<&str> = graph
        .files
        .iter()
        .map(|f| f.module[0].as_str())
        .filter(|m| floor_of(m).is_none())
        .collect();
    assert!(
        unplaced.is_empty(),
        "modules on no floor (add them to FLOORS in tests/integration/architecture.rs and \
         to STYLE.md): {unplaced:?}"
    );
}

#[test]
fn no_circle_of_files_across_modules() {
    let graph = Graph::of_src();
    let circles: Vec<String> = graph
        .circles(false)
        .into_iter()
        .filter(|c| {
            let modules: BTreeSet<&str> = c
                .iter()
                .map(|&f| graph.files[f].module[0].as_str())
                .collect();
            modules.len() > 1
        })
        .map(|c| graph.describe(&c))
        .collect();
    assert!(
        circles.is_empty(),
        "files of different modules importing each other in a circle:\n{}",
        circles.join("\n")
    );
}

/// Inside a module too: a module file may use the submodules it declares (it is their
/// front: it re-exports or drives them), but no other files may import each other round.
#[test]
fn no_circle_of_files_inside_a_module() {
    let graph = Graph::of_src();
    let found: Vec<BTreeSet<String>> = graph
        .circles(true)
        .into_iter()
        .map(|c| c.iter().map(|&f| graph.files[f].rel.clone()).collect())
        .collect();
    let allowed: Vec<BTreeSet<String>> = ALLOWED_CIRCLES
        .iter()
        .map(|(files, _)| files.iter().map(|f| f.to_string()).collect())
        .collect();
    let new: Vec<String> = graph
        .circles(true)
        .into_iter()
        .filter(|c| {
            let names: BTreeSet<String> = c.iter().map(|&f| graph.files[f].rel.clone()).collect();
            !allowed.contains(&names)
        })
        .map(|c| graph.describe(&c))
        .collect();
    assert!(
        new.is_empty(),
        "files importing each other in a circle (move what both need into a file of its \
         own, below both):\n{}",
        new.join("\n")
    );
    let stale: Vec<&BTreeSet<String>> = allowed.iter().filter(|a| !found.contains(a)).collect();
    assert!(
        stale.is_empty(),
        "ALLOWED_CIRCLES lists circles that are gone; remove them: {stale:?}"
    );
}

#[test]
fn no_file_or_function_is_too_long() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    collect_rs(&src, &mut paths);
    let mut long = BTreeMap::new();
    for path in paths {
        let rel = path
            .strip_prefix(&src)
            .expect("under src")
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(&path).expect("readable source");
        let lines = text.lines().count();
        if lines > MAX_FILE_LINES {
            long.insert(
                rel.clone(),
                format!("{lines} lines (most: {MAX_FILE_LINES})"),
            );
        }
        for (name, lines) in function_lengths(&strip(&text)) {
            if lines > MAX_FN_LINES {
                long.insert(
                    format!("{rel}::{name}"),
                    format!("{lines} lines (most: {MAX_FN_LINES})"),
                );
            }
        }
    }
    let allowed: BTreeSet<&str> = ALLOWED_LONG.iter().map(|(item, _)| *item).collect();
    let new: Vec<String> = long
        .iter()
        .filter(|(item, _)| !allowed.contains(item.as_str()))
        .map(|(item, why)| format!("src/{item}: {why}"))
        .collect();
    assert!(
        new.is_empty(),
        "too long (split the file into modules of one job each, the function into named \
         steps):\n  {}",
        new.join("\n  ")
    );
    let stale: Vec<&&str> = allowed
        .iter()
        .filter(|item| !long.contains_key(**item))
        .collect();
    assert!(
        stale.is_empty(),
        "ALLOWED_LONG lists items that are no longer too long (or gone); remove them: {stale:?}"
    );
}

/// The length reader, on a snippet with a trait method without a body, an array type in a
/// signature, a nested function and test code.
#[test]
fn the_length_reader_counts_functions_outside_test_code() {
    let text = strip(
        "trait T { fn declared(&self) -> [u8; 2]; }\n\
         fn outer(x: [u8; 4]) {\n\
             fn inner() { let s = \"}\n}\"; }\n\
             /* { */\n\
         }\n\
         #[cfg(test)]\n\
         fn only_in_tests() {\n\
         }\n\
         #[cfg(test)]\n\
         mod tests {\n\
             fn helper() {\n\
             }\n\
         }\n\
         impl S { pub fn method(&self) { } }\n",
    );
    assert_eq!(
        function_lengths(&text),
        vec![("outer".to_string(), 5), ("method".to_string(), 1)]
    );
}

/// Each function outside test code with its length in lines, from its `fn` line to its
/// closing brace; a function inside another counts as part of it.
fn function_lengths(text: &str) -> Vec<(String, usize)> {
    enum Kind {
        Fn(String),
        Test,
        Other,
    }
    let mut out = Vec::new();
    // Open braces: what each opened, its line, the depth inside it.
    let mut open: Vec<(Kind, usize, usize)> = Vec::new();
    let mut pending: Option<(Kind, usize)> = None;
    let (mut depth, mut brackets, mut line) = (0usize, 0usize, 1usize);
    let mut test_attribute = false;
    let mut words: Vec<&str> = Vec::new();
    let mut rest = text;
    while let Some(ch) = rest.chars().next() {
        if ch.is_alphabetic() || ch == '_' {
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            let word = &rest[..end];
            if words.last() == Some(&"fn") && pending.is_none() {
                let kind = if test_attribute {
                    Kind::Test
                } else {
                    Kind::Fn(word.to_string())
                };
                pending = Some((kind, line));
            } else if words.last() == Some(&"mod") && pending.is_none() {
                pending = Some((
                    if test_attribute {
                        Kind::Test
                    } else {
                        Kind::Other
                    },
                    line,
                ));
            }
            if words.ends_with(&["cfg", "("]) && word == "test" {
                test_attribute = true;
            }
            words.push(word);
            rest = &rest[end..];
            continue;
        }
        // Punctuation counts as a word too, so that `fn(` (a type) names no function.
        if !ch.is_whitespace() {
            words.push(&rest[..ch.len_utf8()]);
        }
        match ch {
            '\n' => line += 1,
            '(' | '[' => brackets += 1,
            ')' | ']' => brackets = brackets.saturating_sub(1),
            ';' if brackets == 0 => {
                pending = None;
                test_attribute = false;
            }
            '{' => {
                depth += 1;
                let (kind, start) = pending.take().unwrap_or((Kind::Other, line));
                open.push((kind, start, depth));
                test_attribute = false;
            }
            '}' => {
                if let Some((kind, start, _)) = open.pop() {
                    let in_test = open.iter().any(|(k, _, _)| matches!(k, Kind::Test));
                    let in_fn = open.iter().any(|(k, _, _)| matches!(k, Kind::Fn(_)));
                    if let (Kind::Fn(name), false, false) = (kind, in_test, in_fn) {
                        out.push((name, line - start + 1));
                    }
                }
                depth = depth.saturating_sub(1);
                test_attribute = false;
            }
            _ => {}
        }
        rest = &rest[ch.len_utf8()..];
    }
    out
}

/// The reader itself, on a snippet with each form of path it must see.
#[test]
fn the_import_reader_sees_use_trees_inline_paths_and_inline_modules() {
    let text = strip(
        "//! crate::in_a_comment::X\n\
         pub use crate::a::{b, c::{d as e, self}};\n\
         use super::f::*;\n\
         use serde::Serialize;\n\
         fn g() { let s = \"crate::in_a_string\"; let c = '{'; crate::h::i(); }\n\
         mod tests { use super::*; fn j() { super::super::k::l(); } }\n",
    );
    let scope = vec!["m".to_string(), "n".to_string()];
    let found: Vec<(Vec<String>, Vec<String>, bool)> = imports(&text, &scope)
        .into_iter()
        .map(|i| (i.scope, i.path, i.public))
        .collect();
    let v = |s: &str| -> Vec<String> { s.split(' ').map(String::from).collect() };
    assert_eq!(
        found,
        vec![
            (v("m n"), v("crate a b"), true),
            (v("m n"), v("crate a c d"), true),
            (v("m n"), v("crate a c self"), true),
            (v("m n"), v("super f"), false),
            (v("m n"), v("serde Serialize"), false),
            (v("m n"), v("crate h i"), false),
            (v("m n tests"), v("super"), false),
            (v("m n tests"), v("super super k l"), false),
        ]
    );
}

fn floor_of(module: &str) -> Option<u8> {
    FLOORS
        .iter()
        .find(|(_, modules)| modules.contains(&module))
        .map(|(floor, _)| *floor)
}

struct SourceFile {
    /// Path under `src/`, as `app/views/details.rs`.
    rel: String,
    /// Module path, as `["app", "views", "details"]`.
    module: Vec<String>,
    /// Names this file defines (for following a glob re-export to the right file).
    defines: BTreeSet<String>,
    /// `pub use` at the file's own scope: exported name to the absolute path it names.
    reexports: BTreeMap<String, Vec<String>>,
    /// `pub use path::*` at the file's own scope: the modules it re-exports whole.
    globs: Vec<Vec<String>>,
}

struct Graph {
    files: Vec<SourceFile>,
    modules: BTreeMap<Vec<String>, usize>,
    edges: BTreeMap<usize, BTreeSet<usize>>,
}

impl Graph {
    fn of_src() -> Self {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut paths = Vec::new();
        collect_rs(&src, &mut paths);
        let mut files = Vec::new();
        let mut texts = Vec::new();
        for path in paths {
            let rel = path
                .strip_prefix(&src)
                .expect("under src")
                .to_string_lossy()
                .replace('\\', "/");
            // The crate roots declare modules and import nothing of their own.
            if rel == "lib.rs" || rel == "main.rs" {
                continue;
            }
            let text = strip(&std::fs::read_to_string(&path).expect("readable source"));
            files.push(SourceFile {
                module: module_path(&rel),
                rel,
                defines: definitions(&text),
                reexports: BTreeMap::new(),
                globs: Vec::new(),
            });
            texts.push(text);
        }
        let modules: BTreeMap<Vec<String>, usize> = files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.module.clone(), i))
            .collect();
        let mut graph = Graph {
            files,
            modules,
            edges: BTreeMap::new(),
        };
        let all: Vec<Vec<Import>> = texts
            .iter()
            .zip(&graph.files)
            .map(|(text, f)| imports(text, &f.module))
            .collect();
        for (i, found) in all.iter().enumerate() {
            let module = graph.files[i].module.clone();
            for import in found.iter().filter(|im| im.public && im.scope == module) {
                let Some(path) = graph.absolute(&import.scope, &import.path) else {
                    continue;
                };
                if import.glob {
                    graph.files[i].globs.push(path);
                } else if let Some(name) = import.alias.clone().or_else(|| path.last().cloned()) {
                    graph.files[i].reexports.insert(name, path);
                }
            }
        }
        for (i, found) in all.iter().enumerate() {
            for import in found {
                let Some(path) = graph.absolute(&import.scope, &import.path) else {
                    continue;
                };
                if let Some(to) = graph.target(&path, 0) {
                    if to != i {
                        graph.edges.entry(i).or_default().insert(to);
                    }
                }
            }
        }
        graph
    }

    fn floor(&self, file: usize) -> u8 {
        floor_of(&self.files[file].module[0]).unwrap_or(0)
    }

    /// The absolute module path a path in `scope` names; None for another crate.
    fn absolute(&self, scope: &[String], path: &[String]) -> Option<Vec<String>> {
        let mut out: Vec<String> = match path.first()?.as_str() {
            "crate" => path[1..].to_vec(),
            "super" => {
                let supers = path.iter().take_while(|s| *s == "super").count();
                let mut base = scope[..scope.len().checked_sub(supers)?].to_vec();
                base.extend_from_slice(&path[supers..]);
                base
            }
            "self" => [scope, &path[1..]].concat(),
            // A `use` path may start at a submodule of its scope; else it is another crate.
            first => {
                let mut child = scope.to_vec();
                child.push(first.to_string());
                if !self.modules.contains_key(&child) {
                    return None;
                }
                [scope, path].concat()
            }
        };
        if out.last().is_some_and(|s| s == "self") {
            out.pop();
        }
        Some(out)
    }

    /// The file that defines what `path` names: its longest module prefix, through the
    /// re-exports of that module.
    fn target(&self, path: &[String], hops: usize) -> Option<usize> {
        let (k, &file) = (0..=path.len())
            .rev()
            .find_map(|k| self.modules.get(&path[..k]).map(|f| (k, f)))?;
        let Some(name) = path.get(k) else {
            return Some(file);
        };
        if hops < 8 {
            if let Some(to) = self.files[file].reexports.get(name) {
                return self.target(&[to.as_slice(), &path[k + 1..]].concat(), hops + 1);
            }
            if !self.files[file].defines.contains(name) {
                for glob in &self.files[file].globs {
                    if let Some(&g) = self.modules.get(glob) {
                        if self.files[g].defines.contains(name) {
                            return Some(g);
                        }
                    }
                }
            }
        }
        Some(file)
    }

    /// Strongly connected components of more than one file; `inside` leaves out a module
    /// file's imports of its own submodules.
    fn circles(&self, inside: bool) -> Vec<Vec<usize>> {
        let n = self.files.len();
        let next: Vec<Vec<usize>> = (0..n)
            .map(|a| {
                self.edges
                    .get(&a)
                    .into_iter()
                    .flatten()
                    .copied()
                    .filter(|&b| {
                        !(inside && self.files[b].module.starts_with(&self.files[a].module))
                    })
                    .collect()
            })
            .collect();
        let mut tarjan = Tarjan {
            next: &next,
            index: vec![None; n],
            low: vec![0; n],
            on_stack: vec![false; n],
            stack: Vec::new(),
            counter: 0,
            found: Vec::new(),
        };
        for v in 0..n {
            if tarjan.index[v].is_none() {
                tarjan.visit(v);
            }
        }
        tarjan.found.retain(|c| c.len() > 1);
        tarjan.found
    }

    fn describe(&self, circle: &[usize]) -> String {
        let mut lines = Vec::new();
        for &a in circle {
            let to: Vec<String> = self.edges[&a]
                .iter()
                .filter(|b| circle.contains(b))
                .map(|&b| format!("src/{}", self.files[b].rel))
                .collect();
            lines.push(format!(
                "  src/{} imports {}",
                self.files[a].rel,
                to.join(", ")
            ));
        }
        lines.sort();
        format!("a circle of {} files:\n{}", circle.len(), lines.join("\n"))
    }
}

struct Tarjan<'a> {
    next: &'a [Vec<usize>],
    index: Vec<Option<usize>>,
    low: Vec<usize>,
    on_stack: Vec<bool>,
    stack: Vec<usize>,
    counter: usize,
    found: Vec<Vec<usize>>,
}

impl Tarjan<'_> {
    fn visit(&mut self, v: usize) {
        self.index[v] = Some(self.counter);
        self.low[v] = self.counter;
        self.counter += 1;
        self.stack.push(v);
        self.on_stack[v] = true;
        let next = self.next;
        for &w in &next[v] {
            match self.index[w] {
                None => {
                    self.visit(w);
                    self.low[v] = self.low[v].min(self.low[w]);
                }
                Some(i) if self.on_stack[w] => self.low[v] = self.low[v].min(i),
                Some(_) => {}
            }
        }
        if Some(self.low[v]) == self.index[v] {
            let mut component = Vec::new();
            while let Some(w) = self.stack.pop() {
                self.on_stack[w] = false;
                component.push(w);
                if w == v {
                    break;
                }
            }
            component.sort();
            self.found.push(component);
        }
    }
}

fn collect_rs(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("readable folder")
        .map(|e| e.expect("folder entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect_rs(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `app/views/details.rs` is `app::views::details`; `app/mod.rs` is `app`.
fn module_path(rel: &str) -> Vec<String> {
    let mut parts: Vec<String> = rel
        .trim_end_matches(".rs")
        .split('/')
        .map(String::from)
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The source with comments, strings and character literals blanked, so that neither a
/// doc link nor a `'{'` reads as code. Line breaks are kept, so lines count as in the file.
fn strip(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let at = |k: usize| c.get(k).copied().unwrap_or('\0');
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < c.len() {
        if at(i) == '/' && at(i + 1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if at(i) == '/' && at(i + 1) == '*' {
            let start = i;
            let mut depth = 0;
            while i < c.len() {
                if at(i) == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if at(i) == '*' && at(i + 1) == '/' {
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
            out.extend(std::iter::repeat_n('\n', newlines(&c[start..i])));
            continue;
        }
        let after_ident = i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_');
        if !after_ident && (at(i) == 'r' || (at(i) == 'b' && at(i + 1) == 'r')) {
            let mut j = i + if at(i) == 'b' { 2 } else { 1 };
            let hashes = (j..).take_while(|&k| at(k) == '#').count();
            j += hashes;
            if at(j) == '"' {
                j += 1;
                while j < c.len() && !(c[j] == '"' && (1..=hashes).all(|h| at(j + h) == '#')) {
                    j += 1;
                }
                out.push_str("\"\"");
                out.extend(std::iter::repeat_n('\n', newlines(&c[i..j])));
                i = j + 1 + hashes;
                continue;
            }
        }
        if at(i) == '"' {
            let mut j = i + 1;
            while j < c.len() && c[j] != '"' {
                j += if c[j] == '\\' { 2 } else { 1 };
            }
            out.push_str("\"\"");
            out.extend(std::iter::repeat_n('\n', newlines(&c[i..j.min(c.len())])));
            i = j + 1;
            continue;
        }
        if at(i) == '\'' {
            // '\n', '\'', '\u{..}'; else 'x'; else a lifetime, left as it is.
            if at(i + 1) == '\\' {
                let mut j = i + 3;
                while j < c.len() && c[j] != '\'' {
                    j += 1;
                }
                out.push_str("' '");
                i = j + 1;
                continue;
            }
            if at(i + 2) == '\'' {
                out.push_str("' '");
                i += 3;
                continue;
            }
        }
        out.push(c[i]);
        i += 1;
    }
    out
}

fn newlines(chars: &[char]) -> usize {
    chars.iter().filter(|&&ch| ch == '\n').count()
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    /// `::`
    Sep,
    Open,
    Close,
    Semi,
    Other(char),
}

fn tokens(text: &str) -> Vec<Tok> {
    let c: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch.is_alphabetic() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident(c[start..i].iter().collect()));
            continue;
        }
        if ch == ':' && c.get(i + 1) == Some(&':') {
            out.push(Tok::Sep);
            i += 2;
            continue;
        }
        match ch {
            '{' => out.push(Tok::Open),
            '}' => out.push(Tok::Close),
            ';' => out.push(Tok::Semi),
            c if c.is_whitespace() => {}
            c => out.push(Tok::Other(c)),
        }
        i += 1;
    }
    out
}

#[derive(Debug)]
struct Import {
    /// The module the path is written in (a file's module, or an inline `mod` in it).
    scope: Vec<String>,
    path: Vec<String>,
    alias: Option<String>,
    /// A `pub use` (any visibility), which re-exports.
    public: bool,
    /// `use path::*`.
    glob: bool,
}

fn is_ident(t: Option<&Tok>, word: &str) -> bool {
    matches!(t, Some(Tok::Ident(w)) if w == word)
}

/// Every path into this crate that `text` (stripped) writes: `use` trees, and paths in
/// the code that start with `crate::`, `super::` or `self::`.
fn imports(text: &str, module: &[String]) -> Vec<Import> {
    let t = tokens(text);
    let mut out = Vec::new();
    // Inline modules open: (brace depth inside them, name).
    let mut inline: Vec<(usize, String)> = Vec::new();
    let mut pending_mod: Option<String> = None;
    let mut depth = 0;
    let mut i = 0;
    while i < t.len() {
        let scope: Vec<String> = module
            .iter()
            .cloned()
            .chain(inline.iter().map(|(_, m)| m.clone()))
            .collect();
        match &t[i] {
            Tok::Ident(w) if w == "use" => {
                let public = is_ident(t.get(i.wrapping_sub(1)), "pub")
                    || (t.get(i.wrapping_sub(1)) == Some(&Tok::Other(')'))
                        && t[i.saturating_sub(6)..i]
                            .iter()
                            .any(|x| is_ident(Some(x), "pub")));
                let end = (i..t.len()).find(|&k| t[k] == Tok::Semi).unwrap_or(t.len());
                let mut trees = Vec::new();
                let mut pos = 0;
                use_tree(&t[i + 1..end], &mut pos, &[], &mut trees);
                for (path, alias, glob) in trees {
                    out.push(Import {
                        scope: scope.clone(),
                        path,
                        alias,
                        public,
                        glob,
                    });
                }
                i = end + 1;
                continue;
            }
            Tok::Ident(w) if w == "mod" => {
                if let (Some(Tok::Ident(name)), Some(Tok::Open)) = (t.get(i + 1), t.get(i + 2)) {
                    pending_mod = Some(name.clone());
                }
            }
            Tok::Ident(w)
                if (w == "crate" || w == "super" || w == "self")
                    && t.get(i + 1) == Some(&Tok::Sep)
                    && !matches!(t.get(i.wrapping_sub(1)), Some(Tok::Sep | Tok::Other('$'))) =>
            {
                let mut path = vec![w.clone()];
                let mut k = i + 1;
                while t.get(k) == Some(&Tok::Sep) {
                    match t.get(k + 1) {
                        Some(Tok::Ident(seg)) => path.push(seg.clone()),
                        _ => break,
                    }
                    k += 2;
                }
                out.push(Import {
                    scope,
                    path,
                    alias: None,
                    public: false,
                    glob: false,
                });
                i = k;
                continue;
            }
            Tok::Open => {
                depth += 1;
                if let Some(name) = pending_mod.take() {
                    inline.push((depth, name));
                }
            }
            Tok::Close => {
                if inline.last().is_some_and(|(d, _)| *d == depth) {
                    inline.pop();
                }
                depth -= 1;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// One use tree: `a::b`, `a::{b, c::d as e}`, `a::*`; each leaf with its alias and whether
/// it is a glob.
fn use_tree(
    t: &[Tok],
    pos: &mut usize,
    prefix: &[String],
    out: &mut Vec<(Vec<String>, Option<String>, bool)>,
) {
    let mut path = prefix.to_vec();
    if t.get(*pos) == Some(&Tok::Sep) {
        *pos += 1;
    }
    loop {
        match t.get(*pos) {
            Some(Tok::Open) => {
                *pos += 1;
                while *pos < t.len() && t[*pos] != Tok::Close {
                    let before = *pos;
                    use_tree(t, pos, &path, out);
                    if t.get(*pos) == Some(&Tok::Other(',')) || *pos == before {
                        *pos += 1;
                    }
                }
                *pos += 1;
                return;
            }
            Some(Tok::Other('*')) => {
                *pos += 1;
                out.push((path, None, true));
                return;
            }
            Some(Tok::Ident(name)) => {
                path.push(name.clone());
                *pos += 1;
                if t.get(*pos) == Some(&Tok::Sep) {
                    *pos += 1;
                    continue;
                }
                let alias = match (is_ident(t.get(*pos), "as"), t.get(*pos + 1)) {
                    (true, Some(Tok::Ident(a))) => {
                        *pos += 2;
                        Some(a.clone())
                    }
                    _ => None,
                };
                out.push((path, alias, false));
                return;
            }
            _ => return,
        }
    }
}

/// Names a file defines, at any depth: enough to follow a glob re-export.
fn definitions(text: &str) -> BTreeSet<String> {
    let t = tokens(text);
    t.windows(2)
        .filter_map(|w| match (&w[0], &w[1]) {
            (Tok::Ident(k), Tok::Ident(name))
                if matches!(
                    k.as_str(),
                    "fn" | "struct"
                        | "enum"
                        | "const"
                        | "static"
                        | "type"
                        | "trait"
                        | "union"
                        | "mod"
                ) =>
            {
                Some(name.clone())
            }
            _ => None,
        })
        .collect()
}

/// The survey is a detail of `alert/` and `features/` (the survey seam): above them code asks
/// the survey (`FeatureSet`, `RuleFacts`, `AlertRef`'s neutral questions) instead of naming
/// ZTF or LSST. Each file above that still names a survey's variant is listed here with the
/// most it may name and why; the count may only go down (a listed number higher than the
/// count fails too, so that the list follows every step down).
const SURVEY_NAMED: &[(&str, usize, &str)] = &[
    (
        "app/models.rs",
        3,
        "which surveys' objects a model answers (ZTF's own models, a stand-in for LSST); \
         a fine-tune on LSST labels starts from a model that reads LSST",
    ),
    (
        "app/views/browser.rs",
        2,
        "'no LSST model' when nothing answers an LSST row",
    ),
    (
        "app/views/evolution.rs",
        1,
        "'no LSST model' when nothing answers an LSST object's evolution",
    ),
    (
        "assets.rs",
        1,
        "the bundled default is ZTF's own model; every other survey gets the neutral one",
    ),
    (
        "cli/bench.rs",
        5,
        "benchmarks that build ZTF or LSST inputs on purpose",
    ),
    (
        "model/trees.rs",
        2,
        "the ZTF tree header, and the neutral model's, learnt on ZTF objects",
    ),
];

/// Outside `#[cfg(test)]` items: what a later brace-matched item after the attribute holds.
fn without_test_items(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at..];
        let Some(open) = after.find(['{', ';']) else {
            rest = "";
            break;
        };
        if after.as_bytes()[open] == b';' {
            rest = &after[open + 1..];
            continue;
        }
        let mut depth = 0;
        let mut end = after.len();
        for (i, ch) in after[open..].char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

#[test]
fn the_survey_is_named_only_in_the_alert_layer_and_the_survey_seam() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    collect_rs(&src, &mut paths);
    let patterns = [
        "Survey::Ztf",
        "Survey::Lsst",
        "AnyAlert::Ztf",
        "AnyAlert::Lsst",
        "AlertRef::Ztf",
        "AlertRef::Lsst",
    ];
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for path in paths {
        let rel = path
            .strip_prefix(&src)
            .expect("under src")
            .to_string_lossy()
            .replace('\\', "/");
        if rel.starts_with("alert/") || rel.starts_with("features/") {
            continue;
        }
        let text = without_test_items(&strip(
            &std::fs::read_to_string(&path).expect("readable source"),
        ));
        let n: usize = patterns.iter().map(|p| text.matches(p).count()).sum();
        if n > 0 {
            counts.insert(rel, n);
        }
    }
    let allowed: BTreeMap<&str, usize> = SURVEY_NAMED.iter().map(|(f, n, _)| (*f, *n)).collect();
    let mut wrong = Vec::new();
    for (file, n) in &counts {
        match allowed.get(file.as_str()) {
            None => wrong.push(format!(
                "src/{file} names a survey {n} times: ask the survey (features/sets.rs, \
                 features/facts.rs, AlertRef) instead, or list it with its reason"
            )),
            Some(&most) if *n > most => wrong.push(format!(
                "src/{file} names a survey {n} times, more than the {most} listed"
            )),
            Some(&most) if *n < most => wrong.push(format!(
                "src/{file} names a survey {n} times now: lower its entry from {most} to {n}"
            )),
            _ => {}
        }
    }
    for (file, most) in &allowed {
        if !counts.contains_key(*file) {
            wrong.push(format!(
                "src/{file} no longer names a survey: remove its entry ({most})"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn test_items_are_left_out_of_the_survey_count() {
    let text = "fn a() { Survey::Ztf }\n#[cfg(test)]\nmod tests { fn b() { Survey::Lsst } }\n\
                #[cfg(test)]\nuse x;\nfn c() { AlertRef::Lsst(x) }\n";
    let kept = without_test_items(text);
    assert!(kept.contains("Survey::Ztf") && kept.contains("AlertRef::Lsst"));
    assert!(!kept.contains("Survey::Lsst"), "{kept}");
}

/// Library files (outside `cli/` and `app/`) whose errors are still strings or `anyhow`,
/// each with the reason it stays. Keep it empty. An entry that is clean now fails the test,
/// so that the list stays true.
const ALLOWED_UNTYPED_ERRORS: &[(&str, &str)] = &[];

/// Issue #19: errors of the library are `thiserror` enums that keep their source and say
/// which file, record or model they concern; `anyhow` is for `cli/` and `app/` alone. So no
/// `Result<_, String>`, no `map_err(|e| e.to_string())` and no `anyhow::` below them.
#[test]
fn library_errors_are_typed_and_keep_their_source() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    collect_rs(&src, &mut paths);
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for path in paths {
        let rel = path
            .strip_prefix(&src)
            .expect("under src")
            .to_string_lossy()
            .replace('\\', "/");
        if rel.starts_with("cli/") || rel.starts_with("app/") {
            continue;
        }
        let text = without_test_items(&strip(
            &std::fs::read_to_string(&path).expect("readable source"),
        ));
        let mut problems = untyped_errors(&text);
        if SOURCE_KEEPING_MODULES.iter().any(|m| rel.starts_with(m)) {
            problems.extend(flattened_sources(&text));
        }
        if !problems.is_empty() {
            found.insert(rel, problems);
        }
    }
    let allowed: BTreeSet<&str> = ALLOWED_UNTYPED_ERRORS.iter().map(|(f, _)| *f).collect();
    let new: Vec<String> = found
        .iter()
        .filter(|(file, _)| !allowed.contains(file.as_str()))
        .map(|(file, p)| format!("src/{file}: {}", p.join(", ")))
        .collect();
    assert!(
        new.is_empty(),
        "errors as strings or anyhow in the library (give the module a thiserror enum whose \
         variant names the file, record or model and keeps the error as its #[source]):\n  {}",
        new.join("\n  ")
    );
    let stale: Vec<&&str> = allowed
        .iter()
        .filter(|file| !found.contains_key(**file))
        .collect();
    assert!(
        stale.is_empty(),
        "ALLOWED_UNTYPED_ERRORS lists files that are clean now (or gone); remove them: {stale:?}"
    );
}

/// What in `text` (stripped, test items left out) is an error made a string or `anyhow`:
/// a `Result` whose error type is `String`, a `map_err` closure that only stringifies, an
/// `anyhow::` path.
fn untyped_errors(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let code: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let mut from = 0;
    while let Some(at) = code[from..].find("Result<") {
        let start = from + at;
        from = start + "Result<".len();
        let before = code[..start].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let args = generic_args(&code[from..]);
        if args.len() == 2 && matches!(args[1].as_str(), "String" | "std::string::String") {
            out.push(format!("Result<{}, String>", args[0]));
        }
    }
    let mut from = 0;
    while let Some(at) = code[from..].find("map_err(|") {
        from += at + "map_err(|".len();
        let rest = &code[from..];
        let Some(bar) = rest.find('|') else { break };
        let var = &rest[..bar];
        if rest[bar + 1..].starts_with(&format!("{var}.to_string())")) {
            out.push(format!("map_err(|{var}| {var}.to_string())"));
        }
    }
    if code.contains("map_err(ToString::to_string)") {
        out.push("map_err(ToString::to_string)".into());
    }
    let anyhow = code.matches("anyhow::").count() + code.matches("anyhow!").count();
    if anyhow > 0 {
        out.push(format!("anyhow ({anyhow} times)"));
    }
    out
}

/// Where an error given to a `map_err` closure must not be made a string inside the error
/// built from it (issue #19: the error stays whole, as the new error's `#[source]`).
const SOURCE_KEEPING_MODULES: &[&str] = &["model/", "train/", "classify/", "features/"];

/// Each `map_err` closure in `text` (stripped) that passes its error argument's
/// `.to_string()` to a constructor or a field (`X(e.to_string())`, `err(e.to_string())`,
/// `reason: e.to_string()`), whitespace ignored.
fn flattened_sources(text: &str) -> Vec<String> {
    let code: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = code[from..].find("map_err(|") {
        from += at + "map_err(|".len();
        let rest = &code[from..];
        let Some(bar) = rest.find('|') else { break };
        let var = rest[..bar].split(':').next().unwrap_or_default();
        if var.is_empty() || var == "_" {
            continue;
        }
        // The closure's body: up to the `)` that closes `map_err(`.
        let mut depth = 0i32;
        let body_len = rest[bar + 1..]
            .char_indices()
            .find(|&(_, c)| {
                match c {
                    '(' | '[' | '{' => depth += 1,
                    ')' | ']' | '}' => depth -= 1,
                    _ => {}
                }
                depth < 0
            })
            .map_or(rest.len() - bar - 1, |(i, _)| i);
        let body = &rest[bar + 1..bar + 1 + body_len];
        let needle = format!("{var}.to_string()");
        let flattened = body.match_indices(&needle).any(|(i, _)| {
            let before = body[..i].chars().next_back();
            matches!(before, Some('(' | ',' | ':')) && !body[..i].ends_with("::")
        });
        if flattened {
            out.push(format!("map_err(|{var}| ..{needle}..)"));
        }
    }
    out
}

#[test]
fn the_source_reader_sees_flattened_errors_but_not_kept_ones() {
    let text = without_test_items(&strip(
        "fn a() { x.map_err(|e| err(e.to_string()))?; }\n\
         fn b() { x.map_err(|e| ModelError::Input( e .to_string() ))?; }\n\
         fn c() { x.map_err(|e: io::Error| Error::Write { path: p.into(), reason: e.to_string() })?; }\n\
         fn d() { x.map_err(|source| Error::Io { path: p.into(), source })?; }\n\
         fn e() { x.map_err(|e| ModelFileError::write(path, e))?; }\n\
         fn f() { x.map_err(|e| e.to_string())?; y.map_err(|_| err(name.to_string()))?; }\n\
         fn g() { x.map_err(|p| err(q.to_string()))?; z.map(|e| X(e.to_string())); }\n\
         #[cfg(test)]\nmod tests { fn t() { x.map_err(|e| err(e.to_string())); } }\n",
    ));
    assert_eq!(
        flattened_sources(&text),
        [
            "map_err(|e| ..e.to_string()..)",
            "map_err(|e| ..e.to_string()..)",
            "map_err(|e| ..e.to_string()..)",
        ]
    );
}

/// The top-level arguments of the generic list that `after_open` starts inside (just past
/// its `<`), whitespace removed: `Vec<u8>,String>x` is `["Vec<u8>", "String"]`.
fn generic_args(after_open: &str) -> Vec<String> {
    let mut args = vec![String::new()];
    let mut depth = 0i32;
    let mut prev = '\0';
    for c in after_open.chars() {
        match c {
            '<' | '(' | '[' => depth += 1,
            // `->` in a `Fn(..) -> T` bound is no closing bracket.
            '>' if prev == '-' => {}
            '>' | ')' | ']' if depth == 0 => return args,
            '>' | ')' | ']' => depth -= 1,
            ',' if depth == 0 => {
                args.push(String::new());
                prev = c;
                continue;
            }
            _ => {}
        }
        args.last_mut().expect("one argument at least").push(c);
        prev = c;
    }
    args
}

#[test]
fn the_error_reader_sees_string_errors_but_not_string_values() {
    let text = without_test_items(&strip(
        "fn a() -> Result<Vec<u8>, String> {}\n\
         fn b() -> Result<HashMap<String, String>, LabelError> {}\n\
         fn c() -> io::Result<String> {}\n\
         fn d(f: impl Fn(u8) -> Result<u8, E>) -> MyResult<u8, String> { x.map_err(|e| e.to_string()) }\n\
         fn e() { let s = \"anyhow::Result<(), String>\"; y.map_err(|p| p .to_string() )?; }\n\
         #[cfg(test)]\nmod tests { fn t() -> anyhow::Result<()> {} }\n",
    ));
    assert_eq!(
        untyped_errors(&text),
        [
            "Result<Vec<u8>, String>",
            "map_err(|e| e.to_string())",
            "map_err(|p| p.to_string())",
        ]
    );
}

/// What the ZTF-only object of `sequence.rs` is known by: its object, its light curve and
/// that light curve's points, and the grouping that makes them.
const ZTF_SEQUENCE_ITEMS: &[&str] = &[
    "Sequence",
    "LightCurve",
    "LightCurvePoint",
    "PointKind",
    "group_into_sequences",
];

/// Where the ZTF [`ZTF_SEQUENCE_ITEMS`] may still be named: the sequence layer that defines
/// them and the alert layer below it (issue #19).
const ZTF_SEQUENCE_READERS: &[&str] = &["sequence.rs", "sequence/", "alert/"];

/// Each place `text` (stripped, of the file of `module`) names a ZTF sequence item: a path
/// to it (`use` trees and `crate::`/`super::` paths, resolved), `sequence::Item` written
/// after importing the module, or an item's name after a glob import of the module.
fn ztf_sequence_names(graph: &Graph, text: &str, module: &[String]) -> Vec<String> {
    let is_item = |name: &str| ZTF_SEQUENCE_ITEMS.contains(&name);
    let mut found = Vec::new();
    let mut glob = false;
    for import in imports(text, module) {
        let Some(path) = graph.absolute(&import.scope, &import.path) else {
            continue;
        };
        match path.as_slice() {
            [m] if m == "sequence" && import.glob => glob = true,
            [m, item] if m == "sequence" && is_item(item) => found.push(path.join("::")),
            _ => {}
        }
    }
    let t = tokens(text);
    for (i, tok) in t.iter().enumerate() {
        let Tok::Ident(word) = tok else { continue };
        let after_module = i >= 2 && t[i - 1] == Tok::Sep && is_ident(t.get(i - 2), "sequence");
        if is_item(word) && (after_module || glob || word == "group_into_sequences") {
            found.push(format!("`{word}`"));
        }
    }
    found.sort();
    found.dedup();
    found
}

#[test]
fn above_the_sequence_layer_objects_are_survey_neutral() {
    let graph = Graph::of_src();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut wrong = Vec::new();
    for f in &graph.files {
        if ZTF_SEQUENCE_READERS.iter().any(|r| f.rel.starts_with(r)) {
            continue;
        }
        let text = strip(&std::fs::read_to_string(src.join(&f.rel)).expect("readable source"));
        let names = ztf_sequence_names(&graph, &text, &f.module);
        if !names.is_empty() {
            wrong.push(format!("src/{} names {}", f.rel, names.join(", ")));
        }
    }
    assert!(
        wrong.is_empty(),
        "the ZTF-only sequence (sequence.rs) named above the sequence layer: read \
         survey-neutral objects instead (sequence::neutral::ObjectSequence, group_objects, \
         read_objects; AlertObject for the answer path):\n  {}",
        wrong.join("\n  ")
    );
}

/// The reader of that test, on a snippet with each way of naming an item.
#[test]
fn the_ztf_sequence_reader_sees_paths_use_trees_modules_and_globs() {
    let graph = Graph::of_src();
    let scope = vec!["experiments".to_string(), "x".to_string()];
    let names = |snippet: &str| ztf_sequence_names(&graph, &strip(snippet), &scope);
    assert_eq!(
        names("use crate::sequence::{group_into_sequences, Sequence as S};"),
        vec![
            "`group_into_sequences`",
            "sequence::Sequence",
            "sequence::group_into_sequences"
        ]
    );
    assert_eq!(
        names("fn f(c: &crate::sequence::LightCurve) {}"),
        vec!["`LightCurve`", "sequence::LightCurve"]
    );
    assert_eq!(
        names("use crate::sequence; fn f(s: &sequence::Sequence) {}"),
        vec!["`Sequence`"]
    );
    assert_eq!(
        names("use crate::sequence::*; fn f(s: &Sequence) {}"),
        vec!["`Sequence`"]
    );
    // The survey-neutral objects, and a doc comment or string naming the ZTF one, pass.
    assert!(names(
        "use crate::sequence::neutral::{group_objects, ObjectSequence, NeutralLightCurve};\n\
         /// Not a [`crate::sequence::Sequence`].\n\
         fn f(s: &ObjectSequence) { let t = \"sequence::Sequence\"; }"
    )
    .is_empty());
}
