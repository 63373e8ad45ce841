//! `interfacegan models`: where the model files are, and refusals of damaged copies.

use std::path::Path;
use std::process::{Command, Output};

fn models(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_interfacegan"))
        .arg("models")
        .args(args)
        .env_remove("INTERFACEGAN_MODELS")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn a_checkout_holds_every_model_file() {
    let out = models(&["verify"]);
    assert!(out.status.success() && text(&out).contains("all 5 model files verified"), "{}", text(&out));
    let out = models(&["list"]);
    assert!(out.status.success(), "{}", text(&out));
    for name in ["dcgan", "gender", "age", "smile", "dcgan-encoder"] {
        let line = String::from_utf8_lossy(&out.stdout).lines().find(|l| l.starts_with(name)).map(str::to_string);
        assert!(line.is_some_and(|l| l.contains("(checkout)")), "{name}: {}", text(&out));
    }
    let out = models(&["path", "gender"]);
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(Path::new(&path).ends_with("gender-v1.onnx") && Path::new(&path).is_file(), "{}", text(&out));
}

#[test]
fn a_damaged_copy_first_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/models");
    let mut bytes = std::fs::read(fixtures.join("emotion_mini_xception.onnx")).unwrap();
    bytes[100] ^= 0xff;
    std::fs::write(dir.path().join("emotion_mini_xception.onnx"), bytes).unwrap();
    let dir_arg = dir.path().to_str().unwrap();
    let out = models(&["verify", "--models-dir", dir_arg]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(err.contains("1 of 5 model files") && err.contains("emotion_mini_xception.onnx"), "{err}");
    assert!(err.contains("a61c6a5273e379e54802458eab67636a2bd0bd547cd7d2c31234ba86eeb11c35"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let out = models(&["list", "--models-dir", dir_arg]);
    assert!(text(&out).contains("unusable") && !text(&out).contains("(given folder)"), "{}", text(&out));
    let out = models(&["path", "smile", "--models-dir", dir_arg]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let out = models(&["path", "tpu"]);
    assert!(out.status.code() == Some(2) && text(&out).contains("unknown model `tpu`"), "{}", text(&out));
}

/// A server on the loopback address that answers each connection in turn with `replies` (a status
/// line and a body).
fn serve(replies: Vec<(&'static str, Vec<u8>)>) -> String {
    use std::io::Write;
    let answers: Vec<interfacegan_testkit::Answer> = replies
        .into_iter()
        .map(|(status, body)| {
            Box::new(move |_: &str, stream: &mut std::net::TcpStream| {
                let head = interfacegan_testkit::http_head(status, body.len(), "");
                let _ = stream.write_all(head.as_bytes()).and_then(|_| stream.write_all(&body));
            }) as interfacegan_testkit::Answer
        })
        .collect();
    interfacegan_testkit::serve_http(answers).0
}

#[test]
fn fetch_downloads_a_verified_copy_and_names_what_fails() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/models");
    let smile = std::fs::read(fixtures.join("emotion_mini_xception.onnx")).unwrap();
    let url = serve(vec![("200 OK", smile.clone()), ("404 Not Found", Vec::new())]);
    let dir = tempfile::tempdir().unwrap();
    let dir_arg = dir.path().to_str().unwrap();
    let out = models(&["fetch", "smile", "--url", &url, "--models-dir", dir_arg]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(std::fs::read(dir.path().join("emotion_mini_xception.onnx")).unwrap(), smile);
    let out = models(&["list", "--models-dir", dir_arg]);
    assert!(text(&out).contains("(given folder)"), "{}", text(&out));
    let out = models(&["fetch", "gender", "--url", &url, "--models-dir", dir_arg]);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("HTTP 404") && err.contains("gender-v1.onnx") && err.trim().lines().count() == 1, "{err}");
    assert!(!dir.path().join("gender-v1.onnx").exists());
}

#[test]
fn fetch_uses_the_mirror_and_refuses_one_url_for_several_files() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/models");
    let smile = std::fs::read(fixtures.join("emotion_mini_xception.onnx")).unwrap();
    let url = serve(vec![("200 OK", smile.clone())]);
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_interfacegan"))
        .args(["models", "fetch", "smile", "--models-dir", dir.path().to_str().unwrap()])
        .env("INTERFACEGAN_MODELS_MIRROR", url.replace("/file", "/mirror"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(std::fs::read(dir.path().join("emotion_mini_xception.onnx")).unwrap(), smile);
    let out = models(&["fetch", "gender", "age", "--url", "http://127.0.0.1:9/x"]);
    assert!(
        out.status.code() == Some(2) && text(&out).contains("--url names the source of one model"),
        "{}",
        text(&out)
    );
}

#[test]
fn commands_that_load_models_take_models_dir_and_refuse_a_damaged_copy() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/models");
    let mut bytes = std::fs::read(fixtures.join("emotion_mini_xception.onnx")).unwrap();
    bytes[100] ^= 0xff;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("emotion_mini_xception.onnx"), bytes).unwrap();
    let photo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/photos/astronaut_face.png");
    let out = Command::new(env!("CARGO_BIN_EXE_interfacegan"))
        .args(["score", photo.to_str().unwrap(), "-a", "smile", "--models-dir", dir.path().to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("emotion_mini_xception.onnx") && err.contains("sha256") && err.trim().lines().count() == 1,
        "{err}"
    );
    // The same command finds the checkout's good copy without --models-dir.
    let out = Command::new(env!("CARGO_BIN_EXE_interfacegan"))
        .args(["score", photo.to_str().unwrap(), "-a", "smile"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
}
