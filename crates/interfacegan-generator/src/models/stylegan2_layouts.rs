//! Other StyleGAN2 checkpoint layouts, renamed to NVIDIA's `G_ema.state_dict()` keys so that one
//! implementation ([`StyleGan2`]) runs them all. What a layout does not store (the mapping's
//! learning-rate multiplier, `conv_clamp`) is the value its code hard-wires, stated below.
//!
//! **rosinality** (`rosinality/stylegan2-pytorch`, `.pt` from `train.py` or `convert_weight.py`):
//! `{"g_ema": state_dict, "latent_avg": w_avg, ...}` (`g_ema` preferred over `g`); mapping `style.{1..}` (lr 0.01, `lr_mlp`'s
//! default), `input.input`, `conv1`, `to_rgb1`, `convs.{2k, 2k+1}` (up-sampling, then plain),
//! `to_rgbs.{k}`, `noises.noise_{i}`; conv weights carry a leading batch axis of 1; blur kernels are
//! stored with the up-sampling gain 4 folded in; no `conv_clamp`; the `skip` architecture.
//!
//! **genforce** (genforce/sefa and genforce/genforce `stylegan2_*.pth`): `{"generator_smooth": ..,
//! "generator": ..}` (the smoothed one first, as SeFa loads it); mapping `mapping.dense{i}` (lr 0.01),
//! `truncation.w_avg`, `synthesis.early_layer.const`, `synthesis.layer{i}` (odd layers up-sample, their
//! kernels stored unflipped for a transposed convolution that flips them), `synthesis.output{k}`, the
//! style layers' constant extra bias 1 (NVIDIA stores it in the bias), filters with their gain 4; the
//! `skip` architecture (`origin` and `resnet` are refused), no `conv_clamp`.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::GeneratorError;
use crate::models::stylegan2::{BlockArchitecture, BlockConfig, StyleGan2Config};
use crate::weights::{FileDtype, WeightTensor, Weights};

/// The key that marks a rosinality checkpoint (under `g_ema.` in a full one).
pub(crate) const ROSINALITY_ANCHOR: &str = "conv1.conv.modulation.weight";

/// The key that marks a genforce StyleGAN2 checkpoint.
pub(crate) const GENFORCE_ANCHOR: &str = "synthesis.early_layer.const";

/// Renames a genforce checkpoint and reads its configuration from the tensor shapes.
pub(crate) fn genforce(weights: &Weights) -> Result<(Weights, StyleGan2Config), GeneratorError> {
    // SeFa loads the smoothed generator where a checkpoint has both.
    let mut r = Renamer::new(weights, GENFORCE_ANCHOR, "generator_smooth.", "genforce")?;
    let fail = |reason: String| GeneratorError::Architecture { source_name: weights.source().to_string(), reason };
    let mapping_layers = (0..).take_while(|i| r.has(&format!("mapping.dense{i}.weight"))).count();
    let z_dim = r.shape("mapping.dense0.weight").map_or(0, |s| s[1]);
    let w_dim = r.shape("truncation.w_avg").map_or(0, |s| s[0]);
    let const_shape = r.shape(GENFORCE_ANCHOR).ok_or_else(|| fail(format!("no `{GENFORCE_ANCHOR}`")))?;
    let [1, c4, 4, 4] = const_shape[..] else {
        return Err(fail(format!("{GENFORCE_ANCHOR} has shape {const_shape:?}")));
    };
    for i in 0..mapping_layers {
        r.rename(&format!("mapping.dense{i}.weight"), &format!("mapping.fc{i}.weight"), None)?;
        r.rename(&format!("mapping.dense{i}.bias"), &format!("mapping.fc{i}.bias"), None)?;
    }
    r.rename("truncation.w_avg", "mapping.w_avg", None)?;
    r.rename(GENFORCE_ANCHOR, "synthesis.b4.const", Some(vec![c4, 4, 4]))?;
    r.modulated("synthesis.layer0", "synthesis.b4.conv1", false)?;
    r.modulated("synthesis.output0", "synthesis.b4.torgb", false)?;
    let mut blocks = vec![BlockConfig { resolution: 4, in_channels: 0, out_channels: c4, use_fp16: false }];
    for k in 1.. {
        if !r.has(&format!("synthesis.layer{}.weight", 2 * k)) {
            break;
        }
        let b = format!("synthesis.b{}", 4 << k);
        let output = format!("synthesis.output{k}");
        if !r.has(&format!("{output}.weight")) {
            return Err(fail(format!("no `{}{output}`: only the `skip` architecture is read", r.prefix)));
        }
        let (cin, cout) =
            (blocks[k - 1].out_channels, r.shape(&format!("synthesis.layer{}.weight", 2 * k)).map_or(0, |s| s[0]));
        r.modulated(&format!("synthesis.layer{}", 2 * k - 1), &format!("{b}.conv0"), true)?;
        r.modulated(&format!("synthesis.layer{}", 2 * k), &format!("{b}.conv1"), false)?;
        r.modulated(&output, &format!("{b}.torgb"), false)?;
        r.filter(&format!("synthesis.layer{}.filter.kernel", 2 * k - 1), &format!("{b}.conv0.resample_filter"))?;
        r.filter("synthesis.upsample.kernel", &format!("{b}.resample_filter"))?;
        blocks.push(BlockConfig { resolution: 4 << k, in_channels: cin, out_channels: cout, use_fp16: false });
    }
    let img_channels = r.out.get("synthesis.b4.torgb.bias").map_or(3, |t| t.values.len());
    let config = hard_wired_config((z_dim, w_dim, img_channels), mapping_layers, blocks);
    r.check_all_used()?;
    Ok((Weights::from_tensors(r.out, weights.source()), config))
}

/// Renames a rosinality checkpoint and reads its configuration from the tensor shapes.
pub(crate) fn rosinality(weights: &Weights) -> Result<(Weights, StyleGan2Config), GeneratorError> {
    // train.py's checkpoints hold `g` beside `g_ema`: the moving average is the generator to run.
    let mut r = Renamer::new(weights, ROSINALITY_ANCHOR, "g_ema.", "rosinality")?;
    let fail = |reason: String| GeneratorError::Architecture { source_name: weights.source().to_string(), reason };
    let mapping_layers = (1..).take_while(|i| r.has(&format!("style.{i}.weight"))).count();
    let w_dim = r.shape("style.1.weight").map_or(0, |s| s[0]);
    let const_shape = r.shape("input.input").ok_or_else(|| fail("no `input.input`".into()))?;
    let [1, c4, 4, 4] = const_shape[..] else { return Err(fail(format!("input.input has shape {const_shape:?}"))) };
    for i in 0..mapping_layers {
        r.rename(&format!("style.{}.weight", i + 1), &format!("mapping.fc{i}.weight"), None)?;
        r.rename(&format!("style.{}.bias", i + 1), &format!("mapping.fc{i}.bias"), None)?;
    }
    r.rename("input.input", "synthesis.b4.const", Some(vec![c4, 4, 4]))?;
    r.styled_conv("conv1", "synthesis.b4.conv1", "noises.noise_0", false)?;
    r.rgb_layer("to_rgb1", "synthesis.b4.torgb")?;
    let mut blocks = vec![BlockConfig { resolution: 4, in_channels: 0, out_channels: c4, use_fp16: false }];
    for k in 0.. {
        if !r.has(&format!("to_rgbs.{k}.conv.weight")) {
            break;
        }
        let res = 8 << k;
        let b = format!("synthesis.b{res}");
        let (cin, cout) =
            (blocks[k].out_channels, r.shape(&format!("convs.{}.conv.weight", 2 * k)).map_or(0, |s| s[1]));
        r.styled_conv(
            &format!("convs.{}", 2 * k),
            &format!("{b}.conv0"),
            &format!("noises.noise_{}", 2 * k + 1),
            true,
        )?;
        r.styled_conv(
            &format!("convs.{}", 2 * k + 1),
            &format!("{b}.conv1"),
            &format!("noises.noise_{}", 2 * k + 2),
            false,
        )?;
        r.rgb_layer(&format!("to_rgbs.{k}"), &format!("{b}.torgb"))?;
        r.filter(&format!("to_rgbs.{k}.upsample.kernel"), &format!("{b}.resample_filter"))?;
        blocks.push(BlockConfig { resolution: res, in_channels: cin, out_channels: cout, use_fp16: false });
    }
    if weights.shape("latent_avg") == Some(&[w_dim][..]) {
        r.out.insert("mapping.w_avg".into(), weights.tensor("latent_avg")?);
    }
    let config = hard_wired_config((w_dim, w_dim, 3), mapping_layers, blocks);
    r.check_all_used()?;
    Ok((Weights::from_tensors(r.out, weights.source()), config))
}

/// The configuration of a layout that stores no hyper-parameters: what its code hard-wires (mapping
/// learning-rate multiplier 0.01, `skip`, noise inputs, no `conv_clamp`).
fn hard_wired_config(
    (z_dim, w_dim, img_channels): (usize, usize, usize),
    mapping_layers: usize,
    blocks: Vec<BlockConfig>,
) -> StyleGan2Config {
    StyleGan2Config {
        z_dim,
        w_dim,
        resolution: blocks.last().map_or(4, |b| b.resolution),
        img_channels,
        num_ws: 2 * blocks.len(),
        mapping_layers,
        mapping_lr_multiplier: 0.01,
        architecture: BlockArchitecture::Skip,
        conv_clamp: None,
        use_noise: true,
        blocks,
    }
}

/// Copies tensors of one layout to NVIDIA's keys, reshaped where the layouts differ.
struct Renamer<'w> {
    weights: &'w Weights,
    prefix: String,
    out: BTreeMap<String, WeightTensor>,
    /// The source keys copied so far.
    used: BTreeSet<String>,
    layout: &'static str,
}

impl<'w> Renamer<'w> {
    /// A renamer for the generator of `layout` under the prefix that holds `anchor`, `averaged`
    /// (the moving-average generator's prefix) first when the file has it.
    fn new(weights: &'w Weights, anchor: &str, averaged: &str, layout: &'static str) -> Result<Self, GeneratorError> {
        let prefix = if weights.contains(&format!("{averaged}{anchor}")) {
            averaged.to_string()
        } else {
            super::model_prefix(weights, anchor, &format!("{layout} StyleGAN2"))?
        };
        Ok(Self { weights, prefix, out: BTreeMap::new(), used: BTreeSet::new(), layout })
    }

    fn has(&self, key: &str) -> bool {
        self.weights.contains(&format!("{}{key}", self.prefix))
    }

    fn shape(&self, key: &str) -> Option<Vec<usize>> {
        self.weights.shape(&format!("{}{key}", self.prefix)).map(<[usize]>::to_vec)
    }

    fn get(&self, key: &str) -> Result<WeightTensor, GeneratorError> {
        self.weights.tensor(&format!("{}{key}", self.prefix))
    }

    /// Copies `from` to `to`, reshaped to `shape` (same element count) when given.
    fn rename(&mut self, from: &str, to: &str, shape: Option<Vec<usize>>) -> Result<(), GeneratorError> {
        let mut tensor = self.get(from)?;
        self.used.insert(format!("{}{from}", self.prefix));
        if let Some(shape) = shape {
            if shape.iter().product::<usize>() != tensor.values.len() {
                return Err(GeneratorError::ShapeMismatch {
                    source_name: self.weights.source().to_string(),
                    key: format!("{}{from}", self.prefix),
                    expected: shape,
                    found: tensor.shape,
                });
            }
            tensor.shape = shape;
        }
        self.out.insert(to.to_string(), tensor);
        Ok(())
    }

    /// A conv weight stored with a leading batch axis of 1: `[1, O, I, k, k]` to `[O, I, k, k]`.
    fn conv_weight(&mut self, from: &str, to: &str) -> Result<(), GeneratorError> {
        let shape = self.shape(from).unwrap_or_default();
        let unbatched = match shape.as_slice() {
            [1, rest @ ..] if rest.len() == 4 => rest.to_vec(),
            _ => shape,
        };
        self.rename(from, to, Some(unbatched))
    }

    /// A stored blur kernel with the up-sampling gain 4 folded in, as NVIDIA's normalised filter.
    fn filter(&mut self, from: &str, to: &str) -> Result<(), GeneratorError> {
        self.rename(from, to, Some(vec![4, 4]))?;
        let filter = self.out.get_mut(to).expect("just inserted");
        filter.values.iter_mut().for_each(|v| *v /= 4.0);
        Ok(())
    }

    /// A genforce `ModulateConvBlock`: weight (flipped for the up-sampling layers, whose transposed
    /// convolution flips it at run time), bias, style (its constant extra bias 1 folded in), noise.
    fn modulated(&mut self, from: &str, to: &str, up: bool) -> Result<(), GeneratorError> {
        self.rename(&format!("{from}.weight"), &format!("{to}.weight"), None)?;
        if up {
            let weight = self.out.get_mut(&format!("{to}.weight")).expect("just inserted");
            let k = weight.shape.last().copied().unwrap_or(1);
            for kernel in weight.values.chunks_exact_mut(k * k) {
                kernel.reverse(); // a 180-degree turn: both spatial axes flipped
            }
        }
        self.rename(&format!("{from}.bias"), &format!("{to}.bias"), None)?;
        self.rename(&format!("{from}.style.weight"), &format!("{to}.affine.weight"), None)?;
        self.rename(&format!("{from}.style.bias"), &format!("{to}.affine.bias"), None)?;
        let bias = self.out.get_mut(&format!("{to}.affine.bias")).expect("just inserted");
        bias.values.iter_mut().for_each(|v| *v += 1.0);
        if self.has(&format!("{from}.noise")) {
            let res = self.shape(&format!("{from}.noise")).and_then(|s| s.last().copied()).unwrap_or(0);
            self.rename(&format!("{from}.noise"), &format!("{to}.noise_const"), Some(vec![res, res]))?;
            self.rename(&format!("{from}.noise_strength"), &format!("{to}.noise_strength"), None)?;
        }
        Ok(())
    }

    /// A `StyledConv`: modulated conv (`conv.weight`, `conv.modulation`), noise, activation bias.
    fn styled_conv(&mut self, from: &str, to: &str, noise: &str, up: bool) -> Result<(), GeneratorError> {
        self.conv_weight(&format!("{from}.conv.weight"), &format!("{to}.weight"))?;
        self.rename(&format!("{from}.conv.modulation.weight"), &format!("{to}.affine.weight"), None)?;
        self.rename(&format!("{from}.conv.modulation.bias"), &format!("{to}.affine.bias"), None)?;
        self.rename(&format!("{from}.noise.weight"), &format!("{to}.noise_strength"), Some(vec![]))?;
        self.rename(&format!("{from}.activate.bias"), &format!("{to}.bias"), None)?;
        let res = self.shape(noise).and_then(|s| s.last().copied()).unwrap_or(0);
        self.rename(noise, &format!("{to}.noise_const"), Some(vec![res, res]))?;
        if up {
            self.filter(&format!("{from}.conv.blur.kernel"), &format!("{to}.resample_filter"))?;
        }
        Ok(())
    }

    /// A `ToRGB`: modulated 1x1 conv without demodulation and a `[1, 3, 1, 1]` bias.
    fn rgb_layer(&mut self, from: &str, to: &str) -> Result<(), GeneratorError> {
        self.conv_weight(&format!("{from}.conv.weight"), &format!("{to}.weight"))?;
        self.rename(&format!("{from}.conv.modulation.weight"), &format!("{to}.affine.weight"), None)?;
        self.rename(&format!("{from}.conv.modulation.bias"), &format!("{to}.affine.bias"), None)?;
        let channels = self.shape(&format!("{from}.bias")).map_or(0, |s| s.iter().product());
        self.rename(&format!("{from}.bias"), &format!("{to}.bias"), Some(vec![channels]))
    }

    /// Fails if a float tensor of the generator was not renamed: another variant of the layout.
    fn check_all_used(&self) -> Result<(), GeneratorError> {
        let left: Vec<&str> = self
            .weights
            .keys()
            .filter(|k| k.starts_with(self.prefix.as_str()) && *k != "latent_avg" && !self.used.contains(*k))
            .filter(|k| self.weights.dtype(k).is_some_and(|dtype| dtype != FileDtype::Integer))
            .collect();
        if left.is_empty() {
            return Ok(());
        }
        Err(GeneratorError::Architecture {
            source_name: self.weights.source().to_string(),
            reason: format!(
                "{} tensors under `{}` do not fit {}'s StyleGAN2 layout: {}",
                left.len(),
                self.prefix,
                self.layout,
                left.iter().take(5).copied().collect::<Vec<_>>().join(", ")
            ),
        })
    }
}
