//! The DCGAN of the PyTorch tutorial (`nz`-dimensional z, transposed 4x4 convolutions with
//! BatchNorm and ReLU, tanh output): the default, trained on DigiFace-1M faces.

use burn::tensor::module::conv_transpose2d;
use burn::tensor::ops::ConvTransposeOptions;
use burn::tensor::{Device, Tensor};

use super::dcgan_host::{Activation, HostDcgan, HostLayer};
use crate::error::GeneratorError;
use crate::generator::{
    Generator, GeneratorInfo, LatentSpace, Synthesis, Traced, check_code_tensor, check_codes, synthesize_on_device,
};
use crate::ops::tensor;
use crate::weights::Weights;

/// The key every DCGAN state dict has, which locates it in a (possibly nested) file.
pub(crate) const ANCHOR: &str = "main.0.weight";

/// The architecture, as read from the weights or given explicitly.
#[derive(Clone, Debug, PartialEq)]
pub struct DcganConfig {
    /// z dimension (`nz`, 100 in the tutorial).
    pub latent_dim: usize,
    /// Output channels of each transposed convolution, the image channels last (`[512, 256, 128, 64, 3]`).
    pub widths: Vec<usize>,
    /// BatchNorm epsilon (PyTorch's default 1e-5).
    pub batch_norm_eps: f32,
}

impl DcganConfig {
    /// The tutorial's layout for 64 px RGB images from a 100-dimensional z.
    pub fn tutorial() -> Self {
        Self { latent_dim: 100, widths: vec![512, 256, 128, 64, 3], batch_norm_eps: 1e-5 }
    }

    /// Reads the configuration off the tensor shapes under `prefix` (`main.0.weight`, `main.3.weight`, ...).
    pub fn infer(weights: &Weights, prefix: &str) -> Result<Self, GeneratorError> {
        let mut widths = Vec::new();
        let mut latent_dim = None;
        for layer in 0.. {
            let Some(shape) = weights.shape(&format!("{prefix}main.{}.weight", 3 * layer)) else { break };
            match shape {
                [cin, cout, 4, 4] => {
                    latent_dim.get_or_insert(*cin);
                    widths.push(*cout);
                }
                other => {
                    return Err(GeneratorError::Architecture {
                        source_name: weights.source().to_string(),
                        reason: format!(
                            "main.{}.weight has shape {other:?}, not a 4x4 transposed convolution",
                            3 * layer
                        ),
                    });
                }
            }
        }
        let latent_dim = latent_dim.ok_or_else(|| GeneratorError::Architecture {
            source_name: weights.source().to_string(),
            reason: "no `main.0.weight`: not a DCGAN".into(),
        })?;
        if widths.len() < 2 {
            return Err(GeneratorError::Architecture {
                source_name: weights.source().to_string(),
                reason: "a DCGAN needs at least two transposed convolutions".into(),
            });
        }
        Ok(Self { latent_dim, widths, batch_norm_eps: 1e-5 })
    }

    /// Output resolution: 4 after the first layer, doubled by each further one.
    pub fn resolution(&self) -> usize {
        4 << (self.widths.len() - 1)
    }
}

struct Layer {
    /// `[Cin, Cout, 4, 4]`, with the BatchNorm scale folded in.
    weight: Tensor<4>,
    /// The BatchNorm shift (zero for the last layer).
    bias: Tensor<1>,
    options: ConvTransposeOptions<2>,
}

/// The DCGAN generator.
pub struct Dcgan {
    layers: Vec<Layer>,
    /// The same layers for the CPU without burn, on the CPU device (`synthesize` and
    /// `synthesize_traced` run there).
    host: Option<HostDcgan>,
    info: GeneratorInfo,
    config: DcganConfig,
    device: Device,
}

impl Dcgan {
    /// Loads a DCGAN from weights, inferring the configuration. The state dict may be nested
    /// (`netG_state_dict.main.0.weight`, as the tutorial's checkpoints save it).
    pub fn from_weights(weights: &Weights, device: &Device) -> Result<Self, GeneratorError> {
        let prefix = super::model_prefix(weights, ANCHOR, "DCGAN")?;
        let config = DcganConfig::infer(weights, &prefix)?;
        Self::with_config(weights, &prefix, config, device)
    }

    /// Loads with an explicit configuration; every tensor must match it.
    pub fn with_config(
        weights: &Weights,
        prefix: &str,
        config: DcganConfig,
        device: &Device,
    ) -> Result<Self, GeneratorError> {
        if config.widths.len() < 2 || config.latent_dim == 0 || config.widths.contains(&0) {
            return Err(GeneratorError::Config {
                model: "DCGAN",
                needs: format!("a latent dimension and at least two non-zero layer widths, not {config:?}"),
            });
        }
        let mut taker = weights.taker(prefix, "dcgan");
        let mut layers = Vec::new();
        let mut host_layers = Vec::new();
        let mut cin = config.latent_dim;
        let last = config.widths.len() - 1;
        for (i, &cout) in config.widths.iter().enumerate() {
            let conv = 3 * i;
            let mut weight = taker.take(&format!("main.{conv}.weight"), &[cin, cout, 4, 4])?;
            let mut bias = vec![0f32; cout];
            if i < last {
                let bn = conv + 1;
                let gamma = taker.take(&format!("main.{bn}.weight"), &[cout])?;
                let beta = taker.take(&format!("main.{bn}.bias"), &[cout])?;
                let mean = taker.take(&format!("main.{bn}.running_mean"), &[cout])?;
                let var = taker.take(&format!("main.{bn}.running_var"), &[cout])?;
                taker.ignore(&format!("main.{bn}.num_batches_tracked"));
                // Eval-mode BatchNorm is per-channel affine: fold it into the convolution.
                for o in 0..cout {
                    let scale = gamma[o] / (var[o] + config.batch_norm_eps).sqrt();
                    bias[o] = beta[o] - mean[o] * scale;
                    for c in 0..cin {
                        for k in 0..16 {
                            weight[(c * cout + o) * 16 + k] *= scale;
                        }
                    }
                }
            }
            let (stride, padding) = if i == 0 { (1, 0) } else { (2, 1) };
            let activation = if i == last { Activation::Tanh } else { Activation::Relu };
            host_layers.push(HostLayer::new(&weight, bias.clone(), (cin, cout), stride, activation));
            layers.push(Layer {
                weight: tensor(&weight, [cin, cout, 4, 4], device),
                bias: tensor(&bias, [cout], device),
                options: ConvTransposeOptions::new([stride, stride], [padding, padding], [0, 0], [1, 1], 1),
            });
            cin = cout;
        }
        taker.finish()?;
        let info = GeneratorInfo {
            architecture: "dcgan",
            resolution: config.resolution(),
            channels: *config.widths.last().expect("at least two layers"),
            latent_dim: config.latent_dim,
            spaces: vec![LatentSpace::Z],
            wp_layers: 0,
        };
        let host = super::is_cpu(device).then_some(HostDcgan { layers: host_layers });
        Ok(Self { layers, host, info, config, device: device.clone() })
    }

    /// The configuration in use.
    pub fn config(&self) -> &DcganConfig {
        &self.config
    }
}

impl Generator for Dcgan {
    fn info(&self) -> &GeneratorInfo {
        &self.info
    }

    fn device(&self) -> &Device {
        &self.device
    }

    fn synthesize(&self, codes: &[f32], space: LatentSpace) -> Result<Synthesis, GeneratorError> {
        let Some(host) = &self.host else { return synthesize_on_device(self, codes, space) };
        let (_, n) = check_codes(&self.info, codes, space)?;
        let (r, c) = (self.info.resolution, self.info.channels);
        let images = host.synthesize(codes, n);
        Ok(Synthesis { images, image_shape: [n, c, r, r], z: Some(codes.to_vec()), ..Synthesis::default() })
    }

    fn synthesize_traced(&self, codes: &[f32], space: LatentSpace) -> Result<Option<Traced<'_>>, GeneratorError> {
        let (_, n) = check_codes(&self.info, codes, space)?;
        let Some(host) = &self.host else { return Ok(None) };
        let (r, c) = (self.info.resolution, self.info.channels);
        let (images, maps) = host.trace(codes, n);
        let pullback = Box::new(move |image_grad: &[f32]| host.pullback(&maps, n, image_grad));
        Ok(Some(Traced::new(images, [n, c, r, r], self.info.latent_dim, pullback)))
    }

    fn forward(&self, codes: Tensor<3>, space: LatentSpace) -> Result<Tensor<4>, GeneratorError> {
        let n = check_code_tensor(&self.info, &codes, space)?;
        let mut x = codes.reshape([n, self.info.latent_dim, 1, 1]);
        let last = self.layers.len() - 1;
        for (i, layer) in self.layers.iter().enumerate() {
            x = conv_transpose2d(x, layer.weight.clone(), Some(layer.bias.clone()), layer.options.clone());
            x = if i < last { burn::tensor::activation::relu(x) } else { x.tanh() };
        }
        Ok(x)
    }
}
