use crate::IoError;

/// A dense row-major (C order) array with its shape: what a `.npy` file holds.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray<T> {
    shape: Vec<usize>,
    data: Vec<T>,
}

impl<T> NpyArray<T> {
    /// Wraps `data` laid out row-major with `shape`; fails when the lengths disagree.
    pub fn new(shape: Vec<usize>, data: Vec<T>) -> Result<Self, IoError> {
        let expected: usize = shape.iter().product();
        if expected != data.len() {
            return Err(IoError::DataLength { shape, expected, found: data.len() });
        }
        Ok(Self { shape, data })
    }

    /// The extent of each axis.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The values, row-major.
    pub fn data(&self) -> &[T] {
        &self.data
    }

    /// Gives up the values, row-major.
    pub fn into_data(self) -> Vec<T> {
        self.data
    }

    /// Gives up shape and values.
    pub fn into_parts(self) -> (Vec<usize>, Vec<T>) {
        (self.shape, self.data)
    }
}
