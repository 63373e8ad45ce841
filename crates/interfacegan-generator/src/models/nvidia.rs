//! Reading a network's configuration from the module records of an NVIDIA network pickle, with
//! every value cross-checked against the module's `_init_kwargs` where both hold it.

use burn::tensor::{Device, Tensor};
use serde_json::Value as Json;

use crate::Truncation;
use crate::error::GeneratorError;
use crate::generator::{Generator, GeneratorInfo, LatentSpace, Synthesis, check_code_tensor};
use crate::ops::{tensor, to_vec};
use crate::weights::{ModuleRecord, TensorTaker, Weights};

const SQRT_2: f64 = std::f64::consts::SQRT_2;

/// The module records of one network pickle, for a model called `model`.
pub(crate) struct Modules<'w> {
    weights: &'w Weights,
    model: &'static str,
}

impl<'w> Modules<'w> {
    /// The records of `weights`; an error when it has none (a state-dict file).
    pub fn new(weights: &'w Weights, model: &'static str) -> Result<Self, GeneratorError> {
        if weights.modules().is_empty() {
            return Err(GeneratorError::Architecture {
                source_name: weights.source().to_string(),
                reason: format!(
                    "a {model} is read from an NVIDIA network pickle (.pkl), whose modules say how it was built; \
                     this file holds tensors only"
                ),
            });
        }
        Ok(Self { weights, model })
    }

    pub fn error(&self, reason: impl Into<String>) -> GeneratorError {
        GeneratorError::Architecture { source_name: self.weights.source().to_string(), reason: reason.into() }
    }

    /// The module at `path`, which must be of class `class`.
    pub fn module(&self, path: &str, class: &str) -> Result<Module<'_>, GeneratorError> {
        let record = self
            .weights
            .modules()
            .get(path)
            .ok_or_else(|| self.error(format!("{}: module `{path}` ({class}) is missing", self.model)))?;
        if record.class_name != class {
            return Err(
                self.error(format!("module `{path}` is a {}, a {} has a {class} there", record.class_name, self.model))
            );
        }
        Ok(Module { record, path: path.to_string(), modules: self })
    }

    /// Fails on any module whose class is not in `known`: an architecture we do not implement.
    pub fn check_classes(&self, known: &[&str]) -> Result<(), GeneratorError> {
        match self.weights.modules().iter().find(|(_, m)| !known.contains(&m.class_name.as_str())) {
            Some((path, m)) => Err(self.error(format!(
                "module `{}` is a {}, which a {} does not have (known: {})",
                if path.is_empty() { "<root>" } else { path },
                m.class_name,
                self.model,
                known.join(", ")
            ))),
            None => Ok(()),
        }
    }
}

/// One module record, with typed attribute readers.
pub(crate) struct Module<'m> {
    record: &'m ModuleRecord,
    path: String,
    modules: &'m Modules<'m>,
}

impl Module<'_> {
    fn bad(&self, key: &str, want: &str) -> GeneratorError {
        let found = self.record.attrs.get(key).map_or("nothing".to_string(), Json::to_string);
        self.modules.error(format!(
            "module `{}` ({}): attribute `{key}` should be {want}, found {found}",
            self.path, self.record.class_name
        ))
    }

    /// The attribute `key`, equal to the same-named `_init_kwargs` entry when there is one.
    fn attr(&self, key: &str) -> Option<&Json> {
        self.record.attrs.get(key)
    }

    fn cross_check(&self, key: &str, value: &Json) -> Result<(), GeneratorError> {
        let Some(init) = self.record.attrs.get("_init_kwargs").and_then(|k| k.get(key)) else { return Ok(()) };
        let same = match (init.as_f64(), value.as_f64()) {
            (Some(a), Some(b)) => a == b,
            _ => init == value,
        };
        if same {
            Ok(())
        } else {
            Err(self.modules.error(format!(
                "module `{}`: attribute `{key}` = {value} contradicts its constructor argument {init}",
                self.path
            )))
        }
    }

    pub fn usize(&self, key: &str) -> Result<usize, GeneratorError> {
        let v = self.attr(key).ok_or_else(|| self.bad(key, "a count"))?;
        let n = v.as_u64().and_then(|n| usize::try_from(n).ok()).ok_or_else(|| self.bad(key, "a count"))?;
        self.cross_check(key, v)?;
        Ok(n)
    }

    pub fn f64(&self, key: &str) -> Result<f64, GeneratorError> {
        let v = self.attr(key).ok_or_else(|| self.bad(key, "a number"))?;
        let x = v.as_f64().filter(|x| x.is_finite()).ok_or_else(|| self.bad(key, "a finite number"))?;
        self.cross_check(key, v)?;
        Ok(x)
    }

    /// A number or `None` (as `conv_clamp`).
    pub fn opt_f64(&self, key: &str) -> Result<Option<f64>, GeneratorError> {
        match self.attr(key) {
            Some(Json::Null) => {
                self.cross_check(key, &Json::Null)?;
                Ok(None)
            }
            _ => self.f64(key).map(Some),
        }
    }

    pub fn bool(&self, key: &str) -> Result<bool, GeneratorError> {
        let v = self.attr(key).ok_or_else(|| self.bad(key, "true or false"))?;
        let b = v.as_bool().ok_or_else(|| self.bad(key, "true or false"))?;
        self.cross_check(key, v)?;
        Ok(b)
    }

    pub fn str(&self, key: &str) -> Result<&str, GeneratorError> {
        let v = self.attr(key).ok_or_else(|| self.bad(key, "a string"))?;
        let s = v.as_str().ok_or_else(|| self.bad(key, "a string"))?;
        self.cross_check(key, v)?;
        Ok(s)
    }

    /// A list of counts (or a numpy array of them).
    pub fn usizes(&self, key: &str) -> Result<Vec<usize>, GeneratorError> {
        let values = self.i64s(key)?;
        values.iter().map(|&v| usize::try_from(v).map_err(|_| self.bad(key, "a list of counts"))).collect()
    }

    /// A list of integers (or a numpy array of them).
    pub fn i64s(&self, key: &str) -> Result<Vec<i64>, GeneratorError> {
        let v = self.attr(key).ok_or_else(|| self.bad(key, "a list of integers"))?;
        let items = v.as_array().ok_or_else(|| self.bad(key, "a list of integers"))?;
        let values = items.iter().map(Json::as_i64).collect::<Option<Vec<_>>>();
        values.ok_or_else(|| self.bad(key, "a list of integers"))
    }

    /// A list of strings.
    pub fn strs(&self, key: &str) -> Result<Vec<String>, GeneratorError> {
        let v = self.attr(key).ok_or_else(|| self.bad(key, "a list of names"))?;
        let items = v.as_array().ok_or_else(|| self.bad(key, "a list of names"))?;
        items.iter().map(|s| s.as_str().map(str::to_string).ok_or_else(|| self.bad(key, "a list of names"))).collect()
    }

    /// Fails unless attribute `key` equals `expected`.
    pub fn expect_usize(&self, key: &str, expected: usize) -> Result<(), GeneratorError> {
        let found = self.usize(key)?;
        if found == expected { Ok(()) } else { Err(self.bad(key, &expected.to_string())) }
    }

    /// Fails unless attribute `key` is the string `expected`.
    pub fn expect_str(&self, key: &str, expected: &str) -> Result<(), GeneratorError> {
        if self.str(key)? == expected { Ok(()) } else { Err(self.bad(key, &format!("'{expected}'"))) }
    }

    /// Fails unless `key` holds `expected` to f32 precision (gains the code derives).
    pub fn expect_close(&self, key: &str, expected: f64) -> Result<(), GeneratorError> {
        let found = self.f64(key)?;
        if (found - expected).abs() <= 1e-6 * expected.abs().max(1.0) {
            Ok(())
        } else {
            Err(self.bad(key, &format!("{expected}")))
        }
    }
}

/// A fully connected layer with its gains folded in: `act(x W^T * weight_gain + b * bias_gain)`.
pub(crate) struct Dense {
    /// `[in, out]`.
    weight: Tensor<2>,
    bias: Tensor<2>,
    lrelu: bool,
}

impl Dense {
    /// The `[out, in]` weight and `[out]` bias at `path`, with their gains folded in.
    pub fn new(
        t: &mut TensorTaker,
        path: &str,
        [inp, out]: [usize; 2],
        (weight_gain, bias_gain): (f32, f32),
        lrelu: bool,
        device: &Device,
    ) -> Result<Self, GeneratorError> {
        let w = t.take(&format!("{path}.weight"), &[out, inp])?;
        let mut transposed = vec![0f32; inp * out];
        for o in 0..out {
            for i in 0..inp {
                transposed[i * out + o] = w[o * inp + i] * weight_gain;
            }
        }
        let bias: Vec<f32> = t.take(&format!("{path}.bias"), &[out])?.iter().map(|b| b * bias_gain).collect();
        Ok(Self { weight: tensor(&transposed, [inp, out], device), bias: tensor(&bias, [1, out], device), lrelu })
    }

    /// A `FullyConnectedLayer` as its module record says.
    pub fn load(
        t: &mut TensorTaker,
        path: &str,
        m: &Modules,
        lrelu: bool,
        device: &Device,
    ) -> Result<Self, GeneratorError> {
        let module = m.module(path, "FullyConnectedLayer")?;
        let (inp, out) = (module.usize("in_features")?, module.usize("out_features")?);
        module.expect_str("activation", if lrelu { "lrelu" } else { "linear" })?;
        let gains = (module.f64("weight_gain")? as f32, module.f64("bias_gain")? as f32);
        Self::new(t, path, [inp, out], gains, lrelu, device)
    }

    /// Checks that the `FullyConnectedLayer` at `path` is `[in, out]` with learning-rate multiplier `lr`.
    pub fn check(m: &Modules, path: &str, [inp, out]: [usize; 2], lr: f64, lrelu: bool) -> Result<(), GeneratorError> {
        let module = m.module(path, "FullyConnectedLayer")?;
        module.expect_usize("in_features", inp)?;
        module.expect_usize("out_features", out)?;
        module.expect_str("activation", if lrelu { "lrelu" } else { "linear" })?;
        module.expect_close("weight_gain", lr / (inp as f64).sqrt())?;
        module.expect_close("bias_gain", lr)
    }

    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let y = x.matmul(self.weight.clone()) + self.bias.clone();
        if self.lrelu { burn::tensor::activation::leaky_relu(y, 0.2).mul_scalar(SQRT_2 as f32) } else { y }
    }
}

/// Weight demodulation of a modulated convolution: coefficients `rsqrt(styles^2 · W2 + 1e-8)` with
/// `W2[i, o] = sum_k weight[o, i, k]^2`, the same as demodulating each sample's modulated weight.
pub(crate) struct Demodulation {
    /// `W2` as `[I, O]`.
    weight_sq: Tensor<2>,
}

impl Demodulation {
    /// For a `[cout, cin, k, k]` weight, row-major.
    pub fn new(weight: &[f32], [cout, cin, k]: [usize; 3], device: &Device) -> Self {
        let sums: Vec<f32> = (0..cin * cout)
            .map(|io| {
                let (i, o) = (io / cout, io % cout);
                weight[(o * cin + i) * k * k..][..k * k].iter().map(|v| v * v).sum()
            })
            .collect();
        Self { weight_sq: tensor(&sums, [cin, cout], device) }
    }

    /// Styles `[N, I]` to coefficients `[N, O]`.
    pub fn coefficients(&self, styles: Tensor<2>) -> Tensor<2> {
        styles.square().matmul(self.weight_sq.clone()).add_scalar(1e-8).sqrt().recip()
    }
}

/// NVIDIA's `MappingNetwork` (StyleGAN2 and StyleGAN3 alike): `normalize_2nd_moment(z)`, then
/// `num_layers` leaky-ReLU layers; `w_avg` for truncation.
pub(crate) struct Mapping {
    layers: Vec<Dense>,
    pub w_avg: Tensor<2>,
}

impl Mapping {
    /// `count` layers `mapping.fc{i}` of learning-rate multiplier `lr` and `mapping.w_avg`; without
    /// a stored `w_avg`, the mean of `w` over 4096 seeded z (as rosinality's `mean_latent`).
    pub fn new(
        t: &mut TensorTaker,
        count: usize,
        (z_dim, w_dim): (usize, usize),
        lr: f64,
        device: &Device,
    ) -> Result<Self, GeneratorError> {
        let layers = (0..count)
            .map(|i| {
                let inp = if i == 0 { z_dim } else { w_dim };
                let gains = ((lr / (inp as f64).sqrt()) as f32, lr as f32);
                Dense::new(t, &format!("mapping.fc{i}"), [inp, w_dim], gains, true, device)
            })
            .collect::<Result<_, _>>()?;
        let mut mapping = Self { layers, w_avg: Tensor::zeros([1, w_dim], device) };
        mapping.w_avg = match t.take_optional("mapping.w_avg", &[w_dim])? {
            Some(w_avg) => tensor(&w_avg, [1, w_dim], device),
            None => {
                let z = tensor(&crate::sample_z(4096, z_dim, 0), [4096, z_dim], device);
                mapping.forward(z).mean_dim(0)
            }
        };
        Ok(mapping)
    }

    /// The `MappingNetwork` of a network pickle, checked against its module records.
    pub fn load(
        t: &mut TensorTaker,
        m: &Modules,
        (z_dim, w_dim, num_ws): (usize, usize, usize),
        device: &Device,
    ) -> Result<Self, GeneratorError> {
        let mapping = m.module("mapping", "MappingNetwork")?;
        mapping.expect_usize("z_dim", z_dim)?;
        mapping.expect_usize("w_dim", w_dim)?;
        mapping.expect_usize("num_ws", num_ws)?;
        if mapping.usize("c_dim")? != 0 {
            return Err(m.error("a conditional generator (c_dim > 0): class labels are not supported"));
        }
        let count = mapping.usize("num_layers")?;
        let lr = m.module("mapping.fc0", "FullyConnectedLayer")?.f64("bias_gain")?;
        for i in 0..count {
            Dense::check(m, &format!("mapping.fc{i}"), [if i == 0 { z_dim } else { w_dim }, w_dim], lr, true)?;
        }
        if !t.contains("mapping.w_avg") {
            return Err(m.error("the mapping network has no w_avg"));
        }
        Self::new(t, count, (z_dim, w_dim), lr, device)
    }

    /// `[N, z_dim]` to `[N, w_dim]`.
    pub fn forward(&self, z: Tensor<2>) -> Tensor<2> {
        let x = z.clone() * z.square().mean_dim(1).add_scalar(1e-8).sqrt().recip();
        self.layers.iter().fold(x, |x, dense| dense.forward(x))
    }
}

/// `w_avg.lerp(ws, psi)` on the first `layers` codes, with torch's lerp formula (exact at both ends).
pub(crate) fn truncate(ws: Tensor<3>, w_avg: &Tensor<2>, truncation: Truncation) -> Tensor<3> {
    let [n, l, d] = ws.dims();
    let Some(psi) = truncation.psi.filter(|&p| p != 1.0) else { return ws };
    let cut = truncation.layers.min(l);
    if cut == 0 {
        return ws;
    }
    let avg = w_avg.clone().reshape([1, 1, d]);
    let head = ws.clone().narrow(1, 0, cut);
    let lerped = if psi < 0.5 {
        avg.clone() + (head - avg).mul_scalar(psi)
    } else {
        head.clone() - (head - avg).mul_scalar(1.0 - psi)
    };
    if cut == l { lerped } else { Tensor::cat(vec![lerped, ws.narrow(1, cut, l - cut)], 1).reshape([n, l, d]) }
}

/// What NVIDIA's style-based generators share around their synthesis networks: the mapping
/// network, the truncation, the latent spaces (z, w and w+ when z and w have one size).
pub(crate) struct StyleFront {
    pub mapping: Mapping,
    pub truncation: Truncation,
    pub num_ws: usize,
    pub info: GeneratorInfo,
    pub device: Device,
}

impl StyleFront {
    /// A front for a generator called `architecture` of `resolution` px and `channels` channels.
    pub fn new(
        mapping: Mapping,
        (z_dim, num_ws): (usize, usize),
        (architecture, resolution, channels): (&'static str, usize, usize),
        device: &Device,
    ) -> Self {
        let w_dim = mapping.w_avg.dims()[1];
        let spaces = if z_dim == w_dim {
            vec![LatentSpace::Z, LatentSpace::W, LatentSpace::WPlus]
        } else {
            vec![LatentSpace::Z]
        };
        let info = GeneratorInfo { architecture, resolution, channels, latent_dim: z_dim, spaces, wp_layers: num_ws };
        Self { mapping, truncation: Truncation::none(), num_ws, info, device: device.clone() }
    }

    /// Sets the truncation of codes given in Z or W: `psi` on the first `layers` ws.
    pub fn set_truncation(&mut self, truncation: Truncation) -> Result<(), GeneratorError> {
        if truncation.psi.is_some_and(|p| !p.is_finite()) {
            return Err(GeneratorError::NonFiniteTruncation);
        }
        self.truncation = truncation;
        Ok(())
    }

    /// `w` `[N, D]` to `ws` `[N, num_ws, D]` with the truncation set.
    pub fn truncate(&self, w: Tensor<2>) -> Tensor<3> {
        let [n, d] = w.dims();
        truncate(w.reshape([n, 1, d]).expand([n, self.num_ws, d]), &self.mapping.w_avg, self.truncation)
    }

    /// The ws of codes `[N, L, D]` given in `space` (checked).
    pub fn codes_to_ws(&self, codes: Tensor<3>, space: LatentSpace) -> Result<Tensor<3>, GeneratorError> {
        let n = check_code_tensor(&self.info, &codes, space)?;
        let d = codes.dims()[2];
        Ok(match space {
            LatentSpace::WPlus => codes,
            LatentSpace::W => self.truncate(codes.reshape([n, d])),
            LatentSpace::Z => self.truncate(self.mapping.forward(codes.reshape([n, d]))),
        })
    }

    /// `w_avg` in W and W+ (repeated), zeros in Z.
    pub fn latent_mean(&self, space: LatentSpace) -> Result<Vec<f32>, GeneratorError> {
        let w_avg = to_vec(self.mapping.w_avg.clone())?;
        Ok(match space {
            LatentSpace::Z => vec![0.0; self.info.latent_dim],
            LatentSpace::W => w_avg,
            LatentSpace::WPlus => w_avg.repeat(self.num_ws),
        })
    }

    /// `Generator::synthesize` of `g`, whose synthesis network is `synthesis`.
    pub fn synthesize(
        &self,
        g: &dyn Generator,
        codes: &[f32],
        space: LatentSpace,
        synthesis: impl Fn(Tensor<3>) -> Result<(Vec<f32>, [usize; 4]), GeneratorError>,
    ) -> Result<Synthesis, GeneratorError> {
        super::synthesize_via_w(g, codes, space, |z| self.mapping.forward(z), |w| self.truncate(w), synthesis)
    }
}

/// `Generator` for a model of NVIDIA's design: a struct with a `front: StyleFront` field, a
/// `synthesis(ws: Tensor<3>) -> Tensor<4>` method (burn's, differentiable) and a
/// `synthesis_images` method (host images, by whatever route is fastest). One body for StyleGAN2 and StyleGAN3, which
/// differ only in their synthesis networks.
macro_rules! style_generator {
    ($model:ty) => {
        impl $crate::generator::Generator for $model {
            fn map_z(&self, z: &[f32]) -> Result<Option<Vec<f32>>, GeneratorError> {
                $crate::generator::map_with(self.info(), self.device(), z, |z| self.front.mapping.forward(z))
            }

            fn info(&self) -> &$crate::generator::GeneratorInfo {
                &self.front.info
            }

            fn device(&self) -> &burn::tensor::Device {
                &self.front.device
            }

            fn forward(
                &self,
                codes: burn::tensor::Tensor<3>,
                space: $crate::generator::LatentSpace,
            ) -> Result<burn::tensor::Tensor<4>, GeneratorError> {
                Ok(self.synthesis(self.front.codes_to_ws(codes, space)?))
            }

            fn latent_mean(&self, space: $crate::generator::LatentSpace) -> Result<Vec<f32>, GeneratorError> {
                self.front.latent_mean(space)
            }

            fn synthesize(
                &self,
                codes: &[f32],
                space: $crate::generator::LatentSpace,
            ) -> Result<$crate::Synthesis, GeneratorError> {
                self.front.synthesize(self, codes, space, |ws| self.synthesis_images(ws))
            }
        }
    };
}
pub(crate) use style_generator;
