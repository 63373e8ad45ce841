use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use crate::{IoError, read_header};

/// A `[N, D]` little-endian float32 C-order `.npy` matrix, memory-mapped: rows are read from the
/// page cache on demand, so a large code file costs only the rows that are touched.
///
/// Files in other layouts (float64, big-endian, Fortran order) are read into memory and converted
/// once, so every valid code file works; only the fast path differs.
pub struct MappedMatrix {
    path: PathBuf,
    rows: usize,
    cols: usize,
    storage: Storage,
}

enum Storage {
    // The file stays open beside its map: batches of rows are read from it directly.
    Mapped { map: Mmap, file: File, offset: usize },
    Owned(Vec<f32>),
}

impl MappedMatrix {
    /// Opens `path`, which must hold a 2-D float array (`[N, D]`).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, IoError> {
        let path = path.as_ref();
        let info = read_header(path)?;
        if info.shape.len() != 2 {
            return Err(IoError::Shape {
                path: path.to_path_buf(),
                expected: "a 2-D array [N, D]".into(),
                found: info.shape,
            });
        }
        let (rows, cols) = (info.shape[0], info.shape[1]);
        let aligned = info.data_offset % std::mem::align_of::<f32>() == 0;
        let storage = if info.element_size == 4
            && info.little_endian
            && !info.fortran_order
            && aligned
            && cfg!(target_endian = "little")
        {
            let file = File::open(path).map_err(|e| IoError::os(path, "cannot open", e))?;
            // SAFETY: the map is read-only; a file truncated underneath us by another process would
            // fault, which is the documented hazard of any memory map. We never write through it.
            let map = unsafe { Mmap::map(&file) }.map_err(|e| IoError::os(path, "cannot memory-map", e))?;
            Storage::Mapped { map, file, offset: info.data_offset }
        } else {
            Storage::Owned(crate::read_f32(path)?.into_data())
        };
        Ok(Self { path: path.to_path_buf(), rows, cols, storage })
    }

    /// Builds a matrix from values already in memory (row-major `rows x cols`).
    pub fn from_vec(rows: usize, cols: usize, data: Vec<f32>) -> Result<Self, IoError> {
        if data.len() != rows * cols {
            return Err(IoError::DataLength { shape: vec![rows, cols], expected: rows * cols, found: data.len() });
        }
        Ok(Self { path: PathBuf::from("<memory>"), rows, cols, storage: Storage::Owned(data) })
    }

    /// The file this matrix came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of rows (N).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns (D).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// All values, row-major.
    pub fn as_slice(&self) -> &[f32] {
        match &self.storage {
            Storage::Mapped { map, offset, .. } => {
                let bytes = &map[*offset..*offset + self.rows * self.cols * 4];
                // SAFETY: the offset is 4-byte aligned (checked in `open`), the map is page aligned,
                // the length is a multiple of 4 and every bit pattern is a valid f32.
                unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<f32>(), self.rows * self.cols) }
            }
            Storage::Owned(v) => v,
        }
    }

    /// Copies the rows `indices` into `out` (`indices.len() x cols`, row-major). From a mapped
    /// file each run of consecutive indices is one read: far cheaper than touching scattered rows
    /// through the map, where every row costs a page fault (and every mapped page a share of the
    /// unmapping).
    pub fn read_rows(&self, indices: &[usize], out: &mut [f32]) -> Result<(), IoError> {
        let cols = self.cols;
        if out.len() != indices.len() * cols {
            return Err(IoError::DataLength {
                shape: vec![indices.len(), cols],
                expected: indices.len() * cols,
                found: out.len(),
            });
        }
        if let Some(&i) = indices.iter().find(|&&i| i >= self.rows) {
            return Err(IoError::Shape {
                path: self.path.clone(),
                expected: format!("row {i} asked for, but the file holds {} rows", self.rows),
                found: vec![self.rows, cols],
            });
        }
        match &self.storage {
            #[cfg(unix)]
            Storage::Mapped { file, offset, .. } => {
                use std::os::unix::fs::FileExt;
                let mut k = 0;
                while k < indices.len() {
                    let first = indices[k];
                    let mut run = 1;
                    while k + run < indices.len() && indices[k + run] == first + run {
                        run += 1;
                    }
                    let values = &mut out[k * cols..(k + run) * cols];
                    // SAFETY: any bytes are a valid f32 and the file's values are little-endian
                    // f32 (checked in `open`) on a little-endian machine.
                    let bytes = unsafe {
                        std::slice::from_raw_parts_mut(values.as_mut_ptr().cast::<u8>(), std::mem::size_of_val(values))
                    };
                    let position = (offset + first * cols * 4) as u64;
                    file.read_exact_at(bytes, position).map_err(|e| IoError::os(&self.path, "cannot read rows", e))?;
                    k += run;
                }
            }
            _ => {
                for (dst, &i) in out.chunks_exact_mut(cols.max(1)).zip(indices) {
                    dst.copy_from_slice(self.row(i));
                }
            }
        }
        Ok(())
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.as_slice()[i * self.cols..(i + 1) * self.cols]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{NpyArray, write_npy};

    #[test]
    fn maps_f32_and_converts_f64() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.npy");
        let values: Vec<f32> = (0..6).map(|i| i as f32).collect();
        write_npy(&a, &NpyArray::new(vec![3, 2], values.clone()).unwrap(), false).unwrap();
        let m = MappedMatrix::open(&a).unwrap();
        assert!(matches!(m.storage, Storage::Mapped { .. }));
        assert_eq!((m.rows(), m.cols()), (3, 2));
        assert_eq!(m.row(2), &[4.0, 5.0]);
        let b = dir.path().join("b.npy");
        let wide: Vec<f64> = values.iter().map(|&x| x as f64).collect();
        write_npy(&b, &NpyArray::new(vec![3, 2], wide).unwrap(), false).unwrap();
        let m = MappedMatrix::open(&b).unwrap();
        assert_eq!(m.as_slice(), &values[..]);
    }

    #[test]
    fn reads_rows_in_any_order_from_both_storages() {
        let dir = tempfile::tempdir().unwrap();
        let values: Vec<f32> = (0..40).map(|i| i as f32).collect();
        let a = dir.path().join("a.npy");
        write_npy(&a, &NpyArray::new(vec![10, 4], values.clone()).unwrap(), false).unwrap();
        let b = dir.path().join("b.npy");
        let wide: Vec<f64> = values.iter().map(|&x| x as f64).collect();
        write_npy(&b, &NpyArray::new(vec![10, 4], wide).unwrap(), false).unwrap();
        // Runs of consecutive rows, a jump back and a repeat.
        let indices = [2, 3, 4, 9, 0, 1, 1];
        for path in [&a, &b] {
            let m = MappedMatrix::open(path).unwrap();
            let mut out = vec![0f32; indices.len() * 4];
            m.read_rows(&indices, &mut out).unwrap();
            for (row, &i) in out.chunks_exact(4).zip(&indices) {
                assert_eq!(row, m.row(i));
            }
            let err = m.read_rows(&[10], &mut [0f32; 4]).unwrap_err().to_string();
            assert!(err.contains("row 10") && err.contains("10 rows"), "{err}");
            assert!(m.read_rows(&[1], &mut [0f32; 3]).is_err());
        }
    }

    #[test]
    fn rejects_other_ranks() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("v.npy");
        write_npy(&a, &NpyArray::new(vec![4], vec![0f32; 4]).unwrap(), false).unwrap();
        let err = MappedMatrix::open(&a).err().unwrap().to_string();
        assert!(err.contains("v.npy") && err.contains("[4]"), "{err}");
    }
}
