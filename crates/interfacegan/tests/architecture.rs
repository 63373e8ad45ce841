//! The workspace's shape, checked: the crate graph drawn in docs/architecture.md is the one
//! `cargo metadata` reports, no crate depends on another for a helper, and every function of the
//! crates (the CLI's included) fits on a screen.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The workspace's own dependency edges `from -> to` (normal dependencies; dev and build ones left out).
fn metadata_edges() -> BTreeSet<(String, String)> {
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(workspace())
        .output()
        .expect("cargo metadata runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON");
    let packages = metadata["packages"].as_array().expect("packages");
    let ours: BTreeSet<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    let mut edges = BTreeSet::new();
    for package in packages {
        for dependency in package["dependencies"].as_array().expect("dependencies") {
            let name = dependency["name"].as_str().expect("name");
            if dependency["kind"].is_null() && ours.contains(name) {
                edges.insert((package["name"].as_str().expect("name").to_string(), name.to_string()));
            }
        }
    }
    edges
}

/// The edges listed in docs/architecture.md's crate graph: lines `from -> to, to, ...` in the
/// code block after the heading `## Crate graph`.
fn documented_edges() -> BTreeSet<(String, String)> {
    let doc = std::fs::read_to_string(workspace().join("docs/architecture.md")).expect("docs/architecture.md");
    let section = doc.split("## Crate graph").nth(1).expect("a `## Crate graph` section");
    let block = section.split("```").nth(1).expect("a code block in the crate graph section");
    let mut edges = BTreeSet::new();
    for line in block.lines().filter(|l| l.contains("->")) {
        let (from, to) = line.split_once("->").expect("an arrow");
        let to = to.split('#').next().expect("text before a comment");
        for target in to.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            edges.insert((from.trim().to_string(), target.to_string()));
        }
    }
    edges
}

#[test]
fn the_documented_crate_graph_is_the_real_one() {
    let (real, documented) = (metadata_edges(), documented_edges());
    let missing: Vec<_> = real.difference(&documented).collect();
    let stale: Vec<_> = documented.difference(&real).collect();
    assert!(
        missing.is_empty() && stale.is_empty(),
        "not in docs/architecture.md: {missing:?}; no longer real: {stale:?}"
    );
}

#[test]
fn no_crate_depends_on_another_for_a_helper() {
    let edges = metadata_edges();
    let depends = |from: &str, to: &str| edges.contains(&(from.to_string(), to.to_string()));
    // Device selection, image preprocessing and SIMD dispatch have crates of their own.
    assert!(!depends("interfacegan-attributes", "interfacegan-generator"));
    assert!(!depends("interfacegan-inversion", "interfacegan-attributes"));
    // The SVM, the SIMD dispatch, the files and the projections stand alone: no GAN, no burn.
    for alone in ["interfacegan-svm", "interfacegan-simd", "interfacegan-io", "interfacegan-subspace"] {
        let deps: Vec<&str> = edges.iter().filter(|(from, _)| from == alone).map(|(_, to)| to.as_str()).collect();
        assert!(deps.iter().all(|d| ["interfacegan-simd", "interfacegan-io"].contains(d)), "{alone}: {deps:?}");
    }
    // The CLI goes through the facade only.
    let cli: Vec<&str> =
        edges.iter().filter(|(from, _)| from == "interfacegan-cli").map(|(_, to)| to.as_str()).collect();
    assert_eq!(cli, ["interfacegan"]);
}

/// The functions of `source` (Rust as rustfmt lays it out) with their length in lines, up to
/// its test module.
fn function_lengths(source: &str) -> Vec<(String, usize)> {
    let lines: Vec<&str> = source.lines().take_while(|l| l.trim() != "#[cfg(test)]").collect();
    let indent = |line: &str| line.len() - line.trim_start().len();
    let mut found = Vec::new();
    for (start, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let words: Vec<&str> = trimmed.split_whitespace().take_while(|w| *w != "fn").collect();
        let qualifiers = ["pub", "pub(crate)", "pub(super)", "const", "unsafe", "async", "extern"];
        if !trimmed.contains("fn ") || !words.iter().all(|w| qualifiers.contains(w)) {
            continue;
        }
        let Some(rest) = trimmed.split_once("fn ").map(|(_, rest)| rest) else { continue };
        let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        // The body ends at the first `}` at the signature's indentation; a declaration without
        // a body (in a trait) ends at its `;`.
        let end = lines[start..].iter().position(|l| {
            let t = l.trim_start();
            indent(l) == indent(line) && (t.starts_with('}') || (t.ends_with(';') && !t.contains('{')))
        });
        if let Some(end) = end {
            found.push((name, end + 1));
        }
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source folder").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Functions over this many lines fail the test.
const MAX_FUNCTION_LINES: usize = 80;

/// Every function of the crates' sources (tests left out), longest first.
fn crate_functions() -> Vec<(String, String, usize)> {
    let root = workspace().join("crates");
    let mut files = Vec::new();
    for krate in std::fs::read_dir(&root).expect("crates/").flatten() {
        rust_files(&krate.path().join("src"), &mut files);
    }
    let mut functions = Vec::new();
    for file in files {
        let relative = file.strip_prefix(&root).expect("under crates/").to_string_lossy().replace('\\', "/");
        let source = std::fs::read_to_string(&file).expect("readable source");
        functions.extend(function_lengths(&source).into_iter().map(|(name, length)| (relative.clone(), name, length)));
    }
    functions.sort_by_key(|(_, _, length)| std::cmp::Reverse(*length));
    functions
}

#[test]
fn functions_fit_on_a_screen() {
    let functions = crate_functions();
    let longest: Vec<String> = functions.iter().take(10).map(|(f, n, l)| format!("{l:4} {f}: {n}")).collect();
    println!("the longest functions (lines):\n{}", longest.join("\n"));
    let too_long: Vec<String> = functions
        .iter()
        .filter(|(_, _, length)| *length > MAX_FUNCTION_LINES)
        .map(|(file, name, length)| format!("{file}: fn {name}: {length} lines"))
        .collect();
    assert!(too_long.is_empty(), "functions over a screen:\n{}", too_long.join("\n"));
}

#[test]
fn function_lengths_are_measured_from_signature_to_closing_brace() {
    let source = "fn a() {\n    1;\n}\n\nimpl X {\n    pub fn b(&self) -> u8 {\n        2\n    }\n    fn c();\n}\n\
                  // fn not_code() {\n#[cfg(test)]\nfn d() {}\n";
    let expected = [("a", 3), ("b", 3), ("c", 1)].map(|(n, l)| (n.to_string(), l));
    assert_eq!(function_lengths(source), expected);
}
