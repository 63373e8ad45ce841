//! A small convolutional encoder, image to code, trained on the generator's own pairs
//! `(G(z), z)` (the learned-inversion idea of LIA and idinvert), whose output starts the
//! optimisation.

use std::collections::HashMap;
use std::path::Path;

use burn::tensor::activation::leaky_relu;
use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor, TensorData};
use image::RgbImage;
use interfacegan_generator::{Generator, LatentSpace, Weights, ZSampler, normalize_z};
use interfacegan_models::ModelStore;
use rand::{SeedableRng, rngs::ChaCha8Rng};
use rand_distr::{Distribution, Normal};

use crate::adam::Adam;
use crate::error::InversionError;
use crate::invert::host;
use crate::schedule::LearningRate;
use crate::target::to_raw;

/// The registry's name of the default DCGAN's encoder (`interfacegan train-encoder` with its
/// defaults; provenance in `interfacegan_models::MODELS`).
pub const DEFAULT_ENCODER: &str = "dcgan-encoder";

/// The architecture: 4x4 stride-2 convolutions with leaky ReLU halve the image down to 4x4, then
/// one linear layer gives the code.
#[derive(Clone, Debug, PartialEq)]
pub struct EncoderConfig {
    /// Input images are `resolution x resolution` RGB, a power of two >= 8.
    pub resolution: usize,
    /// Output channels of the convolutions (`log2(resolution / 4)` of them).
    pub widths: Vec<usize>,
    /// Values in a code (`D` for Z and W, `L * D` for W+).
    pub code_len: usize,
}

impl EncoderConfig {
    /// Widths 32, 64, 128, ... capped at 256, for a generator's resolution and code length.
    pub fn for_generator(resolution: usize, code_len: usize) -> Result<Self, InversionError> {
        if resolution < 8 || !resolution.is_power_of_two() {
            return Err(InversionError::Resolution { resolution });
        }
        let convs = (resolution / 4).trailing_zeros() as usize;
        let widths = (0..convs).map(|i| (32usize << i).min(256)).collect();
        Ok(Self { resolution, widths, code_len })
    }

    fn shapes(&self) -> Vec<(String, Vec<usize>)> {
        let mut shapes = Vec::new();
        let mut cin = 3;
        for (i, &w) in self.widths.iter().enumerate() {
            shapes.push((format!("conv{i}.weight"), vec![w, cin, 4, 4]));
            shapes.push((format!("conv{i}.bias"), vec![w]));
            cin = w;
        }
        shapes.push(("fc.weight".into(), vec![self.code_len, cin * 16]));
        shapes.push(("fc.bias".into(), vec![self.code_len]));
        shapes
    }
}

/// The encoder with its weights (kept on the host; each forward copies them to the device).
#[derive(Clone, Debug)]
pub struct Encoder {
    config: EncoderConfig,
    space: LatentSpace,
    /// `(key, shape, values)` in [`EncoderConfig::shapes`] order.
    params: Vec<(String, Vec<usize>, Vec<f32>)>,
}

impl Encoder {
    /// A fresh encoder with He-initialised weights and zero biases.
    pub fn new(config: EncoderConfig, space: LatentSpace, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let params = config
            .shapes()
            .into_iter()
            .map(|(key, shape)| {
                let len = shape.iter().product();
                let values = if key.ends_with("bias") {
                    vec![0.0; len]
                } else {
                    let fan_in: usize = shape[1..].iter().product();
                    let gain = if key.starts_with("conv") { 2.0 } else { 1.0 };
                    let normal = Normal::new(0.0f32, (gain / fan_in as f32).sqrt()).expect("positive deviation");
                    (0..len).map(|_| normal.sample(&mut rng)).collect()
                };
                (key, shape, values)
            })
            .collect();
        Self { config, space, params }
    }

    /// The encoder of the default DCGAN, its file found by [`ModelStore::from_env`].
    pub fn default_dcgan() -> Result<Self, InversionError> {
        Self::default_dcgan_in(&ModelStore::from_env())
    }

    /// The encoder of the default DCGAN ([`DEFAULT_ENCODER`]), its file found and verified by `store`.
    pub fn default_dcgan_in(store: &ModelStore) -> Result<Self, InversionError> {
        let (located, bytes) = store.read(DEFAULT_ENCODER)?;
        Self::from_bytes(&bytes, &located.path.display().to_string())
    }

    /// Reads an encoder written by [`save`](Self::save).
    pub fn load(path: impl AsRef<Path>) -> Result<Self, InversionError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path)
            .map_err(|e| InversionError::Weights { source_name: path.display().to_string(), reason: e.to_string() })?;
        Self::from_bytes(&bytes, &path.display().to_string())
    }

    /// Reads an encoder from safetensors bytes; `source` names them in errors.
    pub fn from_bytes(bytes: &[u8], source: &str) -> Result<Self, InversionError> {
        let bad = |reason: String| InversionError::Weights { source_name: source.to_string(), reason };
        let (_, metadata) = safetensors::SafeTensors::read_metadata(bytes).map_err(|e| bad(e.to_string()))?;
        let meta: HashMap<String, String> = metadata.metadata().clone().unwrap_or_default();
        let field =
            |key: &str| meta.get(key).ok_or_else(|| bad(format!("no `{key}` in the metadata: not an encoder file")));
        let space = LatentSpace::parse(field("space")?).map_err(|e| bad(e.to_string()))?;
        let resolution: usize = field("resolution")?.parse().map_err(|_| bad("`resolution` is not a number".into()))?;
        let weights = Weights::from_bytes(bytes, source)?;
        let code_len = weights
            .shape("fc.weight")
            .and_then(|shape| shape.first().copied())
            .ok_or_else(|| bad("missing tensor `fc.weight`".into()))?;
        let widths = (0..)
            .map_while(|i| weights.shape(&format!("conv{i}.weight")).and_then(|shape| shape.first().copied()))
            .collect::<Vec<_>>();
        // Validates the resolution; the widths are the file's own.
        let base = EncoderConfig::for_generator(resolution, code_len).map_err(|e| bad(e.to_string()))?;
        let config = EncoderConfig { widths, ..base };
        if config.widths.len() != (resolution / 4).trailing_zeros() as usize {
            return Err(bad(format!(
                "{} convolutions cannot take {resolution} px images down to 4x4",
                config.widths.len()
            )));
        }
        let mut taker = weights.taker("", "encoder");
        let params = config
            .shapes()
            .into_iter()
            .map(|(key, shape)| Ok((key.clone(), shape.clone(), taker.take(&key, &shape)?)))
            .collect::<Result<Vec<_>, InversionError>>()?;
        taker.finish()?;
        Ok(Self { config, space, params })
    }

    /// Writes the encoder as safetensors with its space and resolution in the metadata, atomically
    /// (temporary name, then rename); an existing file is kept unless `overwrite`.
    pub fn save(&self, path: impl AsRef<Path>, overwrite: bool) -> Result<(), InversionError> {
        let path = path.as_ref();
        let write_err = |reason: String| InversionError::Write { path: path.to_path_buf(), reason };
        let bytes: Vec<Vec<u8>> =
            self.params.iter().map(|(_, _, values)| values.iter().flat_map(|v| v.to_le_bytes()).collect()).collect();
        let views = self
            .params
            .iter()
            .zip(&bytes)
            .map(|((key, shape, _), data)| {
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), data)
                    .map(|view| (key.clone(), view))
                    .map_err(|e| write_err(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let metadata = HashMap::from([
            ("space".to_string(), self.space.short_name().to_string()),
            ("resolution".to_string(), self.config.resolution.to_string()),
            ("format".to_string(), "interfacegan-rs encoder".to_string()),
        ]);
        let bytes = safetensors::serialize(views, Some(metadata)).map_err(|e| write_err(e.to_string()))?;
        interfacegan_io::write_atomic(path, &bytes, overwrite).map_err(|e| write_err(e.to_string()))
    }

    /// The architecture.
    pub fn config(&self) -> &EncoderConfig {
        &self.config
    }

    /// The latent space of the codes it predicts.
    pub fn space(&self) -> LatentSpace {
        self.space
    }

    /// Checks that the encoder fits `generator` in `space`.
    pub fn check_fits(&self, generator: &dyn Generator, space: LatentSpace) -> Result<(), InversionError> {
        let info = generator.info();
        let code_len: usize = info.code_shape(space).iter().product();
        if self.space != space || self.config.code_len != code_len || self.config.resolution != info.resolution {
            return Err(InversionError::EncoderMismatch {
                encoder_space: self.space.to_string(),
                encoder_code_len: self.config.code_len,
                encoder_resolution: self.config.resolution,
                architecture: info.architecture,
                space: space.to_string(),
                code_len,
                resolution: info.resolution,
            });
        }
        Ok(())
    }

    /// Codes for target images (of the encoder's resolution), row-major.
    pub fn encode(&self, images: &[RgbImage], device: &Device) -> Result<Vec<f32>, InversionError> {
        let res = self.config.resolution;
        if let Some((i, img)) = images.iter().enumerate().find(|(_, t)| t.dimensions() != (res as u32, res as u32)) {
            return Err(InversionError::InvalidTarget {
                source_name: format!("image {i}"),
                reason: format!("is {:?}; the encoder takes {res}x{res}", img.dimensions()),
            });
        }
        if images.is_empty() {
            return Ok(Vec::new());
        }
        let device = device.clone().without_autodiff();
        let x = Tensor::<4>::from_data(TensorData::new(to_raw(images), [images.len(), 3, res, res]), &device);
        host(self.forward(x, &self.device_params(&device, false)))
    }

    fn device_params(&self, device: &Device, track: bool) -> Vec<Tensor<4>> {
        self.params
            .iter()
            .map(|(_, shape, values)| {
                let mut padded = shape.clone();
                padded.resize(4, 1);
                let t = Tensor::<4>::from_data(
                    TensorData::new(values.clone(), [padded[0], padded[1], padded[2], padded[3]]),
                    device,
                );
                if track { t.require_grad() } else { t }
            })
            .collect()
    }

    /// `[N, 3, R, R]` in `[-1, 1]` to codes `[N, code_len]`; `params` from `device_params`.
    fn forward(&self, images: Tensor<4>, params: &[Tensor<4>]) -> Tensor<2> {
        let n = images.dims()[0];
        let mut x = images;
        for layer in params.chunks(2).take(self.config.widths.len()) {
            let bias = layer[1].clone().reshape([layer[1].dims()[0]]);
            x = leaky_relu(conv2d(x, layer[0].clone(), Some(bias), ConvOptions::new([2, 2], [1, 1], [1, 1], 1)), 0.2);
        }
        let [_, c, h, w] = x.dims();
        let fc = &params[2 * self.config.widths.len()..];
        let [out, inp, _, _] = fc[0].dims();
        let weight = fc[0].clone().reshape([out, inp]).transpose();
        x.reshape([n, c * h * w]).matmul(weight) + fc[1].clone().reshape([1, out])
    }
}

/// The most (G(z), z) pairs one training step may draw.
pub const MAX_TRAINING_BATCH: usize = 4096;

/// How to train an encoder.
#[derive(Clone, Debug, PartialEq)]
pub struct EncoderTraining {
    /// Optimisation steps.
    pub steps: usize,
    /// Fresh `(G(z), z)` pairs per step.
    pub batch: usize,
    /// Adam's learning rate over the run.
    pub learning_rate: LearningRate,
    /// Weight of the image loss `mean((G(E(x)) - x)^2)` beside the code loss `mean((E(x) - z)^2)`
    /// (0 trains on codes alone, twice as fast).
    pub image_weight: f64,
    /// Scale z to norm `sqrt(D)` as PGGAN/StyleGAN expect (false for the DCGAN).
    pub normalize_z: bool,
    /// Held-out pairs measured at the end.
    pub validation: usize,
    /// Seed of the initial weights and of the codes.
    pub seed: u64,
}

impl Default for EncoderTraining {
    /// The settings of the default DCGAN's encoder.
    fn default() -> Self {
        Self {
            steps: 2000,
            batch: 64,
            learning_rate: LearningRate { initial: 1e-3, rampup: 0.0, rampdown: 0.3 },
            image_weight: 0.0,
            normalize_z: false,
            validation: 256,
            seed: 0,
        }
    }
}

/// How a training run went.
#[derive(Clone, Debug, PartialEq)]
pub struct EncoderReport {
    /// The training loss at each step.
    pub loss_curve: Vec<f32>,
    /// Mean squared code error on the held-out pairs.
    pub validation_code_mse: f64,
    /// Mean pixel PSNR of `G(E(x))` against `x` on the held-out pairs, dB.
    pub validation_psnr: f64,
    /// Wall time, seconds.
    pub seconds: f64,
}

/// Trains an encoder for `generator` (on an autodiff device) in the Z space, on pairs it draws
/// itself; `on_step(step, loss)` after each step.
pub fn train_encoder(
    generator: &dyn Generator,
    training: &EncoderTraining,
    on_step: &mut dyn FnMut(usize, f32),
) -> Result<(Encoder, EncoderReport), InversionError> {
    let started = std::time::Instant::now();
    if !generator.device().is_autodiff() {
        return Err(InversionError::NeedsAutodiff { what: "training" });
    }
    training.check()?;
    let info = generator.info();
    let config = EncoderConfig::for_generator(info.resolution, info.latent_dim)?;
    let mut encoder = Encoder::new(config, LatentSpace::Z, training.seed);
    let pairs = Pairs { generator, normalize_z: training.normalize_z };
    let loss_curve = fit(&mut encoder, &pairs, training, on_step)?;
    let (validation_code_mse, validation_psnr) = validate(&encoder, &pairs, training)?;
    let seconds = started.elapsed().as_secs_f64();
    Ok((encoder, EncoderReport { loss_curve, validation_code_mse, validation_psnr, seconds }))
}

impl EncoderTraining {
    /// Fails naming the first option out of range.
    pub fn check(&self) -> Result<(), InversionError> {
        let counts = [("steps", self.steps, crate::MAX_STEPS), ("pairs per step", self.batch, MAX_TRAINING_BATCH)];
        for (what, count, max) in counts {
            if count == 0 || count > max {
                return Err(InversionError::Count { what, count, max });
            }
        }
        if !(self.image_weight.is_finite() && self.image_weight >= 0.0) {
            return Err(InversionError::Negative { what: "the image weight", value: self.image_weight });
        }
        self.learning_rate.validate()
    }
}

/// Training pairs: codes and the images the generator draws from them.
struct Pairs<'a> {
    generator: &'a dyn Generator,
    normalize_z: bool,
}

impl Pairs<'_> {
    /// `n` codes from `sampler` and their images (detached: no gradient flows into the generator).
    fn draw(&self, sampler: &mut ZSampler, n: usize) -> Result<(Vec<f32>, Tensor<4>), InversionError> {
        let dim = self.generator.info().latent_dim;
        let mut z = sampler.next_batch(n);
        if self.normalize_z {
            normalize_z(&mut z, dim);
        }
        let input = Tensor::<3>::from_data(TensorData::new(z.clone(), [n, 1, dim]), self.generator.device());
        let images = self.generator.forward(input, LatentSpace::Z)?.detach();
        Ok((z, images))
    }
}

/// Adam on the code loss (plus the image loss when weighted) over fresh pairs from stream 0 of
/// the seed; returns the loss per step.
fn fit(
    encoder: &mut Encoder,
    pairs: &Pairs,
    training: &EncoderTraining,
    on_step: &mut dyn FnMut(usize, f32),
) -> Result<Vec<f32>, InversionError> {
    let (generator, device) = (pairs.generator, pairs.generator.device());
    let dim = generator.info().latent_dim;
    let mut sampler = ZSampler::with_stream(dim, training.seed, 0);
    let mut adams: Vec<Adam> = encoder.params.iter().map(|(_, _, v)| Adam::new(v.len())).collect();
    let mut loss_curve = Vec::with_capacity(training.steps);
    for step in 0..training.steps {
        let (z, images) = pairs.draw(&mut sampler, training.batch)?;
        let params = encoder.device_params(device, true);
        let predicted = encoder.forward(images.clone(), &params);
        let truth = Tensor::<2>::from_data(TensorData::new(z, [training.batch, dim]), device);
        let mut loss = (predicted.clone() - truth).square().mean();
        if training.image_weight > 0.0 {
            let redrawn = generator.forward(predicted.reshape([training.batch, 1, dim]), LatentSpace::Z)?;
            loss = loss + (redrawn - images).square().mean().mul_scalar(training.image_weight);
        }
        let grads = loss.backward();
        let lr = training.learning_rate.at(step, training.steps);
        for ((param, adam), (_, _, values)) in params.iter().zip(&mut adams).zip(&mut encoder.params) {
            let grad = param.grad(&grads).ok_or_else(|| crate::invert::no_gradient("a weight"))?;
            adam.step(values, &host(grad)?, lr);
        }
        let value = host(loss)?[0];
        loss_curve.push(value);
        on_step(step + 1, value);
    }
    Ok(loss_curve)
}

/// The code MSE and the PSNR of the redrawn images on held-out pairs (stream 1 of the seed: never
/// a training code).
fn validate(encoder: &Encoder, pairs: &Pairs, training: &EncoderTraining) -> Result<(f64, f64), InversionError> {
    let (generator, device) = (pairs.generator, pairs.generator.device());
    let (dim, res) = (generator.info().latent_dim, generator.info().resolution);
    let mut held_out = ZSampler::with_stream(dim, training.seed, 1);
    let (mut code_se, mut psnr_sum, mut count) = (0.0, 0.0, 0usize);
    while count < training.validation {
        let n = (training.validation - count).min(64);
        let (z, images) = pairs.draw(&mut held_out, n)?;
        let targets = interfacegan_generator::to_rgb_images(&host(images)?, [n, 3, res, res])?;
        let codes = encoder.encode(&targets, device)?;
        code_se += codes.iter().zip(&z).map(|(a, b)| f64::from(a - b).powi(2)).sum::<f64>();
        let redrawn = generator.synthesize(&codes, LatentSpace::Z)?;
        let redrawn = interfacegan_generator::to_rgb_images(&redrawn.images, redrawn.image_shape)?;
        for (a, b) in targets.iter().zip(&redrawn) {
            psnr_sum += crate::quality::psnr(a, b)?.min(100.0);
        }
        count += n;
    }
    let count = count.max(1) as f64;
    Ok((code_se / (count * dim as f64), psnr_sum / count))
}
