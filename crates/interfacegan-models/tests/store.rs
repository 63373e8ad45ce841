//! The registry against the files the repository ships, and every route and refusal of the store.

use std::path::{Path, PathBuf};

use interfacegan_models::{MODELS, MODELS_ENV, ModelError, ModelStore, Route, model, verify_file};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/models")
}

/// A folder holding a copy of `gender-v1.onnx`, changed by `edit`.
fn folder_with_gender(edit: impl FnOnce(&mut Vec<u8>)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(fixtures().join("gender-v1.onnx")).unwrap();
    edit(&mut bytes);
    std::fs::write(dir.path().join("gender-v1.onnx"), bytes).unwrap();
    dir
}

#[test]
fn the_shipped_files_match_the_registry() {
    for m in &MODELS {
        verify_file(&fixtures().join(m.file_name), m).unwrap_or_else(|e| panic!("{}: {e}", m.name));
    }
    let names: Vec<&str> = MODELS.iter().map(|m| m.name).collect();
    assert_eq!(names, ["dcgan", "gender", "age", "smile", "dcgan-encoder"]);
    let err = model("tpu").unwrap_err().to_string();
    assert!(err.contains("unknown model `tpu`") && err.contains("dcgan-encoder"), "{err}");
}

#[test]
fn the_first_folder_that_holds_a_file_decides() {
    let good = folder_with_gender(|_| {});
    let empty = tempfile::tempdir().unwrap();
    let store = ModelStore::in_dir(good.path()).with_dir(empty.path());
    let found = store.locate("gender").unwrap();
    assert_eq!((found.route, found.path.clone()), (Route::Explicit, good.path().join("gender-v1.onnx")));
    let (located, bytes) = store.read("gender").unwrap();
    assert_eq!((located, bytes), (found, std::fs::read(fixtures().join("gender-v1.onnx")).unwrap()));
    // A damaged copy first is an error naming it and both checksums, not a fallback to the good one.
    let damaged = folder_with_gender(|b| b[1000] ^= 1);
    let err = ModelStore::in_dir(good.path()).with_dir(damaged.path()).locate("gender").unwrap_err();
    let ModelError::Checksum { path, expected, actual } = &err else { panic!("{err}") };
    assert_eq!(
        (path.as_path(), *expected),
        (damaged.path().join("gender-v1.onnx").as_path(), model("gender").unwrap().sha256)
    );
    assert_ne!(actual, expected);
    assert!(err.to_string().contains("remove or replace it"), "{err}");
    // A copy of another size is refused before it is read.
    let short = folder_with_gender(|b| b.truncate(100));
    let err = ModelStore::in_dir(short.path()).read("gender").unwrap_err();
    assert!(matches!(err, ModelError::WrongSize { expected: 530_620, actual: 100, .. }), "{err}");
}

#[test]
fn a_missing_file_names_every_folder_searched_and_the_checksum() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let err = ModelStore::in_dir(b.path()).with_dir(a.path()).locate("age").unwrap_err();
    let ModelError::Missing { file_name, sha256, searched } = &err else { panic!("{err}") };
    assert_eq!((*file_name, *sha256), ("age-v1.onnx", model("age").unwrap().sha256));
    assert_eq!(searched, &[a.path().to_path_buf(), b.path().to_path_buf()]);
    let text = err.to_string();
    assert!(text.contains(&a.path().display().to_string()) && text.contains(MODELS_ENV), "{text}");
}

#[test]
fn the_default_search_is_the_environment_then_the_checkout_then_the_cache() {
    let dir = folder_with_gender(|_| {});
    // SAFETY: no other test of this binary reads the environment.
    unsafe { std::env::set_var(MODELS_ENV, dir.path()) };
    let store = ModelStore::from_env();
    unsafe { std::env::remove_var(MODELS_ENV) };
    let routes: Vec<Route> = store.folders().map(|(route, _)| route).collect();
    assert_eq!(&routes[..2], [Route::Environment, Route::Checkout]);
    if ModelStore::cache_dir().is_some() {
        assert_eq!(routes.last(), Some(&Route::Cache));
    }
    assert_eq!(store.locate("gender").unwrap().route, Route::Environment);
    // What the environment lacks, the checkout has.
    assert_eq!(store.locate("smile").unwrap().route, Route::Checkout);
    assert_eq!(ModelStore::from_env().locate("smile").unwrap().route, Route::Checkout);
}
