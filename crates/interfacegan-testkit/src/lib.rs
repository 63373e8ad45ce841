//! Builders of crafted files shared by the workspace's tests: PyTorch zip checkpoints whose tensors
//! are arbitrary views of arbitrary storages, `.npy` and PNG files whose header lies about their
//! size, and a loopback HTTP server whose answers each test scripts.
//!
//! ```
//! use interfacegan_testkit::{Crafted, claimed_png, zip_state_dict};
//! let bytes: Vec<u8> = [1.0f32, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
//! let checkpoint = zip_state_dict(&[Crafted::plain("w", &[2], &bytes)]);
//! assert_eq!(&checkpoint[..2], b"PK");
//! assert_eq!(&claimed_png(64, 32)[1..4], b"PNG");
//! ```
#![warn(missing_docs)]

use std::io::Write;

/// One tensor of a crafted checkpoint: a view (`shape`, `stride`) of its own float storage of
/// `numel` elements, whose bytes are `data` (compressed with `method`).
#[derive(Clone, Debug)]
pub struct Crafted<'a> {
    /// The state dict's key.
    pub key: String,
    /// The view's shape.
    pub shape: Vec<usize>,
    /// The view's strides, in elements.
    pub stride: Vec<usize>,
    /// Elements the storage declares.
    pub numel: usize,
    /// The storage's bytes as stored in the zip entry.
    pub data: &'a [u8],
    /// How the zip entry is compressed.
    pub method: zip::CompressionMethod,
}

impl<'a> Crafted<'a> {
    /// A contiguous, stored tensor over `data` (little-endian `f32`).
    pub fn plain(key: &str, shape: &[usize], data: &'a [u8]) -> Self {
        let mut stride = vec![1; shape.len()];
        for d in (0..shape.len().saturating_sub(1)).rev() {
            stride[d] = stride[d + 1] * shape[d + 1];
        }
        let numel = data.len() / 4;
        Self { key: key.into(), shape: shape.to_vec(), stride, numel, data, method: zip::CompressionMethod::Stored }
    }
}

/// A zip checkpoint `{key: tensor, ...}` as `torch.save` writes one (pickle protocol 2, one
/// storage entry per tensor).
pub fn zip_state_dict(tensors: &[Crafted]) -> Vec<u8> {
    let text = |s: &str| [&[b'X'][..], &(s.len() as u32).to_le_bytes(), s.as_bytes()].concat();
    let int = |v: usize| [&[b'J'][..], &i32::try_from(v).expect("an i32").to_le_bytes()].concat();
    let ints = |v: &[usize]| [&b"("[..], &v.iter().flat_map(|&x| int(x)).collect::<Vec<_>>(), b"t"].concat();
    let mut pickle = b"\x80\x02}(".to_vec();
    for (i, t) in tensors.iter().enumerate() {
        pickle.extend(
            [
                &text(&t.key)[..],
                b"ctorch._utils\n_rebuild_tensor_v2\n((",
                &text("storage"),
                b"ctorch\nFloatStorage\n",
                &text(&i.to_string()),
                &text("cpu"),
                &int(t.numel),
                b"tQK\x00",
                &ints(&t.shape),
                &ints(&t.stride),
                b"\x89ccollections\nOrderedDict\n)RtR",
            ]
            .concat(),
        );
    }
    pickle.extend(b"u.");
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("archive/data.pkl", stored).expect("in memory");
    zip.write_all(&pickle).expect("in memory");
    for (i, t) in tensors.iter().enumerate() {
        zip.start_file(format!("archive/data/{i}"), stored.compression_method(t.method)).expect("in memory");
        zip.write_all(t.data).expect("in memory");
    }
    zip.finish().expect("in memory").into_inner()
}

/// A zip archive of `files` (name, content), deflated as a Python wheel's members are.
pub fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let deflated = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in files {
        zip.start_file(*name, deflated).expect("in memory");
        zip.write_all(content).expect("in memory");
    }
    zip.finish().expect("in memory").into_inner()
}

/// A checkpoint of one tensor `w`: a view `shape`/`stride` of `numel` floats stored in `data`.
pub fn zip_checkpoint(
    shape: [usize; 2],
    stride: [usize; 2],
    numel: usize,
    data: &[u8],
    method: zip::CompressionMethod,
) -> Vec<u8> {
    zip_state_dict(&[Crafted { key: "w".into(), shape: shape.to_vec(), stride: stride.to_vec(), numel, data, method }])
}

/// A version 1.0 `.npy` file whose header declares `descr`, `fortran_order` and `shape` as given
/// (the shape as Python writes it, e.g. `"(2, 3)"`, so tests can declare any size), then `body`.
pub fn npy_bytes(descr: &str, fortran_order: bool, shape: &str, body: &[u8]) -> Vec<u8> {
    let order = if fortran_order { "True" } else { "False" };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}");
    // numpy pads the header with spaces so that the data starts on a 64-byte boundary.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(body);
    bytes
}

/// A 1 x 1 RGB PNG whose header claims `width x height` pixels (with a valid checksum).
pub fn claimed_png(width: u32, height: u32) -> Vec<u8> {
    let mut png = Vec::new();
    let encoder = image::codecs::png::PngEncoder::new(&mut png);
    image::ImageEncoder::write_image(encoder, &[0u8; 3], 1, 1, image::ExtendedColorType::Rgb8).expect("in memory");
    // The IHDR's width and height are bytes 16..24, its CRC (of bytes 12..29) 29..33.
    png[16..20].copy_from_slice(&width.to_be_bytes());
    png[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32fast::hash(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

/// How a [`serve_http`] server answers one connection: given the request's head (request line
/// and headers) and the connection.
pub type Answer = Box<dyn FnOnce(&str, &mut std::net::TcpStream) + Send>;

/// An HTTP/1.1 server on the loopback address that answers its connections in turn, each with
/// the next of `answers`, then stops. Returns its URL (`http://127.0.0.1:PORT/file`) and the
/// request heads it received, for tests of code that downloads.
pub fn serve_http(answers: Vec<Answer>) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::Read;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let url = format!("http://{}/file", listener.local_addr().expect("bound"));
    let requests = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = std::sync::Arc::clone(&requests);
    std::thread::spawn(move || {
        for (answer, stream) in answers.into_iter().zip(listener.incoming()) {
            let Ok(mut stream) = stream else { continue };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let head = String::from_utf8_lossy(&head).into_owned();
            seen.lock().expect("not poisoned").push(head.clone());
            answer(&head, &mut stream);
        }
    });
    (url, requests)
}

/// A response head: status line (`"200 OK"`), `Content-Length`, the `extra` header lines (each
/// ending in `\r\n`) and `Connection: close`.
pub fn http_head(status: &str, content_length: usize, extra: &str) -> String {
    format!("HTTP/1.1 {status}\r\nContent-Length: {content_length}\r\n{extra}Connection: close\r\n\r\n")
}
