//! StyleGAN (Karras et al. 2019) in genforce/InterFaceGAN's PyTorch layout: an 8-layer mapping
//! network (learning-rate multiplier 0.01), truncation towards `w_avg`, and a synthesis network
//! of constant input, fixed noise buffers, instance norm with style modulation, nearest or fused
//! (transposed, at >= 128 px) up-convolutions with a blur, and linear ToRGB outputs.

use burn::tensor::module::{conv_transpose2d, conv2d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use burn::tensor::{Device, Tensor};

use super::dcgan_host::{Activation, HostLayer};
use super::pggan_host::{Epilogue, HostConv};
use super::stylegan_host::{HostStyleLayer, HostSynthesis, HostUp};
use crate::error::GeneratorError;
use crate::generator::{Generator, GeneratorInfo, LatentSpace, Synthesis, check_code_tensor, check_codes};
use crate::ops::{channel_vector, lrelu, pixel_norm, tensor, to_vec, upsample2};
use crate::weights::{TensorTaker, Weights};

pub(crate) const EPS: f64 = 1e-8;
const MAPPING_LAYERS: usize = 8;
const MAPPING_LR_MULTIPLIER: f32 = 0.01;

/// The key every StyleGAN state dict has, which locates it in a (possibly nested) file.
pub(crate) const ANCHOR: &str = "synthesis.layer0.first_layer";

/// The architecture, read from the weights or given.
#[derive(Clone, Debug, PartialEq)]
pub struct StyleGanConfig {
    /// `channels[0] = channels[1]` is the constant input's width; `channels[i]` the width at `2^(i+1)` px.
    pub channels: Vec<usize>,
    /// z and w dimension.
    pub latent_dim: usize,
    /// Width of the mapping network's hidden layers.
    pub mapping_hidden: usize,
    /// Which synthesis layers (`layerN`) use the fused transposed up-convolution.
    pub fused_layers: Vec<usize>,
    /// Image channels (3).
    pub output_channels: usize,
}

impl StyleGanConfig {
    /// Reads the configuration off the tensor shapes under `prefix`.
    pub fn infer(weights: &Weights, prefix: &str) -> Result<Self, GeneratorError> {
        let arch = |reason: String| GeneratorError::Architecture { source_name: weights.source().to_string(), reason };
        let shape = |key: &str| weights.shape(&format!("{prefix}{key}")).map(<[usize]>::to_vec);
        let first = shape("synthesis.layer0.first_layer")
            .ok_or_else(|| arch("no `synthesis.layer0.first_layer`: not a StyleGAN".into()))?;
        let [1, c, 4, 4] = first.as_slice() else {
            return Err(arch(format!("synthesis.layer0.first_layer has shape {first:?}, expected [1, C, 4, 4]")));
        };
        let mapping = shape("mapping.dense0.linear.weight").ok_or_else(|| arch("no mapping network".into()))?;
        let latent_dim = mapping[1];
        let mapping_hidden = mapping[0];
        let mut channels = vec![*c, *c];
        let mut fused_layers = Vec::new();
        for block in 2.. {
            let layer = 2 * block - 2;
            if let Some(s) = shape(&format!("synthesis.layer{layer}.conv.weight")) {
                channels.push(s[0]);
            } else if let Some(s) = shape(&format!("synthesis.layer{layer}.weight")) {
                channels.push(s[3]);
                fused_layers.push(layer);
            } else {
                break;
            }
        }
        let output_channels = shape("synthesis.output0.conv.weight").map_or(3, |s| s[0]);
        Ok(Self { channels, latent_dim, mapping_hidden, fused_layers, output_channels })
    }

    /// Output resolution.
    pub fn resolution(&self) -> usize {
        1 << self.channels.len()
    }

    /// Number of synthesis layers, i.e. of per-layer codes in W+.
    pub fn wp_layers(&self) -> usize {
        2 * (self.channels.len() - 1)
    }
}

/// Truncation towards the average `w`: `wp_l = w_avg + (w - w_avg) * psi` for layers `l < layers`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Truncation {
    /// The factor, `None` to switch truncation off (`1.0` still computes it, as upstream does).
    pub psi: Option<f32>,
    /// How many of the first layers are truncated.
    pub layers: usize,
}

impl Truncation {
    /// No truncation (NVIDIA's default, psi 1).
    pub fn none() -> Self {
        Self { psi: None, layers: usize::MAX }
    }
}

impl Default for Truncation {
    /// The official defaults: psi 0.7 on the first 8 layers.
    fn default() -> Self {
        Self { psi: Some(0.7), layers: 8 }
    }
}

struct Dense {
    /// `[in, out]`, the scale folded in.
    weight: Tensor<2>,
    bias: Tensor<2>,
}

impl Dense {
    fn load(
        taker: &mut TensorTaker,
        key: &str,
        bias_key: &str,
        [out, inp]: [usize; 2],
        weight_scale: f32,
        bias_scale: f32,
        device: &Device,
    ) -> Result<Self, GeneratorError> {
        let w = taker.take(key, &[out, inp])?;
        let mut t = vec![0f32; inp * out];
        for o in 0..out {
            for i in 0..inp {
                t[i * out + o] = w[o * inp + i] * weight_scale;
            }
        }
        let bias: Vec<f32> = taker.take(bias_key, &[out])?.iter().map(|b| b * bias_scale).collect();
        Ok(Self { weight: tensor(&t, [inp, out], device), bias: tensor(&bias, [1, out], device) })
    }

    fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        x.matmul(self.weight.clone()) + self.bias.clone()
    }
}

enum Conv {
    /// A 3x3 convolution, optionally after nearest 2x upsampling.
    Plain { weight: Tensor<4>, upsample: bool },
    /// The fused up-convolution: a 4x4 stride-2 transposed convolution.
    Fused { weight: Tensor<4> },
}

struct Layer {
    conv: Option<Conv>,
    blur: Option<Tensor<4>>,
    noise: Tensor<4>,
    noise_weight: Tensor<4>,
    bias: Tensor<4>,
    style: Dense,
    channels: usize,
}

struct ToRgb {
    weight: Tensor<4>,
    bias: Tensor<4>,
}

/// The StyleGAN generator.
pub struct StyleGan {
    /// The synthesis network for the CPU without burn, on the CPU device (`synthesize` at lod 0).
    host: Option<HostSynthesis>,
    mapping: Vec<Dense>,
    w_avg: Tensor<2>,
    const_input: Tensor<4>,
    layers: Vec<Layer>,
    outputs: Vec<ToRgb>,
    truncation: Truncation,
    lod: f32,
    info: GeneratorInfo,
    config: StyleGanConfig,
    device: Device,
}

impl StyleGan {
    /// Loads a StyleGAN from weights (official layout), inferring the configuration.
    pub fn from_weights(weights: &Weights, device: &Device) -> Result<Self, GeneratorError> {
        let prefix = super::model_prefix(weights, ANCHOR, "StyleGAN")?;
        let config = StyleGanConfig::infer(weights, &prefix)?;
        Self::with_config(weights, &prefix, config, device)
    }

    /// Loads with an explicit configuration; every tensor must match it.
    pub fn with_config(
        weights: &Weights,
        prefix: &str,
        config: StyleGanConfig,
        device: &Device,
    ) -> Result<Self, GeneratorError> {
        if config.channels.len() < 2 {
            return Err(GeneratorError::Config { model: "StyleGAN", needs: "at least the 4x4 widths".into() });
        }
        let mut t = weights.taker(prefix, "stylegan");
        let d = config.latent_dim;
        let mapping = load_mapping(&mut t, &config, device)?;
        let w_avg = tensor(&t.take("truncation.w_avg", &[d])?, [1, d], device);
        let lod = t.take_optional("synthesis.lod", &[1])?.map_or(0.0, |v| v[0]);
        let ch = &config.channels;
        let const_input = tensor(&t.take("synthesis.layer0.first_layer", &[1, ch[0], 4, 4])?, [1, ch[0], 4, 4], device);
        let mut layers = Vec::new();
        let mut outputs = Vec::new();
        for b in 1..ch.len() {
            for i in [2 * b - 2, 2 * b - 1] {
                layers.push(Layer::load(&mut t, &config, b, i, device)?);
            }
            outputs.push(ToRgb::load(&mut t, &config, b, device)?);
        }
        // Upstream rebuilds this buffer from psi/layers; some exports keep it.
        t.ignore("truncation.truncation");
        t.finish()?;
        let info = GeneratorInfo {
            architecture: "stylegan",
            resolution: config.resolution(),
            channels: config.output_channels,
            latent_dim: d,
            spaces: vec![LatentSpace::Z, LatentSpace::W, LatentSpace::WPlus],
            wp_layers: config.wp_layers(),
        };
        let host = if super::is_cpu(device) { Some(host_synthesis(&const_input, &layers, &outputs)?) } else { None };
        Ok(Self {
            host,
            mapping,
            w_avg,
            const_input,
            layers,
            outputs,
            truncation: Truncation::default(),
            lod,
            info,
            config,
            device: device.clone(),
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &StyleGanConfig {
        &self.config
    }

    /// Sets the truncation used for codes given in Z or W (never in W+).
    pub fn set_truncation(&mut self, truncation: Truncation) -> Result<(), GeneratorError> {
        if truncation.psi.is_some_and(|p| !p.is_finite()) {
            return Err(GeneratorError::NonFiniteTruncation);
        }
        self.truncation = truncation;
        Ok(())
    }

    /// The level of detail, as for PGGAN (0 runs every block).
    pub fn set_lod(&mut self, lod: f32) -> Result<(), GeneratorError> {
        self.lod = super::checked_lod(lod, self.config.channels.len(), "StyleGAN")?;
        Ok(())
    }

    /// `w = mapping(z)`: `[N, D]` to `[N, D]` (z is pixel-normalised first, inside the network).
    pub fn mapping(&self, z: Tensor<2>) -> Tensor<2> {
        self.mapping.iter().fold(pixel_norm(z, EPS), |x, dense| lrelu(dense.forward(x)))
    }

    /// `w` `[N, D]` to `w+` `[N, L, D]` with the current truncation.
    pub fn truncate(&self, w: Tensor<2>) -> Tensor<3> {
        let [n, d] = w.dims();
        let l = self.info.wp_layers;
        let wp = w.reshape([n, 1, d]).expand([n, l, d]);
        let Some(psi) = self.truncation.psi else { return wp };
        let coefs: Vec<f32> = (0..l).map(|i| if i < self.truncation.layers { psi } else { 1.0 }).collect();
        let coefs = tensor(&coefs, [1, l, 1], &self.device);
        let avg = self.w_avg.clone().reshape([1, 1, d]);
        (wp - avg.clone()) * coefs + avg
    }

    /// The style codes of every layer for `wp` `[N, L, D]`: `[N, 2 C_l]` each, scale part first.
    pub fn styles(&self, wp: Tensor<3>) -> Vec<Tensor<2>> {
        let [n, _, d] = wp.dims();
        self.layers
            .iter()
            .enumerate()
            .map(|(l, layer)| layer.style.forward(wp.clone().narrow(1, l, 1).reshape([n, d])))
            .collect()
    }

    /// The synthesis network: `wp` `[N, L, D]` to raw images.
    pub fn synthesis(&self, wp: Tensor<3>) -> Tensor<4> {
        let [n, _, d] = wp.dims();
        let blocks = self.config.channels.len();
        let mut x = self.const_input.clone().repeat_dim(0, n);
        let mut image: Option<Tensor<4>> = None;
        for b in 1..blocks {
            if (b as f32) + self.lod >= blocks as f32 {
                image = image.map(upsample2);
                continue;
            }
            for l in [2 * b - 2, 2 * b - 1] {
                let layer = &self.layers[l];
                x = match &layer.conv {
                    None => x,
                    Some(Conv::Plain { weight, upsample }) => {
                        let input = if *upsample { upsample2(x) } else { x };
                        conv2d(input, weight.clone(), None, ConvOptions::new([1, 1], [1, 1], [1, 1], 1))
                    }
                    Some(Conv::Fused { weight }) => conv_transpose2d(
                        x,
                        weight.clone(),
                        None,
                        ConvTransposeOptions::new([2, 2], [1, 1], [0, 0], [1, 1], 1),
                    ),
                };
                if let Some(kernel) = &layer.blur {
                    let options = ConvOptions::new([1, 1], [1, 1], [1, 1], layer.channels);
                    x = conv2d(x, kernel.clone(), None, options);
                }
                let w = wp.clone().narrow(1, l, 1).reshape([n, d]);
                x = epilogue(x, layer, w);
            }
            let rgb = &self.outputs[b - 1];
            let options = ConvOptions::new([1, 1], [0, 0], [1, 1], 1);
            image = Some(conv2d(x.clone(), rgb.weight.clone(), None, options) + rgb.bias.clone());
        }
        image.expect("the first block always runs")
    }

    /// Synthesises and also returns the style codes of every layer (host, `[N, 2 C_l]` each).
    pub fn synthesize_with_styles(
        &self,
        codes: &[f32],
        space: LatentSpace,
    ) -> Result<(Synthesis, Vec<Vec<f32>>), GeneratorError> {
        let (wp, mut out) = self.codes_to_wp(codes, space)?;
        let styles = self.styles(wp.clone()).into_iter().map(to_vec).collect::<Result<Vec<_>, _>>()?;
        let images = self.synthesis(wp);
        out.image_shape = images.dims();
        out.images = to_vec(images)?;
        Ok((out, styles))
    }

    fn codes_to_wp(&self, codes: &[f32], space: LatentSpace) -> Result<(Tensor<3>, Synthesis), GeneratorError> {
        let (layers, n) = check_codes(&self.info, codes, space)?;
        let d = self.info.latent_dim;
        let mut out = Synthesis::default();
        let wp = match space {
            LatentSpace::WPlus => tensor(codes, [n, layers, d], &self.device),
            LatentSpace::Z | LatentSpace::W => {
                let input = tensor(codes, [n, d], &self.device);
                let w = if space == LatentSpace::Z {
                    out.z = Some(codes.to_vec());
                    self.mapping(input)
                } else {
                    input
                };
                out.w = Some(to_vec(w.clone())?);
                self.truncate(w)
            }
        };
        out.wp = Some(to_vec(wp.clone())?);
        Ok((wp, out))
    }
}

/// Noise, bias, lrelu, instance norm, then the style's scale and shift.
fn epilogue(x: Tensor<4>, layer: &Layer, w: Tensor<2>) -> Tensor<4> {
    let [n, c, _, _] = x.dims();
    let x = lrelu(x + layer.noise.clone() * layer.noise_weight.clone() + layer.bias.clone());
    let x = x.clone() - x.mean_dims(&[2, 3]);
    let x = x.clone() / x.square().mean_dims(&[2, 3]).add_scalar(EPS).sqrt();
    let style = layer.style.forward(w);
    let scale = style.clone().narrow(1, 0, c).reshape([n, c, 1, 1]).add_scalar(1.0);
    let shift = style.narrow(1, c, c).reshape([n, c, 1, 1]);
    x * scale + shift
}

/// The fused up-convolution's kernel: the TF-layout 3x3 weight `[3, 3, Cin, Cout]`, scaled, padded
/// to 5x5 and summed over the four 4x4 windows, as `[Cin, Cout, 4, 4]` for a transposed convolution.
fn fused_kernel(weight: &[f32], cin: usize, cout: usize, scale: f32, device: &Device) -> Tensor<4> {
    let at = |y: isize, x: isize, i: usize, o: usize| -> f32 {
        if (0..3).contains(&y) && (0..3).contains(&x) {
            weight[((y as usize * 3 + x as usize) * cin + i) * cout + o] * scale
        } else {
            0.0
        }
    };
    let mut out = vec![0f32; cin * cout * 16];
    for i in 0..cin {
        for o in 0..cout {
            for ky in 0..4isize {
                for kx in 0..4isize {
                    // Padded index p maps to weight index p - 1; window sums over p in {k, k + 1}.
                    let v = at(ky, kx, i, o) + at(ky - 1, kx, i, o) + at(ky, kx - 1, i, o) + at(ky - 1, kx - 1, i, o);
                    out[((i * cout + o) * 4 + ky as usize) * 4 + kx as usize] = v;
                }
            }
        }
    }
    tensor(&out, [cin, cout, 4, 4], device)
}

impl Generator for StyleGan {
    fn map_z(&self, z: &[f32]) -> Result<Option<Vec<f32>>, GeneratorError> {
        crate::generator::map_with(self.info(), self.device(), z, |z| self.mapping(z))
    }

    fn info(&self) -> &GeneratorInfo {
        &self.info
    }

    fn device(&self) -> &Device {
        &self.device
    }

    fn forward(&self, codes: Tensor<3>, space: LatentSpace) -> Result<Tensor<4>, GeneratorError> {
        let n = check_code_tensor(&self.info, &codes, space)?;
        let d = self.info.latent_dim;
        let wp = match space {
            LatentSpace::WPlus => codes,
            LatentSpace::W => self.truncate(codes.reshape([n, d])),
            LatentSpace::Z => self.truncate(self.mapping(codes.reshape([n, d]))),
        };
        Ok(self.synthesis(wp))
    }

    fn latent_mean(&self, space: LatentSpace) -> Result<Vec<f32>, GeneratorError> {
        let w_avg = to_vec(self.w_avg.clone())?;
        Ok(match space {
            LatentSpace::Z => vec![0.0; self.info.latent_dim],
            LatentSpace::W => w_avg,
            LatentSpace::WPlus => w_avg.repeat(self.info.wp_layers),
        })
    }

    fn synthesize(&self, codes: &[f32], space: LatentSpace) -> Result<Synthesis, GeneratorError> {
        let (wp, mut out) = self.codes_to_wp(codes, space)?;
        if let Some(host) = self.host.as_ref().filter(|_| self.lod == 0.0) {
            let n = wp.dims()[0];
            let styles = self.styles(wp).into_iter().map(to_vec).collect::<Result<Vec<_>, _>>()?;
            let (r, c) = (self.info.resolution, self.info.channels);
            out.images = host.synthesize(&styles, n);
            out.image_shape = [n, c, r, r];
            return Ok(out);
        }
        let images = self.synthesis(wp);
        out.image_shape = images.dims();
        out.images = to_vec(images)?;
        Ok(out)
    }
}

/// The synthesis network's layers and last ToRGB on the host.
fn host_synthesis(
    const_input: &Tensor<4>,
    layers: &[Layer],
    outputs: &[ToRgb],
) -> Result<HostSynthesis, GeneratorError> {
    let mut host_layers = Vec::new();
    for layer in layers {
        let c = layer.channels;
        let up = match &layer.conv {
            None => HostUp::Input,
            Some(Conv::Plain { weight, upsample }) => {
                let shape = weight.dims();
                let conv = HostConv::new(&to_vec(weight.clone())?, vec![0.0; c], shape, 1, *upsample, Epilogue::Linear);
                HostUp::Conv(conv)
            }
            Some(Conv::Fused { weight }) => {
                let cin = weight.dims()[0];
                HostUp::Fused(HostLayer::new(&to_vec(weight.clone())?, vec![0.0; c], (cin, c), 2, Activation::Linear))
            }
        };
        let blur = match &layer.blur {
            Some(kernel) => {
                let k = to_vec(kernel.clone())?;
                Some((0..9 * c).map(|i| k[(i % c) * 9 + i / c]).collect())
            }
            None => None,
        };
        host_layers.push(HostStyleLayer {
            up,
            blur,
            noise: to_vec(layer.noise.clone())?,
            noise_weight: to_vec(layer.noise_weight.clone())?,
            bias: to_vec(layer.bias.clone())?,
            channels: c,
        });
    }
    let rgb = outputs.last().expect("at least one block");
    let shape = rgb.weight.dims();
    let to_rgb =
        HostConv::new(&to_vec(rgb.weight.clone())?, to_vec(rgb.bias.clone())?, shape, 0, false, Epilogue::Linear);
    let [_, c, h, w] = const_input.dims();
    let input = to_vec(const_input.clone())?;
    let input = (0..h * w).flat_map(|p| (0..c).map(move |ch| (p, ch))).map(|(p, ch)| input[ch * h * w + p]).collect();
    Ok(HostSynthesis { input, layers: host_layers, to_rgb })
}

/// The eight dense layers of the mapping network, with the equalised learning rate's scales.
fn load_mapping(t: &mut TensorTaker, config: &StyleGanConfig, device: &Device) -> Result<Vec<Dense>, GeneratorError> {
    let (d, hidden) = (config.latent_dim, config.mapping_hidden);
    let mut mapping = Vec::new();
    for i in 0..MAPPING_LAYERS {
        let inp = if i == 0 { d } else { hidden };
        let out = if i == MAPPING_LAYERS - 1 { d } else { hidden };
        let scale = std::f32::consts::SQRT_2 / (inp as f32).sqrt() * MAPPING_LR_MULTIPLIER;
        let (w, b) = (format!("mapping.dense{i}.linear.weight"), format!("mapping.dense{i}.wscale.bias"));
        mapping.push(Dense::load(t, &w, &b, [out, inp], scale, MAPPING_LR_MULTIPLIER, device)?);
    }
    Ok(mapping)
}

impl Layer {
    /// Synthesis layer `i` of block `b` (maps of `2 << b` pixels): the first layer of a block
    /// upsamples (by a fused transposed convolution where the weights say so) and blurs.
    fn load(
        t: &mut TensorTaker,
        config: &StyleGanConfig,
        b: usize,
        i: usize,
        device: &Device,
    ) -> Result<Self, GeneratorError> {
        let (ch, d, res) = (&config.channels, config.latent_dim, 2usize << b);
        let p = format!("synthesis.layer{i}.");
        let upconv = i == 2 * b - 2;
        let (cin, cout) = if upconv { (ch[b - 1], ch[b]) } else { (ch[b], ch[b]) };
        let scale = std::f32::consts::SQRT_2 / ((cin * 9) as f32).sqrt();
        let conv = if i == 0 {
            None
        } else if upconv && config.fused_layers.contains(&i) {
            let weight = fused_kernel(&t.take(&format!("{p}weight"), &[3, 3, cin, cout])?, cin, cout, scale, device);
            Some(Conv::Fused { weight })
        } else {
            let w: Vec<f32> =
                t.take(&format!("{p}conv.weight"), &[cout, cin, 3, 3])?.iter().map(|v| v * scale).collect();
            Some(Conv::Plain { weight: tensor(&w, [cout, cin, 3, 3], device), upsample: upconv && b > 1 })
        };
        let blur = if upconv && b > 1 {
            Some(tensor(&t.take(&format!("{p}blur.kernel"), &[cout, 1, 3, 3])?, [cout, 1, 3, 3], device))
        } else {
            None
        };
        let e = format!("{p}epilogue.");
        let noise = tensor(&t.take(&format!("{e}apply_noise.noise"), &[1, 1, res, res])?, [1, 1, res, res], device);
        let noise_weight = channel_vector(&t.take(&format!("{e}apply_noise.weight"), &[cout])?, device);
        let bias = channel_vector(&t.take(&format!("{e}bias"), &[cout])?, device);
        let (sw, sb) = (format!("{e}style_mod.dense.linear.weight"), format!("{e}style_mod.dense.wscale.bias"));
        let style = Dense::load(t, &sw, &sb, [2 * cout, d], 1.0 / (d as f32).sqrt(), 1.0, device)?;
        Ok(Layer { conv, blur, noise, noise_weight, bias, style, channels: cout })
    }
}

impl ToRgb {
    /// The output layer of block `b`.
    fn load(t: &mut TensorTaker, config: &StyleGanConfig, b: usize, device: &Device) -> Result<Self, GeneratorError> {
        let o = format!("synthesis.output{}.", b - 1);
        let channels = config.channels[b];
        let scale = 1.0 / (channels as f32).sqrt();
        let shape = [config.output_channels, channels, 1, 1];
        let w: Vec<f32> = t.take(&format!("{o}conv.weight"), &shape)?.iter().map(|v| v * scale).collect();
        let bias = channel_vector(&t.take(&format!("{o}bias"), &[config.output_channels])?, device);
        Ok(ToRgb { weight: tensor(&w, shape, device), bias })
    }
}
