//! PGGAN (Karras et al. 2018) in genforce/InterFaceGAN's PyTorch layout: pixel norm at the start
//! of every block, equalised-learning-rate weight scaling, the first layer a 4x4 convolution over
//! the 1x1 latent, nearest upsampling, linear ToRGB outputs, and the `lod` switch.

use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor};

use super::pggan_host::{Epilogue, HostConv, HostPggan};
use crate::error::GeneratorError;
use crate::generator::{
    Generator, GeneratorInfo, LatentSpace, Synthesis, check_code_tensor, check_codes, synthesize_on_device,
};
use crate::ops::{channel_vector, lrelu, pixel_norm, tensor, to_vec, upsample2};
use crate::weights::Weights;

pub(crate) const PIXEL_NORM_EPS: f64 = 1e-8;

/// The key every PGGAN state dict has, which locates it in a (possibly nested) file.
pub(crate) const ANCHOR: &str = "layer0.conv.weight";

/// The architecture: widths per resolution, read from the weights or given.
#[derive(Clone, Debug, PartialEq)]
pub struct PgganConfig {
    /// `channels[0]` is the latent dimension; `channels[i]` (i >= 1) the feature width at `2^(i+1)` px.
    pub channels: Vec<usize>,
    /// Image channels (3).
    pub output_channels: usize,
}

impl PgganConfig {
    /// Reads the widths off `layer{2b}.conv.weight` under `prefix`.
    pub fn infer(weights: &Weights, prefix: &str) -> Result<Self, GeneratorError> {
        let arch = |reason: String| GeneratorError::Architecture { source_name: weights.source().to_string(), reason };
        let first = weights
            .shape(&format!("{prefix}layer0.conv.weight"))
            .ok_or_else(|| arch("no `layer0.conv.weight`: not a PGGAN".into()))?;
        let [c1, c0, 4, 4] = first else {
            return Err(arch(format!("layer0.conv.weight has shape {first:?}, expected [C1, C0, 4, 4]")));
        };
        let mut channels = vec![*c0, *c1];
        for block in 2.. {
            let Some(shape) = weights.shape(&format!("{prefix}layer{}.conv.weight", 2 * block - 2)) else { break };
            channels.push(shape.first().copied().unwrap_or(0));
        }
        let output_channels =
            weights.shape(&format!("{prefix}output0.conv.weight")).and_then(|s| s.first().copied()).unwrap_or(3);
        Ok(Self { channels, output_channels })
    }

    /// `log2(resolution)`: the number of entries in `channels`.
    pub fn blocks(&self) -> usize {
        self.channels.len()
    }

    /// Output resolution.
    pub fn resolution(&self) -> usize {
        1 << self.channels.len()
    }
}

/// A weight-scaled convolution: `conv(x, W * gain / sqrt(fan_in)) + bias`.
pub(crate) struct ScaledConv {
    pub(crate) weight: Tensor<4>,
    pub(crate) bias: Tensor<4>,
    pub(crate) padding: usize,
}

impl ScaledConv {
    pub(crate) fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let options = ConvOptions::new([1, 1], [self.padding, self.padding], [1, 1], 1);
        conv2d(x, self.weight.clone(), None, options) + self.bias.clone()
    }
}

/// Loads `W [cout, cin, k, k]` scaled by `gain / sqrt(cin k k)` and a bias.
pub(crate) fn scaled_conv(
    taker: &mut crate::weights::TensorTaker,
    weight_key: &str,
    bias_key: &str,
    shape: [usize; 4],
    gain: f32,
    padding: usize,
    device: &Device,
) -> Result<ScaledConv, GeneratorError> {
    let scale = gain / ((shape[1] * shape[2] * shape[3]) as f32).sqrt();
    let weight: Vec<f32> = taker.take(weight_key, &shape)?.iter().map(|w| w * scale).collect();
    let bias = taker.take(bias_key, &[shape[0]])?;
    Ok(ScaledConv { weight: tensor(&weight, shape, device), bias: channel_vector(&bias, device), padding })
}

struct Block {
    first: ScaledConv,
    second: ScaledConv,
    to_rgb: ScaledConv,
}

/// The PGGAN generator.
pub struct Pggan {
    blocks: Vec<Block>,
    /// The same convolutions for the CPU without burn, on the CPU device (`synthesize` at lod 0).
    host: Option<HostPggan>,
    lod: f32,
    info: GeneratorInfo,
    config: PgganConfig,
    device: Device,
}

impl Pggan {
    /// Loads a PGGAN from weights (official layout), inferring the configuration.
    pub fn from_weights(weights: &Weights, device: &Device) -> Result<Self, GeneratorError> {
        let prefix = super::model_prefix(weights, ANCHOR, "PGGAN")?;
        let config = PgganConfig::infer(weights, &prefix)?;
        Self::with_config(weights, &prefix, config, device)
    }

    /// Loads with an explicit configuration; every tensor must match it.
    pub fn with_config(
        weights: &Weights,
        prefix: &str,
        config: PgganConfig,
        device: &Device,
    ) -> Result<Self, GeneratorError> {
        if config.channels.len() < 2 {
            return Err(GeneratorError::Config {
                model: "PGGAN",
                needs: "at least a latent width and a 4x4 width".into(),
            });
        }
        let mut taker = weights.taker(prefix, "pggan");
        let lod = taker.take_optional("lod", &[1])?.map_or(0.0, |v| v[0]);
        let sqrt2 = std::f32::consts::SQRT_2;
        let ch = &config.channels;
        let mut blocks = Vec::new();
        for b in 1..ch.len() {
            let (i, cin, cout) = (2 * b - 2, ch[b - 1], ch[b]);
            let first = if b == 1 {
                scaled_conv(
                    &mut taker,
                    "layer0.conv.weight",
                    "layer0.wscale.bias",
                    [cout, cin, 4, 4],
                    sqrt2,
                    3,
                    device,
                )?
            } else {
                let (w, bias) = (format!("layer{i}.conv.weight"), format!("layer{i}.wscale.bias"));
                scaled_conv(&mut taker, &w, &bias, [cout, cin, 3, 3], sqrt2, 1, device)?
            };
            let (w, bias) = (format!("layer{}.conv.weight", i + 1), format!("layer{}.wscale.bias", i + 1));
            let second = scaled_conv(&mut taker, &w, &bias, [cout, cout, 3, 3], sqrt2, 1, device)?;
            let (w, bias) = (format!("output{}.conv.weight", b - 1), format!("output{}.wscale.bias", b - 1));
            let to_rgb = scaled_conv(&mut taker, &w, &bias, [config.output_channels, cout, 1, 1], 1.0, 0, device)?;
            blocks.push(Block { first, second, to_rgb });
        }
        taker.finish()?;
        let info = GeneratorInfo {
            architecture: "pggan",
            resolution: config.resolution(),
            channels: config.output_channels,
            latent_dim: ch[0],
            spaces: vec![LatentSpace::Z],
            wp_layers: 0,
        };
        let host = if super::is_cpu(device) { Some(host_convs(&blocks)?) } else { None };
        Ok(Self { blocks, host, lod, info, config, device: device.clone() })
    }

    /// The level of detail: blocks `b` with `b + lod >= log2(resolution)` are skipped and the last
    /// image computed is upsampled instead (0, the released models' value, runs every block).
    pub fn set_lod(&mut self, lod: f32) -> Result<(), GeneratorError> {
        self.lod = super::checked_lod(lod, self.config.blocks(), "PGGAN")?;
        Ok(())
    }

    /// The configuration in use.
    pub fn config(&self) -> &PgganConfig {
        &self.config
    }
}

/// The blocks' convolutions as host convolutions: the upsampling in every block's first but the
/// 4x4 one, leaky ReLU and pixel norm after each, the last block's ToRGB at the end.
fn host_convs(blocks: &[Block]) -> Result<HostPggan, GeneratorError> {
    let host = |conv: &ScaledConv, upsample: bool, epilogue: Epilogue| -> Result<HostConv, GeneratorError> {
        let shape = conv.weight.dims();
        Ok(HostConv::new(
            &to_vec(conv.weight.clone())?,
            to_vec(conv.bias.clone())?,
            shape,
            conv.padding,
            upsample,
            epilogue,
        ))
    };
    let mut convs = Vec::new();
    for (index, block) in blocks.iter().enumerate() {
        convs.push(host(&block.first, index > 0, Epilogue::LreluPixelNorm)?);
        convs.push(host(&block.second, false, Epilogue::LreluPixelNorm)?);
    }
    let last = blocks.last().expect("at least one block");
    convs.push(host(&last.to_rgb, false, Epilogue::Linear)?);
    Ok(HostPggan { convs })
}

impl Generator for Pggan {
    fn info(&self) -> &GeneratorInfo {
        &self.info
    }

    fn synthesize(&self, codes: &[f32], space: LatentSpace) -> Result<Synthesis, GeneratorError> {
        let Some(host) = self.host.as_ref().filter(|_| self.lod == 0.0) else {
            return synthesize_on_device(self, codes, space);
        };
        let (_, n) = check_codes(&self.info, codes, space)?;
        let (r, c) = (self.info.resolution, self.info.channels);
        let images = host.synthesize(codes, n);
        Ok(Synthesis { images, image_shape: [n, c, r, r], z: Some(codes.to_vec()), ..Synthesis::default() })
    }

    fn device(&self) -> &Device {
        &self.device
    }

    fn forward(&self, codes: Tensor<3>, space: LatentSpace) -> Result<Tensor<4>, GeneratorError> {
        let n = check_code_tensor(&self.info, &codes, space)?;
        let total = self.config.blocks() as f32;
        let mut x = codes.reshape([n, self.info.latent_dim, 1, 1]);
        let mut image = None;
        for (index, block) in self.blocks.iter().enumerate() {
            let b = index + 1;
            if b as f32 + self.lod < total {
                x = pixel_norm(x, PIXEL_NORM_EPS);
                if b > 1 {
                    x = upsample2(x);
                }
                x = lrelu(block.first.forward(x));
                x = lrelu(block.second.forward(pixel_norm(x, PIXEL_NORM_EPS)));
                image = Some(block.to_rgb.forward(pixel_norm(x.clone(), PIXEL_NORM_EPS)));
            } else {
                image = image.map(upsample2);
            }
        }
        Ok(image.expect("the first block always runs"))
    }
}
