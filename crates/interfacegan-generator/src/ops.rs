//! Tensor helpers shared by the models: host <-> device copies and the few layers burn lacks.

use burn::tensor::{Device, Tensor, TensorData};

use crate::error::GeneratorError;

/// A tensor of shape `shape` from row-major host values.
pub(crate) fn tensor<const D: usize>(values: &[f32], shape: [usize; D], device: &Device) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values.to_vec(), shape), device)
}

/// The values of a tensor, row-major, on the host.
pub(crate) fn to_vec<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, GeneratorError> {
    t.into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .map_err(|e| GeneratorError::ReadBack { reason: format!("{e:?}") })
}

/// `x / sqrt(mean_c(x^2) + eps)` over the channel axis (PGGAN/StyleGAN pixel norm).
pub(crate) fn pixel_norm<const D: usize>(x: Tensor<D>, eps: f64) -> Tensor<D> {
    let norm = x.clone().square().mean_dim(1).add_scalar(eps).sqrt();
    x / norm
}

/// Nearest-neighbour 2x upsampling: `out[i, j] = in[i / 2, j / 2]`.
pub(crate) fn upsample2(x: Tensor<4>) -> Tensor<4> {
    let [n, c, h, w] = x.dims();
    x.reshape([n, c, h, 1, w, 1]).expand([n, c, h, 2, w, 2]).reshape([n, c, 2 * h, 2 * w])
}

/// `lrelu` with PGGAN/StyleGAN's slope 0.2.
pub(crate) fn lrelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    burn::tensor::activation::leaky_relu(x, 0.2)
}

/// A per-channel vector as `[1, C, 1, 1]` for broadcasting over NCHW.
pub(crate) fn channel_vector(values: &[f32], device: &Device) -> Tensor<4> {
    tensor(values, [1, values.len(), 1, 1], device)
}
