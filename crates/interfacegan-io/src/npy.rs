use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use npyz::{DType, Order, TypeChar, WriterBuilder};

use crate::{IoError, NpyArray, write_atomic_with};

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
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// True for an array with no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Counts the bytes the header parser consumes, which gives the data offset.
struct Counting<R> {
    inner: R,
    count: usize,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n;
        Ok(n)
    }
}

fn open(path: &Path) -> Result<(File, u64), IoError> {
    let file = File::open(path).map_err(|e| IoError::os(path, "cannot open", e))?;
    let len = file.metadata().map_err(|e| IoError::os(path, "cannot stat", e))?.len();
    Ok((file, len))
}

fn parse_header(path: &Path, reader: impl Read, file_len: u64) -> Result<NpyHeaderInfo, IoError> {
    let mut counting = Counting { inner: reader, count: 0 };
    let header =
        npyz::NpyHeader::from_reader(&mut counting).map_err(|e| IoError::format(path, format!("bad header ({e})")))?;
    let type_str = match header.dtype() {
        DType::Plain(ts) => ts,
        other => {
            return Err(IoError::Dtype { path: path.to_path_buf(), dtype: other.descr() });
        }
    };
    let element_size = type_str.size_field() as usize;
    let kind = match (type_str.type_char(), element_size) {
        (TypeChar::Float, 4 | 8) => 'f',
        (TypeChar::Int, 1 | 2 | 4 | 8) => 'i',
        (TypeChar::Uint, 1 | 2 | 4 | 8) => 'u',
        _ => return Err(IoError::Dtype { path: path.to_path_buf(), dtype: type_str.to_string() }),
    };
    let shape: Vec<usize> = header.shape().iter().map(|&d| d as usize).collect();
    let info = NpyHeaderInfo {
        shape,
        element_size,
        kind,
        little_endian: type_str.endianness() != npyz::Endianness::Big,
        fortran_order: header.order() == Order::Fortran,
        data_offset: counting.count,
    };
    let needed = info.data_offset as u64 + (info.len() * element_size) as u64;
    if file_len < needed {
        return Err(IoError::format(
            path,
            format!("truncated: shape {:?} needs {needed} bytes, the file has {file_len}", info.shape),
        ));
    }
    Ok(info)
}

/// Reads only the header of a `.npy` file: shape, dtype, order and data offset.
pub fn read_header(path: impl AsRef<Path>) -> Result<NpyHeaderInfo, IoError> {
    let path = path.as_ref();
    let (file, len) = open(path)?;
    parse_header(path, BufReader::new(file), len)
}

fn decode<T: Copy>(
    path: &Path,
    info: &NpyHeaderInfo,
    bytes: &[u8],
    f32_to: impl Fn(f32) -> T,
    f64_to: impl Fn(f64) -> T,
) -> Result<Vec<T>, IoError> {
    let n = info.len();
    let body = &bytes[info.data_offset..info.data_offset + n * info.element_size];
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
    let (mut file, len) = open(path)?;
    let mut bytes = Vec::with_capacity(len as usize);
    file.read_to_end(&mut bytes).map_err(|e| IoError::os(path, "cannot read", e))?;
    let info = parse_header(path, &bytes[..], len)?;
    let data = decode(path, &info, &bytes, f32_to, f64_to)?;
    Ok(NpyArray::new(info.shape, data).expect("decode yields shape.product() values"))
}

/// Reads a float32 or float64 `.npy` file of any rank as `f32` values (float64 is rounded).
/// Integer files (indices, labels) are read too, converted to float.
pub fn read_f32(path: impl AsRef<Path>) -> Result<NpyArray<f32>, IoError> {
    read_with(path.as_ref(), |x| x, |x| x as f32)
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
    let shape: Vec<u64> = array.shape().iter().map(|&d| d as u64).collect();
    write_atomic_with(path.as_ref(), overwrite, |writer| {
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
        file.write(&bytes)?;
        Ok(Self { file, expected: shape.iter().product(), written: 0 })
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
        if self.written != self.expected {
            return Err(IoError::Shape {
                path: self.file.path().to_path_buf(),
                expected: format!("{} values in all, only {} were written", self.expected, self.written),
                found: vec![self.written],
            });
        }
        self.file.commit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_raw(path: &Path, descr: &str, fortran: bool, shape: &str, body: &[u8]) {
        let mut header = format!(
            "{{'descr': '{descr}', 'fortran_order': {}, 'shape': {shape}, }}",
            if fortran { "True" } else { "False" }
        );
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(body);
        std::fs::write(path, bytes).unwrap();
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
