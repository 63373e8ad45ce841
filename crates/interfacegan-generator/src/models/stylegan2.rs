//! StyleGAN2 (Karras et al. 2020) as NVIDIA's `networks_stylegan2.Generator` (stylegan2-ada-pytorch,
//! stylegan3): a mapping network with 2nd-moment normalisation and learning-rate-scaled layers,
//! truncation `w_avg.lerp(w, psi)` on the first `cutoff` layers, and synthesis blocks of modulated,
//! demodulated 3x3 convolutions (the first of each block up-sampling by a stride-2 transposed
//! convolution and the [1, 3, 3, 1] filter), constant or random noise, `bias_act` with `conv_clamp`,
//! and ToRGB outputs summed over up-sampled images (`skip`), taken at the end only (`orig`), or with
//! residual blocks (`resnet`).
//!
//! The configuration is read from the pickle's module records, never guessed from shapes. Blocks
//! that NVIDIA's code runs in fp16 on CUDA run in fp32 here, as the official code does off CUDA.

use burn::tensor::module::{conv_transpose2d, conv2d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use burn::tensor::{Device, Distribution, Tensor};

use super::nvidia::{Demodulation, Dense, Mapping, Modules, StyleFront};
use super::stylegan2_host::{HostFinish, HostModLayer, HostStep, LayerCodes};
use crate::error::GeneratorError;
use crate::ops::{channel_vector, tensor, to_vec};
use crate::weights::{TensorTaker, Weights};
use crate::{NoiseMode, Truncation};

/// The key every StyleGAN2 generator's state dict has.
pub(crate) const ANCHOR: &str = "synthesis.b4.const";
const SQRT_2: f64 = std::f64::consts::SQRT_2;

/// How a synthesis block turns features into the image (`architecture` in NVIDIA's code).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockArchitecture {
    /// Only the last block has a ToRGB layer.
    Orig,
    /// Every block adds its ToRGB output to the up-sampled image (all released models).
    Skip,
    /// Residual blocks with a 1x1 up-sampling skip convolution; ToRGB at the end.
    Resnet,
}

/// One synthesis block's shape.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockConfig {
    /// Output resolution of the block.
    pub resolution: usize,
    /// Input channels (0 for the first block, which starts from a learned constant).
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
    /// Whether NVIDIA's code runs the block in fp16 on CUDA (here it runs in fp32).
    pub use_fp16: bool,
}

/// A StyleGAN2 generator's configuration, read from its network pickle.
#[derive(Clone, Debug, PartialEq)]
pub struct StyleGan2Config {
    /// Dimension of z.
    pub z_dim: usize,
    /// Dimension of w.
    pub w_dim: usize,
    /// Output resolution.
    pub resolution: usize,
    /// Output channels.
    pub img_channels: usize,
    /// Number of w codes the synthesis network takes (W+ layers).
    pub num_ws: usize,
    /// Fully connected layers of the mapping network.
    pub mapping_layers: usize,
    /// The mapping network's learning-rate multiplier (its layers' weight and bias gains).
    pub mapping_lr_multiplier: f64,
    /// Block architecture.
    pub architecture: BlockArchitecture,
    /// `conv_clamp`: synthesis activations are clamped to +-this (None: no clamp).
    pub conv_clamp: Option<f64>,
    /// Whether the synthesis layers have noise inputs.
    pub use_noise: bool,
    /// The synthesis blocks, 4 px first.
    pub blocks: Vec<BlockConfig>,
}

const CLASSES: &[&str] = &[
    "Generator",
    "MappingNetwork",
    "FullyConnectedLayer",
    "SynthesisNetwork",
    "SynthesisBlock",
    "SynthesisLayer",
    "ToRGBLayer",
    "Conv2dLayer",
];

impl StyleGan2Config {
    /// Reads the configuration from the module records of a network pickle.
    pub fn from_modules(weights: &Weights) -> Result<Self, GeneratorError> {
        let modules = Modules::new(weights, "StyleGAN2 generator")?;
        modules.check_classes(CLASSES)?;
        let g = modules.module("", "Generator")?;
        let (z_dim, w_dim, resolution) = (g.usize("z_dim")?, g.usize("w_dim")?, g.usize("img_resolution")?);
        let (img_channels, num_ws) = (g.usize("img_channels")?, g.usize("num_ws")?);
        if g.usize("c_dim")? != 0 {
            return Err(modules.error("a conditional generator (c_dim > 0): class labels are not supported"));
        }
        let mapping = modules.module("mapping", "MappingNetwork")?;
        mapping.expect_usize("z_dim", z_dim)?;
        mapping.expect_usize("w_dim", w_dim)?;
        mapping.expect_usize("num_ws", num_ws)?;
        let mapping_layers = mapping.usize("num_layers")?;
        let fc0 = modules.module("mapping.fc0", "FullyConnectedLayer")?;
        let mapping_lr_multiplier = fc0.f64("bias_gain")?;
        let synthesis = modules.module("synthesis", "SynthesisNetwork")?;
        synthesis.expect_usize("num_ws", num_ws)?;
        synthesis.expect_usize("img_resolution", resolution)?;
        if resolution < 4 || !resolution.is_power_of_two() {
            return Err(modules.error(format!("img_resolution {resolution} is not a power of two >= 4")));
        }
        let mut blocks = Vec::new();
        let mut architecture = None;
        let mut conv_clamp = None;
        let mut res = 4;
        while res <= resolution {
            let path = format!("synthesis.b{res}");
            let b = modules.module(&path, "SynthesisBlock")?;
            b.expect_usize("resolution", res)?;
            b.expect_usize("img_channels", img_channels)?;
            let arch = match b.str("architecture")? {
                "orig" => BlockArchitecture::Orig,
                "skip" => BlockArchitecture::Skip,
                "resnet" => BlockArchitecture::Resnet,
                other => return Err(modules.error(format!("{path}: unknown architecture '{other}'"))),
            };
            if *architecture.get_or_insert(arch) != arch {
                return Err(modules.error(format!("{path}: blocks of different architectures")));
            }
            let conv1 = modules.module(&format!("{path}.conv1"), "SynthesisLayer")?;
            let clamp = conv1.opt_f64("conv_clamp")?;
            if res == 4 {
                conv_clamp = clamp;
            } else if clamp != conv_clamp {
                return Err(modules.error(format!("{path}: conv_clamp differs between blocks")));
            }
            blocks.push(BlockConfig {
                resolution: res,
                in_channels: b.usize("in_channels")?,
                out_channels: conv1.usize("out_channels")?,
                use_fp16: b.bool("use_fp16")?,
            });
            res *= 2;
        }
        let architecture = architecture.expect("at least the 4 px block");
        let use_noise = modules.module("synthesis.b4.conv1", "SynthesisLayer")?.bool("use_noise")?;
        let config = Self {
            z_dim,
            w_dim,
            resolution,
            img_channels,
            num_ws,
            mapping_layers,
            mapping_lr_multiplier,
            architecture,
            conv_clamp,
            use_noise,
            blocks,
        };
        if config.expected_num_ws() != num_ws {
            return Err(modules.error(format!("num_ws {num_ws} does not fit {} blocks", config.blocks.len())));
        }
        config.check_layers(&modules)?;
        Ok(config)
    }

    /// Checks every layer's module record against the configuration (the gains and shapes the loader
    /// derives from it).
    fn check_layers(&self, m: &Modules) -> Result<(), GeneratorError> {
        for i in 0..self.mapping_layers {
            let inp = if i == 0 { self.z_dim } else { self.w_dim };
            Dense::check(m, &format!("mapping.fc{i}"), [inp, self.w_dim], self.mapping_lr_multiplier, true)?;
        }
        for block in &self.blocks {
            for spec in self.layers(block) {
                let module = m.module(&spec.path, if spec.torgb { "ToRGBLayer" } else { "SynthesisLayer" })?;
                module.expect_usize("in_channels", spec.cin)?;
                module.expect_usize("out_channels", spec.cout)?;
                module.expect_usize("w_dim", self.w_dim)?;
                if module.opt_f64("conv_clamp")? != self.conv_clamp {
                    return Err(m.error(format!("{}: conv_clamp differs from the rest of the network", spec.path)));
                }
                Dense::check(m, &format!("{}.affine", spec.path), [self.w_dim, spec.cin], 1.0, false)?;
                if spec.torgb {
                    module.expect_close("weight_gain", 1.0 / (spec.cin as f64).sqrt())?;
                    continue;
                }
                module.expect_str("activation", "lrelu")?;
                module.expect_usize("up", if spec.up { 2 } else { 1 })?;
                module.expect_usize("resolution", block.resolution)?;
                module.expect_usize("padding", 1)?;
                if module.bool("use_noise")? != self.use_noise {
                    return Err(m.error(format!("{}: use_noise differs from the rest of the network", spec.path)));
                }
            }
            let b = m.module(&format!("synthesis.b{}", block.resolution), "SynthesisBlock")?;
            b.expect_usize("num_torgb", usize::from(self.has_torgb(block)))?;
            if block.in_channels != 0 && self.architecture == BlockArchitecture::Resnet {
                let skip = m.module(&format!("synthesis.b{}.skip", block.resolution), "Conv2dLayer")?;
                skip.expect_usize("up", 2)?;
                skip.expect_close("weight_gain", 1.0 / (block.in_channels as f64).sqrt())?;
            }
        }
        Ok(())
    }

    /// Whether the network runs on the CPU route on `device`: the CPU, and blocks that are not
    /// residual (the route has no skip convolutions; those networks keep burn's operators).
    fn cpu_route(&self, device: &Device) -> bool {
        super::is_cpu(device) && self.architecture != BlockArchitecture::Resnet
    }

    fn has_torgb(&self, block: &BlockConfig) -> bool {
        block.resolution == self.resolution || self.architecture == BlockArchitecture::Skip
    }

    /// The modulated layers of a block: conv0 (up-sampling, after the first block), conv1, torgb.
    fn layers(&self, block: &BlockConfig) -> Vec<LayerSpec> {
        let path = format!("synthesis.b{}", block.resolution);
        let (cin, cout) = (block.in_channels, block.out_channels);
        let mut layers = Vec::new();
        if cin != 0 {
            layers.push(LayerSpec { path: format!("{path}.conv0"), cin, cout, up: true, torgb: false });
        }
        layers.push(LayerSpec { path: format!("{path}.conv1"), cin: cout, cout, up: false, torgb: false });
        if self.has_torgb(block) {
            layers.push(LayerSpec {
                path: format!("{path}.torgb"),
                cin: cout,
                cout: self.img_channels,
                up: false,
                torgb: true,
            });
        }
        layers
    }

    /// The number of w codes the blocks consume: two per block but one for the first, plus the last ToRGB.
    fn expected_num_ws(&self) -> usize {
        2 * self.blocks.len()
    }
}

/// Where a modulated layer's tensors are and its shape.
struct LayerSpec {
    path: String,
    cin: usize,
    cout: usize,
    up: bool,
    torgb: bool,
}

/// A modulated convolution with its epilogue (SynthesisLayer, ToRGBLayer).
struct ModConv {
    affine: Dense,
    /// Scales the styles (ToRGB's `weight_gain`; 1 for synthesis layers).
    style_gain: f32,
    /// `[O, I, k, k]`, or for the up-sampling layer `[I, O, k, k]` (transposed convolution).
    weight: Tensor<4>,
    /// None for ToRGB, which is not demodulated.
    demodulation: Option<Demodulation>,
    /// The up-sampling layer's low-pass filter as a depthwise kernel `[O, 1, 4, 4]`, gain 4 folded in.
    up_filter: Option<Tensor<4>>,
    padding: usize,
    /// `noise_const * noise_strength` as `[1, 1, R, R]`, and the strength for random noise.
    noise: Option<(Tensor<4>, f32)>,
    bias: Tensor<4>,
    /// Leaky ReLU with gain sqrt(2) (synthesis layers) or linear (ToRGB).
    lrelu: bool,
    clamp: Option<f64>,
    /// The layer on the CPU route (on the CPU only).
    host: Option<HostModLayer>,
}

impl ModConv {
    fn load(
        t: &mut TensorTaker,
        spec: &LayerSpec,
        config: &StyleGan2Config,
        device: &Device,
    ) -> Result<Self, GeneratorError> {
        let (path, cin, cout) = (spec.path.as_str(), spec.cin, spec.cout);
        let affine_gains = ((1.0 / (config.w_dim as f64).sqrt()) as f32, 1.0);
        let affine = Dense::new(t, &format!("{path}.affine"), [config.w_dim, cin], affine_gains, false, device)?;
        let k = match t.shape(&format!("{path}.weight")) {
            Some(&[_, _, k, k2]) if k == k2 && k % 2 == 1 => k,
            other => {
                return Err(GeneratorError::Architecture {
                    source_name: t.source().to_string(),
                    reason: format!("{path}.weight has shape {other:?}, not [O, I, k, k] with odd k"),
                });
            }
        };
        let w = t.take(&format!("{path}.weight"), &[cout, cin, k, k])?;
        let bias_values = t.take(&format!("{path}.bias"), &[cout])?;
        let bias = channel_vector(&bias_values, device);
        let clamp = config.conv_clamp;
        let cpu = config.cpu_route(device);
        if spec.torgb {
            let style_gain = (1.0 / ((cin * k * k) as f64).sqrt()) as f32;
            let weight = tensor(&w, [cout, cin, k, k], device);
            let (up_filter, noise, demodulation) = (None, None, None);
            let host =
                cpu.then(|| HostModLayer::same(&w, [cout, cin, k], HostFinish::new(bias_values, None, false, clamp)));
            return Ok(Self {
                affine,
                style_gain,
                weight,
                demodulation,
                up_filter,
                padding: 0,
                noise,
                bias,
                lrelu: false,
                clamp,
                host,
            });
        }
        let demodulation = Some(Demodulation::new(&w, [cout, cin, k], device));
        // Every NVIDIA layer stores the filter; only the up-sampling ones use it.
        let filter_key = format!("{path}.resample_filter");
        if !spec.up {
            t.ignore(&filter_key);
        }
        let noise = if config.use_noise { Some(load_noise(t, path)?) } else { None };
        // Built only for the CPU route: it copies the noise map (up to R·R values per layer).
        let finish = || HostFinish::new(bias_values, noise.as_ref().map(|(konst, ..)| konst.clone()), true, clamp);
        let (weight, up_filter, host) = if spec.up {
            let filter = t.take(&filter_key, &[4, 4])?;
            // The cross-correlation kernel the burn route applies, as the CPU route's filter.
            let kernel = std::array::from_fn(|i| filter[15 - i] * 4.0);
            let host = (cpu && k == 3).then(|| HostModLayer::up(&w, (cout, cin), kernel, finish()));
            (transposed_weight(&w, [cout, cin, k], device), Some(depthwise_filter(&filter, cout, 4.0, device)), host)
        } else {
            let host = cpu.then(|| HostModLayer::same(&w, [cout, cin, k], finish()));
            (tensor(&w, [cout, cin, k, k], device), None, host)
        };
        let noise = noise.map(|(konst, side, strength)| (tensor(&konst, [1, 1, side, side], device), strength));
        Ok(Self {
            affine,
            style_gain: 1.0,
            weight,
            demodulation,
            up_filter,
            padding: k / 2,
            noise,
            bias,
            lrelu: true,
            clamp,
            host,
        })
    }

    /// This layer's styles and demodulation coefficients for the codes `w` `[N, D]`, on the host.
    fn codes(&self, w: Tensor<2>) -> Result<LayerCodes, GeneratorError> {
        let mut styles = self.affine.forward(w);
        if self.style_gain != 1.0 {
            styles = styles.mul_scalar(self.style_gain);
        }
        let dcoefs = self.demodulation.as_ref().map(|d| to_vec(d.coefficients(styles.clone()))).transpose()?;
        Ok(LayerCodes { styles: to_vec(styles)?, dcoefs })
    }

    /// `x` `[N, I, H, W]` modulated by `w` `[N, D]`; `gain` scales the activation and its clamp.
    fn forward(&self, x: Tensor<4>, w: Tensor<2>, noise_mode: NoiseMode, gain: f64) -> Tensor<4> {
        let [n, cin, _, _] = x.dims();
        let mut styles = self.affine.forward(w);
        if self.style_gain != 1.0 {
            styles = styles.mul_scalar(self.style_gain);
        }
        let x = x * styles.clone().reshape([n, cin, 1, 1]);
        let mut x = match &self.up_filter {
            Some(filter) => {
                let options = ConvTransposeOptions::new([2, 2], [0, 0], [0, 0], [1, 1], 1);
                let x = conv_transpose2d(x, self.weight.clone(), None, options);
                let channels = filter.dims()[0];
                conv2d(x, filter.clone(), None, ConvOptions::new([1, 1], [1, 1], [1, 1], channels))
            }
            None => {
                let p = self.padding;
                conv2d(x, self.weight.clone(), None, ConvOptions::new([1, 1], [p, p], [1, 1], 1))
            }
        };
        let [_, cout, h, wd] = x.dims();
        if let Some(demodulation) = &self.demodulation {
            let dcoefs = demodulation.coefficients(styles);
            x = x * dcoefs.reshape([n, cout, 1, 1]);
        }
        if let Some((konst, strength)) = &self.noise {
            match noise_mode {
                NoiseMode::Const => x = x + konst.clone(),
                NoiseMode::Random => {
                    let noise = Tensor::<4>::random([n, 1, h, wd], Distribution::Normal(0.0, 1.0), &x.device());
                    x = x + noise.mul_scalar(*strength);
                }
                NoiseMode::None => {}
            }
        }
        let mut x = x + self.bias.clone();
        if self.lrelu {
            x = burn::tensor::activation::leaky_relu(x, 0.2).mul_scalar((SQRT_2 * gain) as f32);
        } else if gain != 1.0 {
            x = x.mul_scalar(gain as f32);
        }
        match self.clamp {
            Some(c) => x.clamp(-(c * gain) as f32, (c * gain) as f32),
            None => x,
        }
    }
}

/// A 2-D low-pass filter `[4, 4]` as a depthwise kernel `[C, 1, 4, 4]` scaled by `gain`. NVIDIA's
/// `upfirdn2d` convolves (flips the filter); the stored filters are symmetric, and flipping keeps it exact.
fn depthwise_filter(filter: &[f32], channels: usize, gain: f32, device: &Device) -> Tensor<4> {
    let flipped: Vec<f32> = (0..16).map(|i| filter[15 - i] * gain).collect();
    let all: Vec<f32> = (0..channels).flat_map(|_| flipped.iter().copied()).collect();
    tensor(&all, [channels, 1, 4, 4], device)
}

/// `upfirdn2d.upsample2d` with the 4x4 filter: zero insertion, then the filter (padding 2, 1).
/// As a depthwise transposed convolution of stride 2 and padding 1, whose kernel is the filter unflipped.
fn upsample2d(x: Tensor<4>, filter: &Tensor<4>) -> Tensor<4> {
    let channels = filter.dims()[0];
    let options = ConvTransposeOptions::new([2, 2], [1, 1], [0, 0], [1, 1], channels);
    conv_transpose2d(x, filter.clone(), None, options)
}

struct Block {
    konst: Option<Tensor<4>>,
    conv0: Option<ModConv>,
    conv1: ModConv,
    torgb: Option<ModConv>,
    /// The resnet skip: a 1x1 convolution `[O, I, 1, 1]` (gain folded), then up-sampling.
    skip: Option<(Tensor<4>, Tensor<4>)>,
    /// The block's filter for up-sampling the image (unflipped, gain 4), `[C_img, 1, 4, 4]`.
    image_filter: Tensor<4>,
    /// The same kernel on the CPU route.
    image_kernel: [f32; 16],
    /// The first block's constant channel-last, `[R·R, C]`, on the CPU route.
    host_konst: Option<Vec<f32>>,
}

impl Block {
    fn num_conv(&self) -> usize {
        1 + usize::from(self.conv0.is_some())
    }

    fn load(
        t: &mut TensorTaker,
        block: &BlockConfig,
        config: &StyleGan2Config,
        device: &Device,
    ) -> Result<Self, GeneratorError> {
        let path = format!("synthesis.b{}", block.resolution);
        let (cin, cout, res) = (block.in_channels, block.out_channels, block.resolution);
        // The first block stores the image filter too, but has no image to up-sample.
        let filter_key = format!("{path}.resample_filter");
        let filter = if cin == 0 {
            t.ignore(&filter_key);
            vec![0.0; 16]
        } else {
            t.take(&filter_key, &[4, 4])?
        };
        let konst = if cin == 0 { Some(t.take(&format!("{path}.const"), &[cout, res, res])?) } else { None };
        let host_konst = konst.as_ref().filter(|_| config.cpu_route(device));
        let host_konst = host_konst.map(|k| interfacegan_simd::to_channel_last(k, cout, res * res));
        let konst = konst.map(|k| tensor(&k, [1, cout, res, res], device));
        let mut layers = config.layers(block).into_iter();
        let conv0 =
            if cin == 0 { None } else { Some(ModConv::load(t, &layers.next().expect("conv0"), config, device)?) };
        let conv1 = ModConv::load(t, &layers.next().expect("conv1"), config, device)?;
        let torgb = layers.next().map(|spec| ModConv::load(t, &spec, config, device)).transpose()?;
        let skip = if cin != 0 && config.architecture == BlockArchitecture::Resnet {
            let p = format!("{path}.skip");
            let gain = (1.0 / (cin as f64).sqrt()) as f32;
            let w: Vec<f32> = t.take(&format!("{p}.weight"), &[cout, cin, 1, 1])?.iter().map(|v| v * gain).collect();
            let f = t.take(&format!("{p}.resample_filter"), &[4, 4])?;
            let unflipped = depthwise_filter(&f.iter().rev().copied().collect::<Vec<_>>(), cout, 4.0, device);
            Some((tensor(&w, [cout, cin, 1, 1], device), unflipped))
        } else {
            None
        };
        let unflipped: Vec<f32> = filter.iter().rev().copied().collect();
        let image_filter = depthwise_filter(&unflipped, config.img_channels, 4.0, device);
        let image_kernel = std::array::from_fn(|i| filter[i] * 4.0);
        Ok(Self { konst, conv0, conv1, torgb, skip, image_filter, image_kernel, host_konst })
    }

    /// One block: features and image in, features and image out; `ws` are the block's codes.
    fn forward(
        &self,
        x: Option<Tensor<4>>,
        img: Option<Tensor<4>>,
        ws: &[Tensor<2>],
        noise_mode: NoiseMode,
    ) -> (Tensor<4>, Option<Tensor<4>>) {
        let n = ws[0].dims()[0];
        let x = match (&self.konst, x) {
            (Some(k), _) => self.conv1.forward(k.clone().repeat_dim(0, n), ws[0].clone(), noise_mode, 1.0),
            (None, Some(x)) => {
                let conv0 = self.conv0.as_ref().expect("blocks after the first have conv0");
                match &self.skip {
                    Some((weight, filter)) => {
                        let y = conv2d(x.clone(), weight.clone(), None, ConvOptions::new([1, 1], [0, 0], [1, 1], 1));
                        let y = upsample2d(y, filter).mul_scalar(std::f32::consts::FRAC_1_SQRT_2);
                        let x = conv0.forward(x, ws[0].clone(), noise_mode, 1.0);
                        y + self.conv1.forward(x, ws[1].clone(), noise_mode, std::f64::consts::FRAC_1_SQRT_2)
                    }
                    None => {
                        let x = conv0.forward(x, ws[0].clone(), noise_mode, 1.0);
                        self.conv1.forward(x, ws[1].clone(), noise_mode, 1.0)
                    }
                }
            }
            (None, None) => unreachable!("the first block has the constant"),
        };
        let img = img.map(|img| upsample2d(img, &self.image_filter));
        let img = match &self.torgb {
            Some(torgb) => {
                let y = torgb.forward(x.clone(), ws[self.num_conv()].clone(), noise_mode, 1.0);
                Some(match img {
                    Some(img) => img + y,
                    None => y,
                })
            }
            None => img,
        };
        (x, img)
    }
}

/// The StyleGAN2 generator.
pub struct StyleGan2 {
    front: StyleFront,
    blocks: Vec<Block>,
    noise_mode: NoiseMode,
    config: StyleGan2Config,
}

/// `weights` under NVIDIA's `G_ema.state_dict()` keys (`None`: they are already) and its
/// configuration: an NVIDIA network pickle's from its module records, another layout's (rosinality,
/// genforce) renamed and read from its shapes.
pub(crate) fn nvidia_keys(weights: &Weights) -> Result<(Option<Weights>, StyleGan2Config), GeneratorError> {
    use super::stylegan2_layouts::{GENFORCE_ANCHOR, ROSINALITY_ANCHOR, genforce, rosinality};
    if weights.modules().is_empty() {
        if weights.prefix_of(ROSINALITY_ANCHOR).is_some() {
            return rosinality(weights).map(|(w, c)| (Some(w), c));
        }
        if weights.prefix_of(GENFORCE_ANCHOR).is_some() {
            return genforce(weights).map(|(w, c)| (Some(w), c));
        }
    }
    let config = StyleGan2Config::from_modules(weights)?;
    if weights.shape("mapping.w_avg") != Some(&[config.w_dim][..]) {
        return Err(GeneratorError::MissingTensor {
            source_name: weights.source().to_string(),
            key: "mapping.w_avg".into(),
            expected: vec![config.w_dim],
        });
    }
    Ok((None, config))
}

impl StyleGan2 {
    /// Loads `G_ema` of an NVIDIA network pickle (read by [`Weights::from_file`]), configured by its
    /// module records.
    ///
    /// Checkpoints in rosinality's and genforce's layouts (no module records) are renamed to NVIDIA's
    /// keys and configured from their shapes (`docs/generator.md`).
    pub fn from_weights(weights: &Weights, device: &Device) -> Result<Self, GeneratorError> {
        let (renamed, config) = nvidia_keys(weights)?;
        Self::with_config(renamed.as_ref().unwrap_or(weights), config, device)
    }

    /// Loads tensors named as NVIDIA's `G_ema.state_dict()` with an explicit configuration (other
    /// layouts are renamed to these keys first). Without `mapping.w_avg`, the mean of w over 4096
    /// seeded z stands in.
    pub fn with_config(weights: &Weights, config: StyleGan2Config, device: &Device) -> Result<Self, GeneratorError> {
        if config.blocks.is_empty() || config.expected_num_ws() != config.num_ws {
            let (blocks, ws) = (config.blocks.len(), config.expected_num_ws());
            return Err(GeneratorError::Config {
                model: "StyleGAN2",
                needs: format!("blocks, and {blocks} blocks take {ws} ws, not {}", config.num_ws),
            });
        }
        let mut t = weights.taker("", "stylegan2");
        let dims = (config.z_dim, config.w_dim);
        let mapping = Mapping::new(&mut t, config.mapping_layers, dims, config.mapping_lr_multiplier, device)?;
        let blocks =
            config.blocks.iter().map(|b| Block::load(&mut t, b, &config, device)).collect::<Result<Vec<_>, _>>()?;
        t.finish()?;
        let shape = ("stylegan2", config.resolution, config.img_channels);
        let front = StyleFront::new(mapping, (config.z_dim, config.num_ws), shape, device);
        Ok(Self { front, blocks, noise_mode: NoiseMode::Const, config })
    }

    /// The configuration read from the pickle.
    pub fn config(&self) -> &StyleGan2Config {
        &self.config
    }

    /// Sets the truncation of codes given in Z or W (never in W+): `psi` on the first `layers` ws.
    pub fn set_truncation(&mut self, truncation: Truncation) -> Result<(), GeneratorError> {
        self.front.set_truncation(truncation)
    }

    /// Sets the noise inputs: the stored constant noise (default), fresh noise, or none.
    pub fn set_noise_mode(&mut self, mode: NoiseMode) {
        self.noise_mode = mode;
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
        let per_layer: Vec<Tensor<2>> =
            (0..self.config.num_ws).map(|l| ws.clone().narrow(1, l, 1).reshape([n, d])).collect();
        let (mut x, mut img) = (None, None);
        let mut w_idx = 0;
        for block in &self.blocks {
            let (next, image) = block.forward(x, img, &per_layer[w_idx..], self.noise_mode);
            (x, img) = (Some(next), image);
            w_idx += block.num_conv();
        }
        img.expect("the last block has a ToRGB layer")
    }

    /// The synthesis network's images `[N, C, R, R]` as host values: on the CPU route where the
    /// device is the CPU, the noise constant or none and the blocks not residual, else burn's.
    fn synthesis_images(&self, ws: Tensor<3>) -> Result<(Vec<f32>, [usize; 4]), GeneratorError> {
        let plan = self.host_plan().filter(|_| self.noise_mode != NoiseMode::Random);
        let (Some((konst, plan)), [n, _, d]) = (plan, ws.dims()) else { return super::images_of(self.synthesis(ws)) };
        let steps = plan
            .into_iter()
            .map(|(step, conv, l)| Ok((step, conv.codes(ws.clone().narrow(1, l, 1).reshape([n, d]))?)))
            .collect::<Result<Vec<_>, GeneratorError>>()?;
        let images = super::stylegan2_host::synthesize(konst, &steps, n, self.noise_mode == NoiseMode::Const);
        let (r, c) = (self.config.resolution, self.config.img_channels);
        Ok((images, [n, c, r, r]))
    }

    /// The constant and the CPU route's steps, each with its layer and the index of its w; None
    /// where a layer has no CPU form.
    #[allow(clippy::type_complexity)]
    fn host_plan(&self) -> Option<(&[f32], Vec<(HostStep<'_>, &ModConv, usize)>)> {
        let konst = self.blocks.first()?.host_konst.as_deref()?;
        let (mut plan, mut l) = (Vec::new(), 0);
        for block in &self.blocks {
            for conv in block.conv0.iter().chain([&block.conv1]) {
                plan.push((HostStep::Features(conv.host.as_ref()?), conv, l));
                l += 1;
            }
            if let Some(torgb) = &block.torgb {
                plan.push((HostStep::Image(torgb.host.as_ref()?, block.image_kernel), torgb, l));
            }
        }
        Some((konst, plan))
    }
}

super::nvidia::style_generator!(StyleGan2);

/// A convolution weight `[O, I, k, k]` as the `[I, O, k, k]` weight of the transposed convolution
/// that up-samples.
fn transposed_weight(w: &[f32], [cout, cin, k]: [usize; 3], device: &Device) -> Tensor<4> {
    let mut transposed = vec![0f32; w.len()];
    for o in 0..cout {
        for i in 0..cin {
            transposed[(i * cout + o) * k * k..][..k * k].copy_from_slice(&w[(o * cin + i) * k * k..][..k * k]);
        }
    }
    tensor(&transposed, [cin, cout, k, k], device)
}

/// A layer's constant noise map `[R·R]` already multiplied by its strength, R, and the strength
/// (random noise is scaled by it at run time).
fn load_noise(t: &mut TensorTaker, path: &str) -> Result<(Vec<f32>, usize, f32), GeneratorError> {
    let resolution = t.shape(&format!("{path}.noise_const")).map_or(0, |s| s[0]);
    let strength = t.take(&format!("{path}.noise_strength"), &[1])?[0];
    let konst = t.take(&format!("{path}.noise_const"), &[resolution, resolution])?;
    Ok((konst.iter().map(|v| v * strength).collect(), resolution, strength))
}
