//! No two modules of a crate import each other. Each `crate::` or `super::`
//! path in code (comments aside) is resolved to the module file it names,
//! through the names the crate root re-exports (`pub use dense::Dense` makes
//! `crate::Dense` the `dense` module), and no pair of files may name each
//! other; a module and its own parent or children are exempt.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type ModPath = Vec<String>;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

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

/// `src/gemm/mod.rs` is `gemm`, `src/gemm/pack.rs` is `gemm::pack`.
fn module_of(src: &Path, file: &Path) -> ModPath {
    let mut parts: ModPath = file
        .strip_prefix(src)
        .unwrap()
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("lib" | "main" | "mod")) {
        parts.pop();
    }
    parts
}

/// The paths after each `crate::` or `super::`, with `{a, b::c}` groups
/// expanded; `super` paths are made absolute from `module`.
fn paths_named(code: &str, module: &ModPath) -> Vec<ModPath> {
    let mut found = Vec::new();
    for start in ["crate::", "super::"] {
        let base: ModPath = if start == "crate::" {
            Vec::new()
        } else {
            module[..module.len().saturating_sub(1)].to_vec()
        };
        for (at, _) in code.match_indices(start) {
            let before = code[..at].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let rest = &code[at + start.len()..];
            let tails: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
                group[..group.find('}').unwrap_or(group.len())].split(',').collect()
            } else {
                vec![rest]
            };
            for tail in tails {
                let path: ModPath = tail
                    .trim()
                    .split("::")
                    .map(|seg| seg.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect())
                    .take_while(|seg: &String| !seg.is_empty())
                    .collect();
                found.push(base.iter().cloned().chain(path).collect());
            }
        }
    }
    found
}

/// `pub use module::{A, B};` and `pub use module::A;` at the crate root.
fn root_reexports(root: &str) -> BTreeMap<String, String> {
    let mut alias = BTreeMap::new();
    for line in root.lines() {
        let Some(rest) = line.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, names)) = rest.trim_end_matches(';').split_once("::") else {
            continue;
        };
        for name in names.trim_matches(|c| c == '{' || c == '}').split(',') {
            alias.insert(name.trim().to_string(), module.to_string());
        }
    }
    alias
}

fn mutual_imports(src: &Path) -> Vec<(ModPath, ModPath)> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeSet<ModPath> = files.iter().map(|f| module_of(src, f)).collect();
    let root = ["lib.rs", "main.rs"]
        .iter()
        .map(|r| src.join(r))
        .find(|p| p.exists())
        .unwrap();
    let alias = root_reexports(&std::fs::read_to_string(root).unwrap());
    let mut imports: BTreeMap<ModPath, BTreeSet<ModPath>> = BTreeMap::new();
    for file in &files {
        let module = module_of(src, file);
        let code: String = std::fs::read_to_string(file)
            .unwrap()
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for mut path in paths_named(&code, &module) {
            if let Some(target) = path.first().and_then(|first| alias.get(first)) {
                path[0] = target.clone();
            }
            // The longest prefix that is a module file.
            let target = (1..=path.len())
                .rev()
                .map(|i| path[..i].to_vec())
                .find(|p| modules.contains(p));
            if let Some(target) = target.filter(|t| *t != module) {
                imports.entry(module.clone()).or_default().insert(target);
            }
        }
    }
    let related = |a: &ModPath, b: &ModPath| a.starts_with(b) || b.starts_with(a);
    let mut pairs = Vec::new();
    for (a, targets) in &imports {
        for b in targets {
            if a < b && !related(a, b) && imports.get(b).is_some_and(|t| t.contains(a)) {
                pairs.push((a.clone(), b.clone()));
            }
        }
    }
    pairs
}

#[test]
fn no_two_modules_import_each_other() {
    let root = workspace();
    let mut sources: Vec<PathBuf> = std::fs::read_dir(root.join("crates"))
        .unwrap()
        .map(|e| e.unwrap().path().join("src"))
        .collect();
    sources.extend([root.join("xtask/src"), root.join("benches/src")]);
    let mut found = Vec::new();
    for src in sources.iter().filter(|s| s.exists()) {
        for (a, b) in mutual_imports(src) {
            found.push(format!("{}: {} <-> {}", src.display(), a.join("::"), b.join("::")));
        }
    }
    assert!(
        found.is_empty(),
        "modules that import each other:\n{}",
        found.join("\n")
    );
}

/// The check itself: two files naming each other, once through a
/// re-export and a group, are found; a parent and its child are not.
#[test]
fn a_pair_that_imports_each_other_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("gemm")).unwrap();
    std::fs::write(src.join("lib.rs"), "mod a;\nmod b;\nmod gemm;\npub use b::Thing;\n").unwrap();
    std::fs::write(src.join("a.rs"), "use crate::{Thing, gemm::pack};\n").unwrap();
    std::fs::write(src.join("b.rs"), "// use crate::gemm;\nfn f() { crate::a::g() }\n").unwrap();
    std::fs::write(src.join("gemm/mod.rs"), "mod pack;\nuse pack::x;\n").unwrap();
    std::fs::write(src.join("gemm/pack.rs"), "use super::Operand;\n").unwrap();
    assert_eq!(
        mutual_imports(src),
        vec![(vec!["a".to_string()], vec!["b".to_string()])]
    );
}
