//! Optimisation-based inversion: the codes whose synthesis matches target images.

use std::time::Instant;

use burn::tensor::{Tensor, TensorData};
use image::RgbImage;
use interfacegan_generator::{Generator, LatentSpace, Traced, to_rgb_images};
use rand::{SeedableRng, rngs::ChaCha8Rng};
use rand_distr::{Distribution, StandardNormal};

use crate::adam::Adam;
use crate::error::InversionError;
use crate::perceptual::Vgg16Features;
use crate::quality::{psnr, ssim};
use crate::schedule::LearningRate;
use crate::target::to_raw;

/// The most optimisation steps (and restarts) one inversion or encoder training may take: far
/// beyond any use (the defaults are 500 and 2000), short of running for ever or sizing the loss
/// curve from a typo.
pub const MAX_STEPS: usize = 1_000_000;

/// How to invert: the optimisation's settings.
///
/// The loss of a code `c` against a target `x` is
/// `mean((G(c) - x)^2) + prior_weight * mean((c - mean)^2) + perceptual_weight * vgg16(G(c), x)`,
/// pixels in the generator's `[-1, 1]` range, `mean` the generator's latent mean (zero for Z,
/// `w_avg` for W/W+); the perceptual term only with VGG16 weights ([`Inverter::with_perceptual`]).
#[derive(Clone, Debug, PartialEq)]
pub struct InversionParams {
    /// The latent space the codes live in.
    pub space: LatentSpace,
    /// Optimisation steps (one forward and one backward pass each).
    pub steps: usize,
    /// Adam's learning rate over the run.
    pub learning_rate: LearningRate,
    /// Starting points per target, optimised side by side in one batch; the one with the lowest
    /// final loss is kept.
    pub restarts: usize,
    /// Standard deviation of the noise added to the start of every restart after the first.
    pub restart_noise: f32,
    /// Weight of the latent prior.
    pub prior_weight: f64,
    /// Weight of the VGG16 perceptual distance (used only when VGG16 weights are given).
    pub perceptual_weight: f64,
    /// Seed of random starts and restart noise.
    pub seed: u64,
}

impl Default for InversionParams {
    /// Z space, 500 steps, Adam at 0.05 with the StyleGAN2 projector's ramps, 1 start, prior weight
    /// 1e-4, perceptual weight 1.0 (when given), seed 0. On the default DCGAN these reach 30 dB
    /// and more from the encoder's start (docs/inversion.md).
    fn default() -> Self {
        Self {
            space: LatentSpace::Z,
            steps: 500,
            learning_rate: LearningRate::new(0.05),
            restarts: 1,
            restart_noise: 0.5,
            prior_weight: 1e-4,
            perceptual_weight: 1.0,
            seed: 0,
        }
    }
}

impl InversionParams {
    /// Sets the latent space.
    pub fn space(mut self, space: LatentSpace) -> Self {
        self.space = space;
        self
    }
    /// Sets the number of steps.
    pub fn steps(mut self, steps: usize) -> Self {
        self.steps = steps;
        self
    }
    /// Sets the learning-rate schedule.
    pub fn learning_rate(mut self, learning_rate: LearningRate) -> Self {
        self.learning_rate = learning_rate;
        self
    }
    /// Sets the number of starting points per target.
    pub fn restarts(mut self, restarts: usize) -> Self {
        self.restarts = restarts;
        self
    }
    /// Sets the noise of restarts after the first.
    pub fn restart_noise(mut self, sigma: f32) -> Self {
        self.restart_noise = sigma;
        self
    }
    /// Sets the latent prior's weight.
    pub fn prior_weight(mut self, weight: f64) -> Self {
        self.prior_weight = weight;
        self
    }
    /// Sets the perceptual term's weight.
    pub fn perceptual_weight(mut self, weight: f64) -> Self {
        self.perceptual_weight = weight;
        self
    }
    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    fn validate(&self) -> Result<(), InversionError> {
        if self.restarts == 0 {
            return Err(InversionError::NoRestarts);
        }
        for (what, count) in [("steps", self.steps), ("restarts", self.restarts)] {
            if count > MAX_STEPS {
                return Err(InversionError::Count { what, count, max: MAX_STEPS });
            }
        }
        let weights = [
            ("the restart noise", f64::from(self.restart_noise)),
            ("the prior weight", self.prior_weight),
            ("the perceptual weight", self.perceptual_weight),
        ];
        for (what, value) in weights {
            if !(value.is_finite() && value >= 0.0) {
                return Err(InversionError::Negative { what, value });
            }
        }
        self.learning_rate.validate()
    }
}

/// Where the optimisation starts.
#[derive(Clone, Copy, Debug)]
pub enum Start<'a> {
    /// Random codes: `z ~ N(0, I)` in Z (each restart its own draw); the latent mean `w_avg` in W and
    /// W+.
    Random,
    /// Given codes, one per target (an encoder's output), row-major.
    Codes(&'a [f32]),
}

/// The result of inverting a batch of targets.
#[derive(Clone, Debug)]
pub struct Inversion {
    /// The best code of each target, row-major, each of shape `code_shape`.
    pub codes: Vec<f32>,
    /// The shape of one code (`[D]` or `[L, D]`).
    pub code_shape: Vec<usize>,
    /// `G(code)` of each target, as 8-bit images.
    pub reconstructions: Vec<RgbImage>,
    /// One report per target.
    pub reports: Vec<InversionReport>,
}

/// How the inversion of one target went.
#[derive(Clone, Debug, PartialEq)]
pub struct InversionReport {
    /// The loss of the kept start before each step, and after the last (`steps + 1` values).
    pub loss_curve: Vec<f32>,
    /// Which start was kept (0 = the given or first random start).
    pub restart: usize,
    /// PSNR of the reconstruction against the target, dB.
    pub psnr: f64,
    /// SSIM of the reconstruction against the target.
    pub ssim: f64,
    /// Wall time of the batch divided by the number of targets in it, seconds.
    pub seconds: f64,
}

/// Inverts targets into a generator's latent space.
pub struct Inverter<'a> {
    generator: &'a dyn Generator,
    params: InversionParams,
    perceptual: Option<&'a Vgg16Features>,
}

impl<'a> Inverter<'a> {
    /// An inverter for `generator`, which must live on an autodiff device
    /// (`interfacegan_generator::cpu_device().autodiff()`, or the GPU's).
    pub fn new(generator: &'a dyn Generator, params: InversionParams) -> Result<Self, InversionError> {
        params.validate()?;
        if !generator.device().is_autodiff() {
            return Err(InversionError::NeedsAutodiff { what: "inversion" });
        }
        let info = generator.info();
        if !info.spaces.contains(&params.space) {
            return Err(InversionError::NoSuchSpace {
                architecture: info.architecture,
                space: params.space.to_string(),
                takes: info.spaces.iter().map(|s| s.short_name()).collect::<Vec<_>>().join(", "),
            });
        }
        Ok(Self { generator, params, perceptual: None })
    }

    /// Adds the VGG16 perceptual distance to the loss, weighted by `params.perceptual_weight`; the
    /// network must have been loaded on the generator's device.
    pub fn with_perceptual(mut self, features: &'a Vgg16Features) -> Self {
        self.perceptual = Some(features);
        self
    }

    /// The settings in use.
    pub fn params(&self) -> &InversionParams {
        &self.params
    }

    /// Inverts `targets` (images of the generator's resolution, see
    /// [`prepare_target`](crate::prepare_target)) from `start`, calling `on_step(step)` after each
    /// step.
    pub fn invert(
        &self,
        targets: &[RgbImage],
        start: Start<'_>,
        on_step: &mut dyn FnMut(usize),
    ) -> Result<Inversion, InversionError> {
        let started = Instant::now();
        self.check_targets(targets)?;
        let info = self.generator.info();
        let space = self.params.space;
        let code_shape = info.code_shape(space);
        let code_len: usize = code_shape.iter().product();
        let (n, r) = (targets.len(), self.params.restarts);
        let batch = n * r;
        let mut codes = self.starting_codes(start, n, code_len)?;

        let objective = self.objective(targets, r)?;
        let mut adam = Adam::new(codes.len());
        let mut curves = vec![Vec::with_capacity(self.params.steps + 1); batch];
        for step in 0..self.params.steps {
            let (loss, grad) = objective.evaluate(&codes, true)?;
            for (curve, value) in curves.iter_mut().zip(loss) {
                curve.push(value);
            }
            let grad = grad.ok_or_else(|| no_gradient("the codes"))?;
            adam.step(&mut codes, &grad, self.params.learning_rate.at(step, self.params.steps));
            on_step(step + 1);
        }
        let (loss, _) = objective.evaluate(&codes, false)?;
        for (curve, value) in curves.iter_mut().zip(loss) {
            curve.push(value);
        }

        let best: Vec<usize> = (0..n)
            .map(|t| {
                (0..r)
                    .min_by(|&a, &b| {
                        let last = |k: usize| *curves[k * n + t].last().expect("final loss recorded");
                        last(a).total_cmp(&last(b))
                    })
                    .expect("restarts >= 1")
            })
            .collect();
        let kept: Vec<f32> =
            best.iter().enumerate().flat_map(|(t, &k)| codes[(k * n + t) * code_len..][..code_len].to_vec()).collect();
        let synthesis = self.generator.synthesize(&kept, space)?;
        let reconstructions = to_rgb_images(&synthesis.images, synthesis.image_shape)?;
        let seconds = started.elapsed().as_secs_f64() / n as f64;
        let reports = best
            .iter()
            .enumerate()
            .map(|(t, &k)| {
                Ok(InversionReport {
                    loss_curve: std::mem::take(&mut curves[k * n + t]),
                    restart: k,
                    psnr: psnr(&targets[t], &reconstructions[t])?,
                    ssim: ssim(&targets[t], &reconstructions[t])?,
                    seconds,
                })
            })
            .collect::<Result<_, InversionError>>()?;
        Ok(Inversion { codes: kept, code_shape, reconstructions, reports })
    }

    /// The loss of each code against its target (one code per target, row-major) and its gradient
    /// with respect to the code: what each optimisation step computes.
    pub fn loss_and_gradient(
        &self,
        targets: &[RgbImage],
        codes: &[f32],
    ) -> Result<(Vec<f32>, Vec<f32>), InversionError> {
        self.check_targets(targets)?;
        let objective = self.objective(targets, 1)?;
        if codes.len() != objective.batch * objective.code_len {
            return Err(InversionError::StartLength {
                values: codes.len(),
                targets: targets.len(),
                space: self.params.space.to_string(),
                code_len: objective.code_len,
            });
        }
        let (loss, grad) = objective.evaluate(codes, true)?;
        Ok((loss, grad.ok_or_else(|| no_gradient("the codes"))?))
    }

    fn check_targets(&self, targets: &[RgbImage]) -> Result<(), InversionError> {
        let res = self.generator.info().resolution as u32;
        if targets.is_empty() {
            return Err(InversionError::NoTargets);
        }
        if let Some((i, t)) = targets.iter().enumerate().find(|(_, t)| t.dimensions() != (res, res)) {
            return Err(InversionError::InvalidTarget {
                source_name: format!("target {i}"),
                reason: format!("is {:?}, the generator draws {res}x{res}: prepare it first", t.dimensions()),
            });
        }
        Ok(())
    }

    /// The loss over a batch of `restarts` copies of `targets`.
    fn objective(&self, targets: &[RgbImage], restarts: usize) -> Result<Objective<'_>, InversionError> {
        let info = self.generator.info();
        let space = self.params.space;
        let code_len: usize = info.code_shape(space).iter().product();
        let (layers, dim) = (code_len / info.latent_dim, info.latent_dim);
        let batch = targets.len() * restarts;
        let res = info.resolution;
        let device = self.generator.device();
        let raw = to_raw(targets);
        // Row j of the batch is restart j / n of target j % n.
        let target_values: Vec<f32> = (0..restarts).flat_map(|_| raw.iter().copied()).collect();
        let target = Tensor::<4>::from_data(TensorData::new(target_values.clone(), [batch, 3, res, res]), device);
        let mean_values = self.generator.latent_mean(space)?;
        let mean = Tensor::<3>::from_data(TensorData::new(mean_values.clone(), [1, layers, dim]), device);
        let perceptual = match self.perceptual {
            Some(vgg) if self.params.perceptual_weight > 0.0 => {
                Some((vgg, vgg.features(target.clone().detach())?, self.params.perceptual_weight))
            }
            _ => None,
        };
        Ok(Objective {
            generator: self.generator,
            space,
            target,
            target_values,
            mean,
            mean_values,
            perceptual,
            prior_weight: self.params.prior_weight,
            batch,
            layers,
            dim,
            code_len,
        })
    }

    /// The batch's starting codes: restart k of target t at row `k * n + t`.
    fn starting_codes(&self, start: Start<'_>, n: usize, code_len: usize) -> Result<Vec<f32>, InversionError> {
        let mut rng = ChaCha8Rng::seed_from_u64(self.params.seed);
        let r = self.params.restarts;
        let base: Vec<f32> = match start {
            Start::Codes(codes) => {
                if codes.len() != n * code_len {
                    return Err(InversionError::StartLength {
                        values: codes.len(),
                        targets: n,
                        space: self.params.space.to_string(),
                        code_len,
                    });
                }
                if codes.iter().any(|v| !v.is_finite()) {
                    return Err(InversionError::NonFiniteStart);
                }
                codes.to_vec()
            }
            Start::Random if self.params.space == LatentSpace::Z => {
                return Ok((0..r * n * code_len).map(|_| StandardNormal.sample(&mut rng)).collect());
            }
            Start::Random => self.generator.latent_mean(self.params.space)?.repeat(n),
        };
        let mut all = base.clone();
        for _ in 1..r {
            all.extend(base.iter().map(|&v| {
                let e: f32 = StandardNormal.sample(&mut rng);
                v + self.params.restart_noise * e
            }));
        }
        Ok(all)
    }
}

/// The loss of a batch of codes against fixed targets.
struct Objective<'a> {
    generator: &'a dyn Generator,
    space: LatentSpace,
    /// The targets `[batch, 3, R, R]`, on the device and on the host.
    target: Tensor<4>,
    target_values: Vec<f32>,
    /// The latent mean `[1, layers, dim]`, on the device and on the host.
    mean: Tensor<3>,
    mean_values: Vec<f32>,
    perceptual: Option<(&'a Vgg16Features, Vec<Tensor<4>>, f64)>,
    prior_weight: f64,
    batch: usize,
    layers: usize,
    dim: usize,
    code_len: usize,
}

impl Objective<'_> {
    /// Per-code losses and, when `with_gradient`, their gradients with respect to the codes
    /// (row-major): through the generator's own pullback where it has one, else burn's autodiff.
    fn evaluate(&self, codes: &[f32], with_gradient: bool) -> Result<(Vec<f32>, Option<Vec<f32>>), InversionError> {
        match self.generator.synthesize_traced(codes, self.space)? {
            Some(traced) => self.evaluate_traced(codes, &traced, with_gradient),
            None => self.evaluate_autodiff(codes, with_gradient),
        }
    }

    /// [`evaluate`](Self::evaluate) with the pixel and prior terms on the host (the same formulas
    /// as [`evaluate_autodiff`](Self::evaluate_autodiff)); the perceptual term, when there is one,
    /// differentiated by burn with respect to the images.
    fn evaluate_traced(
        &self,
        codes: &[f32],
        traced: &Traced<'_>,
        with_gradient: bool,
    ) -> Result<(Vec<f32>, Option<Vec<f32>>), InversionError> {
        let pixels = traced.images.len() / self.batch;
        let mut image_grad = vec![0f32; traced.images.len()];
        let mut losses = Vec::with_capacity(self.batch);
        let chunks = traced.images.chunks_exact(pixels).zip(self.target_values.chunks_exact(pixels));
        for (b, ((image, target), grad)) in chunks.zip(image_grad.chunks_exact_mut(pixels)).enumerate() {
            let mut pixel = 0f64;
            for ((&g, &t), d) in image.iter().zip(target).zip(grad) {
                let e = g - t;
                pixel += f64::from(e * e);
                *d = 2.0 * e / pixels as f32;
            }
            let code = &codes[b * self.code_len..][..self.code_len];
            let prior = code.iter().zip(&self.mean_values).map(|(&c, &m)| f64::from(c - m).powi(2)).sum::<f64>();
            losses.push((pixel / pixels as f64 + self.prior_weight * prior / self.code_len as f64) as f32);
        }
        if let Some((vgg, reference, weight)) = &self.perceptual {
            let data = TensorData::new(traced.images.clone(), traced.image_shape);
            let images = Tensor::<4>::from_data(data, self.generator.device()).require_grad();
            let distance = vgg.distance(images.clone(), reference)?.mul_scalar(*weight);
            for (loss, d) in losses.iter_mut().zip(host(distance.clone())?) {
                *loss += d;
            }
            if with_gradient {
                let grads = distance.sum().backward();
                let perceptual = host(images.grad(&grads).ok_or_else(|| no_gradient("the images"))?)?;
                image_grad.iter_mut().zip(perceptual).for_each(|(g, p)| *g += p);
            }
        }
        if !with_gradient {
            return Ok((losses, None));
        }
        let mut grad = traced.pullback(&image_grad)?;
        let scale = (2.0 * self.prior_weight / self.code_len as f64) as f32;
        for (code_grad, code) in grad.chunks_exact_mut(self.code_len).zip(codes.chunks_exact(self.code_len)) {
            for ((g, &c), &m) in code_grad.iter_mut().zip(code).zip(&self.mean_values) {
                *g += scale * (c - m);
            }
        }
        Ok((losses, Some(grad)))
    }

    /// [`evaluate`](Self::evaluate) through [`Generator::forward`] and burn's autodiff.
    fn evaluate_autodiff(
        &self,
        codes: &[f32],
        with_gradient: bool,
    ) -> Result<(Vec<f32>, Option<Vec<f32>>), InversionError> {
        let device = self.generator.device();
        let mut input =
            Tensor::<3>::from_data(TensorData::new(codes.to_vec(), [self.batch, self.layers, self.dim]), device);
        if with_gradient {
            input = input.require_grad();
        }
        let images = self.generator.forward(input.clone(), self.space)?;
        let [_, c, h, w] = images.dims();
        let pixel = (images.clone() - self.target.clone()).square().reshape([self.batch, c * h * w]).mean_dim(1);
        let prior = (input.clone() - self.mean.clone()).square().reshape([self.batch, self.code_len]).mean_dim(1);
        let mut loss = pixel + prior.mul_scalar(self.prior_weight);
        if let Some((vgg, reference, weight)) = &self.perceptual {
            loss = loss + vgg.distance(images, reference)?.mul_scalar(*weight);
        }
        if !with_gradient {
            return Ok((host(loss)?, None));
        }
        let grads = loss.clone().sum().backward();
        let grad = input.grad(&grads).ok_or_else(|| no_gradient("the codes"))?;
        Ok((host(loss)?, Some(host(grad)?)))
    }
}

/// A tensor's values on the host.
pub(crate) fn host<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>, InversionError> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().map_err(|e| InversionError::Device { reason: format!("{e:?}") })
}

/// The error of a gradient burn did not compute.
pub(crate) fn no_gradient(of: &str) -> InversionError {
    InversionError::Device { reason: format!("no gradient for {of}") }
}
