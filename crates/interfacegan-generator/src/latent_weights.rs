//! The weights through which a generator reads its latent code, gathered as SeFa (genforce/sefa
//! `factorize_weight`) gathers them: one row per output unit, one column per latent dimension.

use crate::error::GeneratorError;
use crate::load::Architecture;
use crate::models::{dcgan, model_prefix, pggan, stylegan, stylegan2, stylegan3};
use crate::weights::Weights;

/// The latent-reading weights of some layers.
#[derive(Clone, Debug, PartialEq)]
pub struct LatentWeights {
    /// The latent dimension: z for DCGAN and PGGAN, w for StyleGAN.
    pub dim: usize,
    /// The layers (W+ indices for StyleGAN, `[0]` otherwise) the blocks belong to.
    pub layers: Vec<usize>,
    /// One block per layer: the tensor's key, and its rows (row-major `[rows, dim]`).
    pub blocks: Vec<(String, Vec<f32>)>,
}

/// The weights of `architecture` in `weights` that read the latent code into `layers` (all of them
/// when `None`): DCGAN's first transposed convolution and PGGAN's first layer (a dense layer
/// written as a 4x4 convolution), one row per output channel and kernel position (their only
/// layer: 0); StyleGAN's style-modulation dense weights, StyleGAN2's affine layers (any layout the
/// loader reads) and StyleGAN3's (W+ index 0: the input's transform, left out of `all`) of each
/// chosen W+ layer.
pub fn latent_weights(
    weights: &Weights,
    architecture: Architecture,
    layers: Option<&[usize]>,
) -> Result<LatentWeights, GeneratorError> {
    match architecture {
        Architecture::Dcgan => {
            // [z, out, 4, 4]: each (out, ky, kx) reads z through one column.
            let key = format!("{}{}", model_prefix(weights, dcgan::ANCHOR, "DCGAN")?, dcgan::ANCHOR);
            first_layer(weights, &key, layers, 0)
        }
        Architecture::Pggan => {
            // [out, z, 4, 4]: each (out, ky, kx) reads z through one row of the in-axis.
            let key = format!("{}{}", model_prefix(weights, pggan::ANCHOR, "PGGAN")?, pggan::ANCHOR);
            first_layer(weights, &key, layers, 1)
        }
        Architecture::StyleGan => {
            let prefix = model_prefix(weights, stylegan::ANCHOR, "StyleGAN")?;
            let key = |i: usize| format!("{prefix}synthesis.layer{i}.epilogue.style_mod.dense.linear.weight");
            let keys = (0..).map(key).take_while(|k| weights.contains(k)).collect();
            chosen_rows(weights, keys, layers)
        }
        Architecture::StyleGan2 => {
            let (renamed, config) = stylegan2::nvidia_keys(weights)?;
            chosen_rows(renamed.as_ref().unwrap_or(weights), stylegan2_affines(&config), layers)
        }
        Architecture::StyleGan3 => {
            let config = stylegan3::StyleGan3Config::from_modules(weights)?;
            let mut keys = vec!["synthesis.input.affine.weight".to_string()];
            keys.extend(config.layer_names.iter().map(|name| format!("synthesis.{name}.affine.weight")));
            // W+ index 0 turns and shifts the Fourier input through 4 numbers (zero at NVIDIA's
            // initialisation): geometry, not a style, so `all` means the synthesis layers' styles.
            let styles: Vec<usize> = (1..keys.len()).collect();
            chosen_rows(weights, keys, Some(layers.unwrap_or(&styles)))
        }
    }
}

/// The affine (style) layers of a StyleGAN2 in W+ order: each block's convolutions, then the last
/// block's ToRGB for the last index (genforce/sefa's `output{idx // 2}`); the other ToRGB layers
/// share their W+ index with the next block's first convolution and are left out, as SeFa does.
fn stylegan2_affines(config: &stylegan2::StyleGan2Config) -> Vec<String> {
    let mut keys = Vec::new();
    for block in &config.blocks {
        if block.in_channels != 0 {
            keys.push(format!("synthesis.b{}.conv0.affine.weight", block.resolution));
        }
        keys.push(format!("synthesis.b{}.conv1.affine.weight", block.resolution));
    }
    if let Some(last) = config.blocks.last() {
        keys.push(format!("synthesis.b{}.torgb.affine.weight", last.resolution));
    }
    keys
}

/// A 4-D first-layer weight whose axis `latent_axis` (0 or 1) is the latent code, as rows.
fn first_layer(
    weights: &Weights,
    key: &str,
    layers: Option<&[usize]>,
    latent_axis: usize,
) -> Result<LatentWeights, GeneratorError> {
    if let Some(layers) = layers.filter(|l| *l != [0]) {
        return Err(no_such_layers(layers, 1));
    }
    let t = weights.tensor(key)?;
    let [a, b, h, w] = t.shape[..] else {
        return Err(GeneratorError::Config { model: "SeFa direction search", needs: format!("a 4-D `{key}`") });
    };
    let (dim, out) = if latent_axis == 0 { (a, b) } else { (b, a) };
    let mut rows = Vec::with_capacity(t.values.len());
    for o in 0..out {
        for k in 0..h * w {
            for z in 0..dim {
                let (i, j) = if latent_axis == 0 { (z, o) } else { (o, z) };
                rows.push(t.values[(i * b + j) * h * w + k]);
            }
        }
    }
    Ok(LatentWeights { dim, layers: vec![0], blocks: vec![(key.to_string(), rows)] })
}

/// The `[rows, dim]` tensors `keys` (one per W+ layer, in order) of the chosen layers.
fn chosen_rows(
    weights: &Weights,
    keys: Vec<String>,
    layers: Option<&[usize]>,
) -> Result<LatentWeights, GeneratorError> {
    let count = keys.len();
    let layers: Vec<usize> = match layers {
        Some(l) if l.iter().any(|&i| i >= count) => return Err(no_such_layers(l, count)),
        Some(l) => l.to_vec(),
        None => (0..count).collect(),
    };
    let mut dim = 0;
    let mut blocks = Vec::new();
    for &i in &layers {
        let t = weights.tensor(&keys[i])?;
        let [_, d] = t.shape[..] else {
            return Err(GeneratorError::Config {
                model: "SeFa direction search",
                needs: format!("a 2-D `{}`", keys[i]),
            });
        };
        dim = d;
        blocks.push((keys[i].clone(), t.values));
    }
    Ok(LatentWeights { dim, layers, blocks })
}

fn no_such_layers(layers: &[usize], count: usize) -> GeneratorError {
    GeneratorError::Config {
        model: "SeFa direction search",
        needs: format!("layers within 0..{count} (this generator reads its code in {count}), not {layers:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::weights::{FileDtype, WeightTensor};

    fn weights(key: &str, shape: Vec<usize>) -> Weights {
        let values = (0..shape.iter().product::<usize>()).map(|i| i as f32).collect();
        Weights::from_tensors([(key.to_string(), WeightTensor { shape, dtype: FileDtype::F32, values })], "test")
    }

    #[test]
    fn first_layers_give_one_row_per_output_and_kernel_position() {
        // DCGAN [z=2, out=3, 1, 2]: value (z, o, k) = (z * 3 + o) * 2 + k; the row of (o, k) is over z.
        let dcgan = latent_weights(&weights("main.0.weight", vec![2, 3, 1, 2]), Architecture::Dcgan, None).unwrap();
        assert_eq!((dcgan.dim, dcgan.layers.clone()), (2, vec![0]));
        assert_eq!(dcgan.blocks[0].1[..6], [0.0, 6.0, 1.0, 7.0, 2.0, 8.0]);
        // PGGAN [out=3, z=2, 1, 2]: value (o, z, k) = (o * 2 + z) * 2 + k.
        let pggan = latent_weights(&weights("layer0.conv.weight", vec![3, 2, 1, 2]), Architecture::Pggan, None);
        let pggan = pggan.unwrap();
        assert_eq!(pggan.dim, 2);
        assert_eq!(pggan.blocks[0].1[..6], [0.0, 2.0, 1.0, 3.0, 4.0, 6.0]);
        assert_eq!(pggan.blocks[0].1.len(), 12);
    }
}
