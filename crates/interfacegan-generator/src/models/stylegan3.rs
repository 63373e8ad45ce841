//! StyleGAN3 (Karras et al. 2021, "Alias-Free GAN") as NVIDIA's `networks_stylegan3.Generator`,
//! configs T and R: the mapping network of StyleGAN2, a Fourier-feature input whose frequencies and
//! phases are rotated and translated by an affine of `ws[0]` (then by the stored `transform`), and
//! 15 layers of modulated convolution (weights and styles pre-normalised, demodulated, scaled by
//! the stored `magnitude_ema`) followed by `filtered_lrelu`: bias, zero-insertion up-sampling with
//! the stored Kaiser filter, leaky ReLU with gain sqrt(2) and clamp, and down-sampling with the
//! stored separable (T) or radial (R) filter; the last layer is the linear ToRGB, and the image is
//! scaled by `output_scale`.
//!
//! The configuration (sizes, sampling rates, paddings, factors) is read from the pickle's module
//! records; the filters are the stored buffers, never redesigned here.

use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor};

use super::nvidia::{Demodulation, Dense, Mapping, Modules, StyleFront};
use crate::Truncation;
use crate::error::GeneratorError;
use crate::ops::{channel_vector, tensor};
use crate::weights::{TensorTaker, Weights};

/// The key every StyleGAN3 generator's state dict has.
pub(crate) const ANCHOR: &str = "synthesis.input.freqs";

/// A StyleGAN3 generator's configuration, read from its network pickle.
#[derive(Clone, Debug, PartialEq)]
pub struct StyleGan3Config {
    /// Dimension of z.
    pub z_dim: usize,
    /// Dimension of w.
    pub w_dim: usize,
    /// Output resolution.
    pub resolution: usize,
    /// Output channels.
    pub img_channels: usize,
    /// Number of w codes (synthesis layers + 2).
    pub num_ws: usize,
    /// The synthesis layers' module names in order (`L0_36_512`, ..., the ToRGB last).
    pub layer_names: Vec<String>,
    /// The image is multiplied by this at the end.
    pub output_scale: f64,
}

const CLASSES: &[&str] =
    &["Generator", "MappingNetwork", "FullyConnectedLayer", "SynthesisNetwork", "SynthesisInput", "SynthesisLayer"];

impl StyleGan3Config {
    /// Reads the configuration from the module records of a network pickle.
    pub fn from_modules(weights: &Weights) -> Result<Self, GeneratorError> {
        let modules = Modules::new(weights, "StyleGAN3 generator")?;
        modules.check_classes(CLASSES)?;
        let g = modules.module("", "Generator")?;
        let (z_dim, w_dim, resolution) = (g.usize("z_dim")?, g.usize("w_dim")?, g.usize("img_resolution")?);
        let (img_channels, num_ws) = (g.usize("img_channels")?, g.usize("num_ws")?);
        if g.usize("c_dim")? != 0 {
            return Err(modules.error("a conditional generator (c_dim > 0): class labels are not supported"));
        }
        let s = modules.module("synthesis", "SynthesisNetwork")?;
        s.expect_usize("num_ws", num_ws)?;
        s.expect_usize("img_resolution", resolution)?;
        s.expect_usize("img_channels", img_channels)?;
        let layer_names = s.strs("layer_names")?;
        if layer_names.len() + 1 != num_ws || s.usize("num_layers")? + 1 != layer_names.len() {
            return Err(modules.error(format!("{} synthesis layers do not fit num_ws {num_ws}", layer_names.len())));
        }
        let output_scale = s.f64("output_scale")?;
        Ok(Self { z_dim, w_dim, resolution, img_channels, num_ws, layer_names, output_scale })
    }
}

/// The Fourier-feature input (`SynthesisInput`).
struct Input {
    affine: Dense,
    /// The stored user transform, row-major 3x3.
    transform: [f32; 9],
    /// `[C]` each: the frequencies' x and y components and the phases.
    freqs: (Vec<f32>, Vec<f32>),
    phases: Tensor<2>,
    /// `weight / sqrt(C)` as a 1x1 convolution `[C, C, 1, 1]`.
    mix: Tensor<4>,
    /// Sample positions of the grid: `[1, 1, 1, W]` in x, `[1, 1, H, 1]` in y.
    grid: (Tensor<4>, Tensor<4>),
    bandwidth: f32,
    sampling_rate: f32,
}

impl Input {
    fn load(t: &mut TensorTaker, m: &Modules, w_dim: usize, device: &Device) -> Result<Self, GeneratorError> {
        let module = m.module("synthesis.input", "SynthesisInput")?;
        module.expect_usize("w_dim", w_dim)?;
        let channels = module.usize("channels")?;
        let size = module.usizes("size")?;
        let [width, height] = size[..] else { return Err(m.error("synthesis.input: size is not [width, height]")) };
        let sampling_rate = module.f64("sampling_rate")?;
        let bandwidth = module.f64("bandwidth")?;
        let affine = Dense::load(t, "synthesis.input.affine", m, false, device)?;
        let transform: [f32; 9] = t.take("synthesis.input.transform", &[3, 3])?.try_into().expect("3x3");
        let f = t.take("synthesis.input.freqs", &[channels, 2])?;
        let freqs = (f.iter().step_by(2).copied().collect(), f.iter().skip(1).step_by(2).copied().collect());
        let phases = tensor(&t.take("synthesis.input.phases", &[channels])?, [1, channels], device);
        let gain = 1.0 / (channels as f32).sqrt();
        let mix: Vec<f32> = t.take("synthesis.input.weight", &[channels, channels])?.iter().map(|v| v * gain).collect();
        // torch.nn.functional.affine_grid(align_corners=False) of theta = diag(0.5 * size / sampling_rate).
        let axis = |n: usize| -> Vec<f32> {
            let scale = (0.5 * n as f64 / sampling_rate) as f32;
            (0..n).map(|i| scale * ((2 * i + 1) as f32 / n as f32 - 1.0)).collect()
        };
        let grid = (tensor(&axis(width), [1, 1, 1, width], device), tensor(&axis(height), [1, 1, height, 1], device));
        Ok(Self {
            affine,
            transform,
            freqs,
            phases,
            mix: tensor(&mix, [channels, channels, 1, 1], device),
            grid,
            bandwidth: bandwidth as f32,
            sampling_rate: sampling_rate as f32,
        })
    }

    /// `w` `[N, D]` to the Fourier features `[N, C, H, W]`.
    fn forward(&self, w: Tensor<2>) -> Tensor<4> {
        let [n, _] = w.dims();
        let device = w.device();
        let t = self.affine.forward(w);
        let norm = t.clone().narrow(1, 0, 2).square().sum_dim(1).sqrt();
        let t = t / norm;
        let col = |i: usize| t.clone().narrow(1, i, 1); // [N, 1]
        let (rc, rs, tx, ty) = (col(0), col(1), col(2), col(3));
        // m_r @ m_t: rotation by (rc, rs), then translation by -(tx, ty); its last row is (0, 0, 1).
        let p = [
            [rc.clone(), rs.clone().neg(), rs.clone() * ty.clone() - rc.clone() * tx.clone()],
            [rs.clone(), rc.clone(), (rs * tx + rc * ty).neg()],
        ];
        let tr = &self.transform;
        // (m_r @ m_t @ transform)[i][j] for the two rows that matter.
        let m = |i: usize, j: usize| -> Tensor<2> {
            p[i][0].clone().mul_scalar(tr[j])
                + p[i][1].clone().mul_scalar(tr[3 + j])
                + p[i][2].clone().mul_scalar(tr[6 + j])
        };
        let (fx, fy) = (
            tensor(&self.freqs.0, [1, self.freqs.0.len()], &device),
            tensor(&self.freqs.1, [1, self.freqs.1.len()], &device),
        );
        // phases + freqs @ M[:2, 2]; freqs @ M[:2, :2].
        let phases = self.phases.clone() + fx.clone() * m(0, 2) + fy.clone() * m(1, 2);
        let freq_x = fx.clone() * m(0, 0) + fy.clone() * m(1, 0);
        let freq_y = fx * m(0, 1) + fy * m(1, 1);
        let radius = (freq_x.clone().square() + freq_y.clone().square()).sqrt();
        let amplitudes = (radius.sub_scalar(self.bandwidth).div_scalar(self.sampling_rate / 2.0 - self.bandwidth))
            .neg()
            .add_scalar(1.0)
            .clamp(0.0, 1.0);
        let c = self.freqs.0.len();
        let as_map = |v: Tensor<2>| v.reshape([n, c, 1, 1]);
        let x = self.grid.0.clone() * as_map(freq_x) + self.grid.1.clone() * as_map(freq_y) + as_map(phases);
        let x = x.mul_scalar(std::f32::consts::TAU).sin() * as_map(amplitudes);
        conv2d(x, self.mix.clone(), None, ConvOptions::new([1, 1], [0, 0], [1, 1], 1))
    }
}

/// A 1-D (separable) or 2-D FIR filter for `upfirdn2d`, flipped (upfirdn2d convolves), as depthwise
/// kernels applied in turn: `[C, 1, 1, T]` then `[C, 1, T, 1]`, or one `[C, 1, T, T]`; none for a
/// factor of 1.
struct Filter {
    passes: Vec<Tensor<4>>,
}

impl Filter {
    /// The stored filter of `taps` taps (`None`, 1-D or `[taps, taps]`), scaled by `gain` overall.
    fn load(values: Option<&[f32]>, radial: bool, taps: usize, channels: usize, gain: f32, device: &Device) -> Self {
        let Some(values) = values else { return Self { passes: Vec::new() } };
        let repeat = |v: &[f32]| -> Vec<f32> { (0..channels).flat_map(|_| v.iter().copied()).collect() };
        let passes = if radial {
            let f: Vec<f32> = values.iter().rev().map(|v| v * gain).collect();
            vec![tensor(&repeat(&f), [channels, 1, taps, taps], device)]
        } else {
            let f = repeat(&values.iter().rev().map(|v| v * gain.sqrt()).collect::<Vec<_>>());
            vec![tensor(&f, [channels, 1, 1, taps], device), tensor(&f, [channels, 1, taps, 1], device)]
        };
        Self { passes }
    }

    /// Convolves `x` (valid positions only), keeping every `stride`-th output in each direction.
    fn apply(&self, x: Tensor<4>, stride: usize) -> Tensor<4> {
        let channels = x.dims()[1];
        let conv = |x: Tensor<4>, f: &Tensor<4>| {
            let [_, _, th, tw] = f.dims();
            // A pass strides the axes it filters; an identity filter only subsamples.
            let s = [if th > 1 || tw == 1 { stride } else { 1 }, if tw > 1 || th == 1 { stride } else { 1 }];
            conv2d(x, f.clone(), None, ConvOptions::new(s, [0, 0], [1, 1], channels))
        };
        match self.passes.as_slice() {
            [] if stride == 1 => x,
            [] => {
                let ones = Tensor::ones([channels, 1, 1, 1], &x.device());
                conv(x, &ones)
            }
            passes => passes.iter().fold(x, conv),
        }
    }
}

/// One synthesis layer: modulated convolution and `filtered_lrelu` (the ToRGB layer without
/// demodulation, activation or filters).
struct Layer {
    affine: Dense,
    /// `[O, I, k, k]`, pre-normalised per output channel for demodulated layers.
    weight: Tensor<4>,
    /// Demodulated layers only (not the ToRGB).
    demodulation: Option<Demodulation>,
    /// `rsqrt(magnitude_ema)`, times ToRGB's weight gain for the ToRGB layer.
    input_gain: f32,
    bias: Tensor<4>,
    kernel: usize,
    up: usize,
    down: usize,
    /// `[x0, x1, y0, y1]` around the up-sampled input (negative crops).
    padding: [i64; 4],
    up_filter: Filter,
    down_filter: Filter,
    is_torgb: bool,
    clamp: Option<f32>,
}

impl Layer {
    fn load(
        t: &mut TensorTaker,
        m: &Modules,
        name: &str,
        w_dim: usize,
        device: &Device,
    ) -> Result<Self, GeneratorError> {
        let path = format!("synthesis.{name}");
        let module = m.module(&path, "SynthesisLayer")?;
        module.expect_usize("w_dim", w_dim)?;
        let (cin, cout) = (module.usize("in_channels")?, module.usize("out_channels")?);
        let is_torgb = module.bool("is_torgb")?;
        let kernel = module.usize("conv_kernel")?;
        let (up, down) = (module.usize("up_factor")?, module.usize("down_factor")?);
        let (up_taps, down_taps) = (module.usize("up_taps")?, module.usize("down_taps")?);
        let down_radial = module.bool("down_radial")?;
        let padding: [i64; 4] = module
            .i64s("padding")?
            .try_into()
            .map_err(|p| m.error(format!("{path}: padding {p:?} is not [x0, x1, y0, y1]")))?;
        let clamp = module.opt_f64("conv_clamp")?.map(|c| c as f32);
        let affine = Dense::load(t, &format!("{path}.affine"), m, false, device)?;
        let mut w = t.take(&format!("{path}.weight"), &[cout, cin, kernel, kernel])?;
        let magnitude = t.take(&format!("{path}.magnitude_ema"), &[1])?[0];
        let mut input_gain = 1.0 / magnitude.sqrt();
        let per_out = cin * kernel * kernel;
        let demodulation = if is_torgb {
            input_gain *= (1.0 / (per_out as f64).sqrt()) as f32;
            None
        } else {
            // w * rsqrt(mean(w^2)) per output channel, then the demodulation of that weight.
            for o in 0..cout {
                let row = &mut w[o * per_out..][..per_out];
                let scale = 1.0 / (row.iter().map(|v| v * v).sum::<f32>() / per_out as f32).sqrt();
                row.iter_mut().for_each(|v| *v *= scale);
            }
            Some(Demodulation::new(&w, [cout, cin, kernel], device))
        };
        let bias = channel_vector(&t.take(&format!("{path}.bias"), &[cout])?, device);
        let up_values = if up_taps > 1 { Some(t.take(&format!("{path}.up_filter"), &[up_taps])?) } else { None };
        let up_filter = Filter::load(up_values.as_deref(), false, up_taps, cout, (up * up) as f32, device);
        let down_shape: Vec<usize> = if down_radial { vec![down_taps, down_taps] } else { vec![down_taps] };
        let down_values = if down_taps > 1 { Some(t.take(&format!("{path}.down_filter"), &down_shape)?) } else { None };
        let down_filter = Filter::load(down_values.as_deref(), down_radial, down_taps, cout, 1.0, device);
        Ok(Self {
            affine,
            weight: tensor(&w, [cout, cin, kernel, kernel], device),
            demodulation,
            input_gain,
            bias,
            kernel,
            up,
            down,
            padding,
            up_filter,
            down_filter,
            is_torgb,
            clamp,
        })
    }

    fn forward(&self, x: Tensor<4>, w: Tensor<2>) -> Tensor<4> {
        let [n, cin, _, _] = x.dims();
        let mut styles = self.affine.forward(w);
        if self.demodulation.is_some() {
            // s * rsqrt(mean(s^2)) over the whole batch, as the official code.
            let mean = styles.clone().square().mean().reshape([1, 1]);
            styles = styles / mean.sqrt();
        }
        let x = x * styles.clone().reshape([n, cin, 1, 1]);
        let p = self.kernel - 1;
        let mut x = conv2d(x, self.weight.clone(), None, ConvOptions::new([1, 1], [p, p], [1, 1], 1));
        let cout = x.dims()[1];
        if let Some(demodulation) = &self.demodulation {
            let dcoefs = demodulation.coefficients(styles);
            x = x * dcoefs.reshape([n, cout, 1, 1]);
        }
        let x = x.mul_scalar(self.input_gain) + self.bias.clone();
        self.filtered_lrelu(x)
    }

    /// Up-sample (zero insertion, padding, filter), leaky ReLU with gain and clamp, down-sample.
    fn filtered_lrelu(&self, x: Tensor<4>) -> Tensor<4> {
        let x = self.up_filter.apply(pad_or_crop(zero_insert(x, self.up), self.padding), 1);
        let x = if self.is_torgb {
            x
        } else {
            burn::tensor::activation::leaky_relu(x, 0.2).mul_scalar(std::f32::consts::SQRT_2)
        };
        let x = match self.clamp {
            Some(c) => x.clamp(-c, c),
            None => x,
        };
        self.down_filter.apply(x, self.down)
    }
}

/// `[N, C, H, W]` to `[N, C, H * up, W * up]` with the input at multiples of `up` and zeros between.
fn zero_insert(x: Tensor<4>, up: usize) -> Tensor<4> {
    if up == 1 {
        return x;
    }
    let [n, c, h, w] = x.dims();
    let x = x.reshape([n, c, h, 1, w, 1]);
    let x = Tensor::cat(vec![x.clone(), Tensor::zeros([n, c, h, 1, w, up - 1], &x.device())], 5);
    let x = Tensor::cat(vec![x.clone(), Tensor::zeros([n, c, h, up - 1, w, up], &x.device())], 3);
    x.reshape([n, c, h * up, w * up])
}

/// Pads with zeros (positive) or crops (negative): `[x0, x1, y0, y1]`.
fn pad_or_crop(x: Tensor<4>, [x0, x1, y0, y1]: [i64; 4]) -> Tensor<4> {
    let pos = |v: i64| v.max(0) as usize;
    let x = if [x0, x1, y0, y1].iter().any(|&v| v > 0) {
        x.pad((pos(x0), pos(x1), pos(y0), pos(y1)), burn::tensor::ops::PadMode::Constant(0.0))
    } else {
        x
    };
    let [_, _, h, w] = x.dims();
    let neg = |v: i64| (-v).max(0) as usize;
    x.narrow(2, neg(y0), h - neg(y0) - neg(y1)).narrow(3, neg(x0), w - neg(x0) - neg(x1))
}

/// The StyleGAN3 generator (configs T and R).
pub struct StyleGan3 {
    front: StyleFront,
    input: Input,
    layers: Vec<Layer>,
    config: StyleGan3Config,
}

impl StyleGan3 {
    /// Loads `G_ema` of an NVIDIA StyleGAN3 network pickle (read by [`Weights::from_file`]).
    pub fn from_weights(weights: &Weights, device: &Device) -> Result<Self, GeneratorError> {
        let config = StyleGan3Config::from_modules(weights)?;
        let m = Modules::new(weights, "StyleGAN3 generator")?;
        let mut t = weights.taker("", "stylegan3");
        let mapping = Mapping::load(&mut t, &m, (config.z_dim, config.w_dim, config.num_ws), device)?;
        let input = Input::load(&mut t, &m, config.w_dim, device)?;
        let layers = config
            .layer_names
            .iter()
            .map(|name| Layer::load(&mut t, &m, name, config.w_dim, device))
            .collect::<Result<Vec<_>, _>>()?;
        t.finish()?;
        let shape = ("stylegan3", config.resolution, config.img_channels);
        let front = StyleFront::new(mapping, (config.z_dim, config.num_ws), shape, device);
        Ok(Self { front, input, layers, config })
    }

    /// The configuration read from the pickle.
    pub fn config(&self) -> &StyleGan3Config {
        &self.config
    }

    /// Sets the truncation of codes given in Z or W (never in W+): `psi` on the first `layers` ws.
    pub fn set_truncation(&mut self, truncation: Truncation) -> Result<(), GeneratorError> {
        self.front.set_truncation(truncation)
    }

    /// `w = mapping(z)`: `[N, z_dim]` to `[N, w_dim]`.
    pub fn mapping(&self, z: Tensor<2>) -> Tensor<2> {
        self.front.mapping.forward(z)
    }

    /// `w` `[N, D]` to `ws` `[N, num_ws, D]` with the truncation set.
    pub fn truncate(&self, w: Tensor<2>) -> Tensor<3> {
        self.front.truncate(w)
    }

    /// The synthesis network: `ws` `[N, num_ws, D]` to raw images `[N, C, R, R]`.
    pub fn synthesis(&self, ws: Tensor<3>) -> Tensor<4> {
        let [n, _, d] = ws.dims();
        let w = |l: usize| ws.clone().narrow(1, l, 1).reshape([n, d]);
        let x = self.input.forward(w(0));
        let x = self.layers.iter().enumerate().fold(x, |x, (i, layer)| layer.forward(x, w(i + 1)));
        if self.config.output_scale != 1.0 { x.mul_scalar(self.config.output_scale as f32) } else { x }
    }

    /// The synthesis network's images as host values (burn's on every device).
    fn synthesis_images(&self, ws: Tensor<3>) -> Result<(Vec<f32>, [usize; 4]), GeneratorError> {
        super::images_of(self.synthesis(ws))
    }
}

super::nvidia::style_generator!(StyleGan3);
