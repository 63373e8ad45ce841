use std::fs::File;
use std::io::Read;
use std::path::Path;

use npyz::WriterBuilder;

use crate::{IoError, NpyArray};

/// The largest `.npy` header this reader accepts. numpy itself refuses headers over 10 000 bytes
/// unless told otherwise; a header is a short Python dict literal.
pub const MAX_HEADER_BYTES: usize = 65_536;
/// The most axes an array may have (numpy 2 allows 64).
pub const MAX_RANK: usize = 64;

/// What a `.npy` header says about the array that follows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyHeaderInfo {
    /// The extent of each axis.
    pub shape: Vec<usize>,
    /// Bytes per element: 4 for float32, 8 for float64 (1 to 8 for integers).
    pub element_size: usize,
    /// The element kind: 'f' (float), 'i' (signed integer) or 'u' (unsigned integer).
    pub kind: char,
    /// True when the values are stored little-endian.
    pub little_endian: bool,
    /// True when the values are stored in Fortran (column-major) order.
    pub fortran_order: bool,
    /// Byte offset of the first value in the file.
    pub data_offset: usize,
}

impl NpyHeaderInfo {
    /// Number of elements (the header parser checked that the product fits).
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// True for an array with no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of the data section.
    pub fn data_bytes(&self) -> usize {
        self.len() * self.element_size
    }
}

fn open(path: &Path) -> Result<(File, u64), IoError> {
    let file = File::open(path).map_err(|e| IoError::os(path, "cannot open", e))?;
    let len = file.metadata().map_err(|e| IoError::os(path, "cannot stat", e))?.len();
    Ok((file, len))
}

/// Parses the header at the start of `bytes` (which may hold only a prefix of the file) and checks
/// every size it declares against `file_len`, with checked arithmetic, before anything is allocated.
fn parse_header(path: &Path, bytes: &[u8], file_len: u64) -> Result<NpyHeaderInfo, IoError> {
    let bad = |reason: String| IoError::format(path, reason);
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(bad("bad header (no NUMPY magic)".into()));
    }
    let (length, start) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 if bytes.len() >= 12 => (u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize, 12),
        major => return Err(bad(format!("bad header (format version {major}.{} is unknown)", bytes[7]))),
    };
    if length > MAX_HEADER_BYTES {
        return Err(bad(format!("header of {length} bytes is over the limit of {MAX_HEADER_BYTES}")));
    }
    let text = bytes
        .get(start..start + length)
        .ok_or_else(|| bad(format!("truncated: the header declares {length} bytes, the file has fewer")))?;
    let text = std::str::from_utf8(text)
        .ok()
        .filter(|t| t.is_ascii())
        .ok_or_else(|| bad("bad header (not ASCII text)".into()))?;
    let dict = HeaderDict::parse(text).map_err(|e| bad(format!("bad header ({e})")))?;
    let descr = dict.descr.ok_or_else(|| bad("bad header (no 'descr')".into()))?;
    let fortran_order = dict.fortran_order.ok_or_else(|| bad("bad header (no 'fortran_order')".into()))?;
    let shape = dict.shape.ok_or_else(|| bad("bad header (no 'shape')".into()))?;
    let (kind, element_size, little_endian) =
        parse_descr(descr).ok_or_else(|| IoError::Dtype { path: path.to_path_buf(), dtype: descr.to_string() })?;
    let info = NpyHeaderInfo { shape, element_size, kind, little_endian, fortran_order, data_offset: start + length };
    let needed = info
        .shape
        .iter()
        .try_fold(element_size as u64, |acc, &d| acc.checked_mul(d as u64))
        .and_then(|data| data.checked_add(info.data_offset as u64))
        .filter(|&n| usize::try_from(n).is_ok());
    match needed {
        Some(needed) if needed <= file_len => Ok(info),
        Some(needed) => {
            Err(bad(format!("truncated: shape {:?} needs {needed} bytes, the file has {file_len}", info.shape)))
        }
        None => Err(bad(format!("shape {:?} of {element_size}-byte values overflows any file size", info.shape))),
    }
}

/// `<f4`, `>i2`, `|u1`, `=f8`: kind, size and byte order of the plain numeric types read here.
fn parse_descr(descr: &str) -> Option<(char, usize, bool)> {
    let mut chars = descr.chars();
    let order = chars.next()?;
    let kind = chars.next()?;
    let size: usize = chars.as_str().parse().ok()?;
    let little = match order {
        '<' | '|' => true,
        '=' => cfg!(target_endian = "little"),
        '>' => false,
        _ => return None,
    };
    match (kind, size) {
        ('f', 4 | 8) | ('i' | 'u', 1 | 2 | 4 | 8) => Some((kind, size, little)),
        _ => None,
    }
}

/// The three entries of a header dict, e.g. `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }`.
/// Parsed without recursion: any other value (nested tuples, lists of fields) is refused.
#[derive(Default)]
struct HeaderDict<'a> {
    descr: Option<&'a str>,
    fortran_order: Option<bool>,
    shape: Option<Vec<usize>>,
}

impl<'a> HeaderDict<'a> {
    fn parse(text: &'a str) -> Result<Self, String> {
        let mut rest = text.trim_end_matches(['\n', ' ', '\0']).trim_start();
        rest = rest.strip_prefix('{').ok_or("not a dict literal")?;
        let mut dict = HeaderDict::default();
        loop {
            rest = rest.trim_start();
            if let Some(after) = rest.strip_prefix('}') {
                return if after.trim().is_empty() { Ok(dict) } else { Err("text after the dict".into()) };
            }
            let (key, after) = quoted(rest).ok_or("a key that is not a quoted string")?;
            rest = after.trim_start().strip_prefix(':').ok_or("no ':' after a key")?.trim_start();
            rest = match key {
                "descr" => {
                    let (value, after) = quoted(rest).ok_or("'descr' is not a plain type string")?;
                    dict.descr = Some(value);
                    after
                }
                "fortran_order" => {
                    let (value, after) = if let Some(a) = rest.strip_prefix("True") {
                        (true, a)
                    } else if let Some(a) = rest.strip_prefix("False") {
                        (false, a)
                    } else {
                        return Err("'fortran_order' is not True or False".into());
                    };
                    dict.fortran_order = Some(value);
                    after
                }
                "shape" => {
                    let (shape, after) = shape_tuple(rest)?;
                    dict.shape = Some(shape);
                    after
                }
                other => return Err(format!("unknown key '{other}'")),
            };
            rest = rest.trim_start();
            match rest.strip_prefix(',') {
                Some(after) => rest = after,
                None if rest.starts_with('}') => {}
                None => return Err("no ',' between entries".into()),
            }
        }
    }
}

/// A `'...'` or `"..."` string without escapes, and the text after it.
fn quoted(text: &str) -> Option<(&str, &str)> {
    let quote = text.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let body = &text[1..];
    let end = body.find(quote)?;
    let value = &body[..end];
    (!value.contains('\\')).then_some((value, &body[end + 1..]))
}

/// `(a, b, ...)` of non-negative integers (a trailing comma allowed, `()` a scalar), and the text after it.
fn shape_tuple(text: &str) -> Result<(Vec<usize>, &str), String> {
    let body = text.strip_prefix('(').ok_or("'shape' is not a tuple")?;
    let end = body.find(')').ok_or("'shape' tuple is not closed")?;
    let items = body[..end].trim();
    let items = items.strip_suffix(',').unwrap_or(items);
    let mut shape = Vec::new();
    for item in items.split(',').map(str::trim).filter(|_| !items.is_empty()) {
        let extent: usize = item
            .strip_suffix('L')
            .unwrap_or(item)
            .parse()
            .map_err(|_| format!("'shape' entry `{item}` is not a size"))?;
        shape.push(extent);
        if shape.len() > MAX_RANK {
            return Err(format!("more than {MAX_RANK} axes"));
        }
    }
    Ok((shape, &body[end + 1..]))
}

/// Reads only the header of a `.npy` file: shape, dtype, order and data offset.
pub fn read_header(path: impl AsRef<Path>) -> Result<NpyHeaderInfo, IoError> {
    let path = path.as_ref();
    let (file, len) = open(path)?;
    let mut prefix = Vec::new();
    file.take(12 + MAX_HEADER_BYTES as u64)
        .read_to_end(&mut prefix)
        .map_err(|e| IoError::os(path, "cannot read", e))?;
    parse_header(path, &prefix, len)
}

fn decode<T: Copy>(
    path: &Path,
    info: &NpyHeaderInfo,
    bytes: &[u8],
    f32_to: impl Fn(f32) -> T,
    f64_to: impl Fn(f64) -> T,
) -> Result<Vec<T>, IoError> {
    let body = &bytes[info.data_offset..info.data_offset + info.data_bytes()];
    let little = info.little_endian;
    let int = |c: &[u8]| -> f64 {
        let mut b = [0u8; 8];
        let k = c.len();
        if little {
            b[..k].copy_from_slice(c);
        } else {
            for (dst, src) in b[..k].iter_mut().zip(c.iter().rev()) {
                *dst = *src;
            }
        }
        let raw = u64::from_le_bytes(b);
        if info.kind == 'i' {
            let shift = 64 - 8 * k as u32;
            (((raw << shift) as i64) >> shift) as f64
        } else {
            raw as f64
        }
    };
    let values: Vec<T> = match (info.kind, info.element_size) {
        ('f', 4) => body
            .chunks_exact(4)
            .map(|c| {
                let b: [u8; 4] = c.try_into().unwrap();
                f32_to(if little { f32::from_le_bytes(b) } else { f32::from_be_bytes(b) })
            })
            .collect(),
        ('f', 8) => body
            .chunks_exact(8)
            .map(|c| {
                let b: [u8; 8] = c.try_into().unwrap();
                f64_to(if little { f64::from_le_bytes(b) } else { f64::from_be_bytes(b) })
            })
            .collect(),
        ('i' | 'u', size) => body.chunks_exact(size).map(|c| f64_to(int(c))).collect(),
        _ => return Err(IoError::format(path, "unsupported element type")),
    };
    Ok(if info.fortran_order { fortran_to_c(&info.shape, values) } else { values })
}

/// Reorders column-major values into row-major order for the same shape.
fn fortran_to_c<T: Copy>(shape: &[usize], values: Vec<T>) -> Vec<T> {
    if shape.len() < 2 {
        return values;
    }
    let n = values.len();
    let mut out = Vec::with_capacity(n);
    let mut index = vec![0usize; shape.len()];
    for _ in 0..n {
        // Fortran offset of the current row-major multi-index.
        let mut offset = 0;
        let mut stride = 1;
        for (axis, &i) in index.iter().enumerate() {
            offset += i * stride;
            stride *= shape[axis];
        }
        out.push(values[offset]);
        for axis in (0..shape.len()).rev() {
            index[axis] += 1;
            if index[axis] < shape[axis] {
                break;
            }
            index[axis] = 0;
        }
    }
    out
}

fn read_with<T: Copy>(
    path: &Path,
    f32_to: impl Fn(f32) -> T,
    f64_to: impl Fn(f64) -> T,
) -> Result<NpyArray<T>, IoError> {
    let (file, len) = open(path)?;
    let mut bytes = Vec::new();
    // The file's length bounds the read; a file that grows meanwhile is read only as far as it was.
    file.take(len).read_to_end(&mut bytes).map_err(|e| IoError::os(path, "cannot read", e))?;
    parse_with(path, &bytes, f32_to, f64_to)
}

fn parse_with<T: Copy>(
    path: &Path,
    bytes: &[u8],
    f32_to: impl Fn(f32) -> T,
    f64_to: impl Fn(f64) -> T,
) -> Result<NpyArray<T>, IoError> {
    let info = parse_header(path, bytes, bytes.len() as u64)?;
    let data = decode(path, &info, bytes, f32_to, f64_to)?;
    Ok(NpyArray::new(info.shape, data).expect("decode yields shape.product() values"))
}

/// Reads a float32 or float64 `.npy` file of any rank as `f32` values (float64 is rounded).
/// Integer files (indices, labels) are read too, converted to float.
pub fn read_f32(path: impl AsRef<Path>) -> Result<NpyArray<f32>, IoError> {
    read_with(path.as_ref(), |x| x, |x| x as f32)
}

/// Parses the bytes of a whole `.npy` file (read by the caller) as `f32` values, like [`read_f32`];
/// `source` names the bytes in errors.
pub fn parse_f32(bytes: &[u8], source: impl AsRef<Path>) -> Result<NpyArray<f32>, IoError> {
    parse_with(source.as_ref(), bytes, |x| x, |x| x as f32)
}

/// Reads a float32 or float64 `.npy` file of any rank as `f64` values (float32 is widened exactly).
pub fn read_f64(path: impl AsRef<Path>) -> Result<NpyArray<f64>, IoError> {
    read_with(path.as_ref(), f64::from, |x| x)
}

/// An element type this crate writes: `f32` (`<f4`), `f64` (`<f8`) or `i64` (`<i8`, for row indices).
pub trait NpyElement: npyz::Serialize + npyz::AutoSerialize + Copy {}
impl NpyElement for f32 {}
impl NpyElement for f64 {}
impl NpyElement for i64 {}

/// Writes `array` as a little-endian C-order `.npy` file, atomically: the data goes to a temporary
/// file beside `path` that is then moved into place. An existing `path` is kept, and an
/// [`IoError::AlreadyExists`] returned, unless `overwrite` is true.
pub fn write_npy<T: NpyElement>(path: impl AsRef<Path>, array: &NpyArray<T>, overwrite: bool) -> Result<(), IoError> {
    let mut set = crate::OutputSet::new(overwrite);
    stage_npy(&mut set, path, array)?;
    set.commit()
}

/// Stages `array` as the future `.npy` content of `path` in `set` (see [`write_npy`]).
pub fn stage_npy<T: NpyElement>(
    set: &mut crate::OutputSet,
    path: impl AsRef<Path>,
    array: &NpyArray<T>,
) -> Result<(), IoError> {
    let shape: Vec<u64> = array.shape().iter().map(|&d| d as u64).collect();
    set.stage_with(path.as_ref(), |writer| {
        let mut npy = npyz::WriteOptions::new().default_dtype().shape(&shape).writer(writer).begin_nd()?;
        npy.extend(array.data().iter().copied())?;
        npy.finish()
    })
}

/// A float32 `.npy` file written in chunks of rows (codes or images streamed to disk), under a
/// temporary name until [`NpyStreamWriter::finish`] checks that every value arrived.
pub struct NpyStreamWriter {
    file: crate::atomic::StreamingFile,
    expected: usize,
    written: usize,
}

impl NpyStreamWriter {
    /// Starts a little-endian C-order `<f4` array of `shape`.
    pub fn create(path: impl AsRef<Path>, shape: &[usize], overwrite: bool) -> Result<Self, IoError> {
        let mut file = crate::atomic::StreamingFile::create(path, overwrite)?;
        let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
        let tuple = if dims.len() == 1 { format!("({},)", dims[0]) } else { format!("({})", dims.join(", ")) };
        let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {tuple}, }}");
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
        bytes.extend_from_slice(header.as_bytes());
        let expected =
            shape.iter().try_fold(4usize, |acc, &d| acc.checked_mul(d)).map(|bytes| bytes / 4).ok_or_else(|| {
                IoError::Shape {
                    path: file.path().to_path_buf(),
                    expected: "an array whose byte count fits in memory addresses".into(),
                    found: shape.to_vec(),
                }
            })?;
        file.write(&bytes)?;
        Ok(Self { file, expected, written: 0 })
    }

    /// Appends values (row-major).
    pub fn push(&mut self, values: &[f32]) -> Result<(), IoError> {
        if self.written + values.len() > self.expected {
            return Err(IoError::Shape {
                path: self.file.path().to_path_buf(),
                expected: format!("{} values in all, not {}", self.expected, self.written + values.len()),
                found: vec![self.written + values.len()],
            });
        }
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.file.write(&bytes)?;
        self.written += values.len();
        Ok(())
    }

    /// Checks the count and moves the file into place.
    pub fn finish(self) -> Result<(), IoError> {
        self.check_complete()?;
        self.file.commit()
    }

    /// Checks the count and syncs the file, ready for an [`crate::OutputSet`].
    pub fn stage(self) -> Result<crate::StagedFile, IoError> {
        self.check_complete()?;
        self.file.stage()
    }

    fn check_complete(&self) -> Result<(), IoError> {
        if self.written != self.expected {
            return Err(IoError::Shape {
                path: self.file.path().to_path_buf(),
                expected: format!("{} values in all, only {} were written", self.expected, self.written),
                found: vec![self.written],
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_raw(path: &Path, descr: &str, fortran: bool, shape: &str, body: &[u8]) {
        std::fs::write(path, interfacegan_testkit::npy_bytes(descr, fortran, shape, body)).unwrap();
    }

    #[test]
    fn streamed_array_reads_back_and_incomplete_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.npy");
        let mut w = NpyStreamWriter::create(&p, &[3, 2], false).unwrap();
        w.push(&[1.0, 2.0]).unwrap();
        w.push(&[3.0, 4.0, 5.0, 6.0]).unwrap();
        assert!(!p.exists());
        w.finish().unwrap();
        let back = read_f32(&p).unwrap();
        assert_eq!(back.shape(), &[3, 2]);
        assert_eq!(back.data(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let q = dir.path().join("short.npy");
        let mut w = NpyStreamWriter::create(&q, &[4], false).unwrap();
        w.push(&[1.0]).unwrap();
        assert!(w.finish().is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary left behind");
        assert!(NpyStreamWriter::create(&p, &[1], false).is_err(), "existing file kept");
    }

    #[test]
    fn round_trip_f32_and_f64_any_rank() {
        let dir = tempfile::tempdir().unwrap();
        let a = NpyArray::new(vec![2, 3, 2], (0..12).map(|i| i as f32 * 0.5).collect()).unwrap();
        let p = dir.path().join("a.npy");
        write_npy(&p, &a, false).unwrap();
        assert_eq!(read_f32(&p).unwrap(), a);
        let b = NpyArray::new(vec![4], vec![1.0f64 / 3.0, -2.0, 0.0, 1e300]).unwrap();
        let q = dir.path().join("b.npy");
        write_npy(&q, &b, false).unwrap();
        assert_eq!(read_f64(&q).unwrap(), b);
        let header = read_header(&q).unwrap();
        assert_eq!(header.element_size, 8);
        assert_eq!(header.shape, vec![4]);
    }

    #[test]
    fn reads_big_endian_and_fortran_order() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.npy");
        // Column-major [2, 3]: columns (1,4) (2,5) (3,6).
        let body: Vec<u8> = [1.0f64, 4.0, 2.0, 5.0, 3.0, 6.0].iter().flat_map(|x| x.to_be_bytes()).collect();
        write_raw(&p, ">f8", true, "(2, 3)", &body);
        let a = read_f32(&p).unwrap();
        assert_eq!(a.shape(), &[2, 3]);
        assert_eq!(a.data(), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }

    #[test]
    fn wrong_dtype_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.npy");
        write_raw(&p, "<c8", false, "(2,)", &[0u8; 16]);
        let err = read_f32(&p).unwrap_err().to_string();
        assert!(err.contains("c.npy") && err.contains("<c8"), "{err}");
    }

    #[test]
    fn integers_read_as_floats() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("i.npy");
        let body: Vec<u8> = [-3i16, 7, 300].iter().flat_map(|v| v.to_be_bytes()).collect();
        write_raw(&p, ">i2", false, "(3,)", &body);
        assert_eq!(read_f64(&p).unwrap().data(), &[-3.0, 7.0, 300.0]);
        let q = dir.path().join("idx.npy");
        write_npy(&q, &NpyArray::new(vec![2], vec![5i64, 1 << 40]).unwrap(), false).unwrap();
        assert_eq!(read_f64(&q).unwrap().data(), &[5.0, (1u64 << 40) as f64]);
    }

    #[test]
    fn truncated_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.npy");
        write_raw(&p, "<f4", false, "(10, 2)", &[0u8; 12]);
        let err = read_f32(&p).unwrap_err().to_string();
        assert!(err.contains("t.npy") && err.contains("truncated"), "{err}");
    }

    #[test]
    fn declared_sizes_that_overflow_or_exceed_the_file_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("huge.npy");
        // (2^62 + 4) float32 values: the byte count wraps a 64-bit product.
        write_raw(&p, "<f4", false, "(4611686018427387908,)", &[0u8; 16]);
        let err = read_f32(&p).unwrap_err().to_string();
        assert!(err.contains("huge.npy") && err.contains("overflows"), "{err}");
        write_raw(&p, "<f8", false, "(4294967296, 4294967296)", &[0u8; 16]);
        assert!(read_header(&p).unwrap_err().to_string().contains("overflows"));
        write_raw(&p, "<f4", false, "(1000000, 1000000)", &[0u8; 16]);
        assert!(read_f32(&p).unwrap_err().to_string().contains("truncated"));
        // A version 2 header declaring 4 GiB of header text.
        let mut bytes = b"\x93NUMPY\x02\x00".to_vec();
        bytes.extend_from_slice(&u32::MAX.to_le_bytes());
        bytes.extend_from_slice(b"{'descr': '<f4'");
        std::fs::write(&p, bytes).unwrap();
        let err = read_f32(&p).unwrap_err().to_string();
        assert!(err.contains("over the limit"), "{err}");
    }

    #[test]
    fn headers_other_than_plain_dicts_are_refused_without_recursion() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("h.npy");
        let nested = format!("{}3{}", "(".repeat(5000), ")".repeat(5000));
        for (descr, shape, expect) in [
            ("<f4", nested.as_str(), "not a size"),
            ("<f4", "(3, -1)", "not a size"),
            ("<f4", "[3]", "not a tuple"),
            ("|b1", "(3,)", "|b1"),
            ("<U4", "(3,)", "<U4"),
            ("<f4", &format!("({})", vec!["1"; 65].join(", ")), "axes"),
        ] {
            write_raw(&p, descr, false, shape, &[0u8; 64]);
            let err = read_f32(&p).unwrap_err().to_string();
            assert!(err.contains("h.npy") && err.contains(expect), "{shape:.40}: {err}");
        }
        write_raw(&p, "|u1", false, "()", &[7]);
        let scalar = read_f32(&p).unwrap();
        assert_eq!((scalar.shape(), scalar.data()), (&[][..], &[7.0][..]));
        assert_eq!(parse_f32(&std::fs::read(&p).unwrap(), "mem").unwrap(), scalar);
    }

    #[test]
    fn garbage_and_missing_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("g.npy");
        std::fs::write(&p, b"hello world, not numpy").unwrap();
        let err = read_f64(&p).unwrap_err().to_string();
        assert!(err.contains("g.npy") && err.contains("not a valid .npy"), "{err}");
        let missing = dir.path().join("missing.npy");
        let err = read_f64(&missing).unwrap_err().to_string();
        assert!(err.contains("missing.npy") && err.contains("cannot open"), "{err}");
    }
}
