//! The VGG16 perceptual distance of Image2StyleGAN (Abdal et al., 2019): mean squared differences of
//! VGG16 feature maps, from torchvision's `vgg16` weights supplied by the user.

use std::path::Path;

use burn::tensor::module::{conv2d, max_pool2d};
use burn::tensor::ops::{ConvOptions, MaxPoolOptions};
use burn::tensor::{Device, Tensor, TensorData};
use interfacegan_generator::Weights;

use crate::error::InversionError;

/// torchvision's `vgg16().features`: convolution widths, `0` for a 2x2 max-pool. Each convolution
/// takes one index of the `Sequential` and its ReLU the next, a pool one.
const LAYOUT: [usize; 18] = [64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0];

/// The feature maps Image2StyleGAN compares (after their ReLUs).
pub const IMAGE2STYLEGAN_LAYERS: [&str; 4] = ["conv1_1", "conv1_2", "conv3_2", "conv4_2"];

/// ImageNet normalisation torchvision's weights expect, on images in `[0, 1]`.
const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
const STD: [f32; 3] = [0.229, 0.224, 0.225];

struct Conv {
    name: String,
    weight: Tensor<4>,
    bias: Tensor<1>,
}

enum Stage {
    Conv(Box<Conv>),
    Pool,
}

/// VGG16's convolutional layers up to the deepest compared one, with frozen weights.
pub struct Vgg16Features {
    stages: Vec<Stage>,
    compared: Vec<String>,
    device: Device,
}

impl Vgg16Features {
    /// Loads torchvision's `vgg16` state dict (`features.0.weight`, ... possibly under a prefix) from
    /// a `.pth` or `.safetensors` file, keeping the layers up to the deepest of `layers` (names
    /// `conv1_1` ... `conv5_3`). The classifier and deeper layers in the file are ignored; a file
    /// with another layout (VGG19, a pruned net) is refused by key and shape.
    pub fn load(path: impl AsRef<Path>, layers: &[&str], device: &Device) -> Result<Self, InversionError> {
        let weights = Weights::from_file(path.as_ref())?;
        Self::from_weights(&weights, layers, device)
    }

    /// As [`load`](Self::load), from weights already read.
    pub fn from_weights(weights: &Weights, layers: &[&str], device: &Device) -> Result<Self, InversionError> {
        let names = conv_names();
        if layers.is_empty() {
            return Err(InversionError::VggLayer { name: String::new() });
        }
        let mut deepest = 0;
        for layer in layers {
            let position = names
                .iter()
                .position(|(n, _)| n == layer)
                .ok_or_else(|| InversionError::VggLayer { name: layer.to_string() })?;
            deepest = deepest.max(names[position].1);
        }
        let source = weights.source().to_string();
        let prefix = weights.prefix_of("features.0.weight").ok_or_else(|| InversionError::Weights {
            source_name: source.clone(),
            reason: "no `features.0.weight`: not a torchvision VGG16 state dict".into(),
        })?;
        let mut taker = weights.taker(&prefix, "vgg16");
        let mut stages = Vec::new();
        let (mut index, mut cin) = (0, 3);
        for &width in &LAYOUT {
            if width == 0 {
                if index <= deepest {
                    stages.push(Stage::Pool);
                }
                index += 1;
                continue;
            }
            let (weight_key, bias_key) = (format!("features.{index}.weight"), format!("features.{index}.bias"));
            if index <= deepest {
                let weight = taker.take(&weight_key, &[width, cin, 3, 3])?;
                let bias = taker.take(&bias_key, &[width])?;
                let name = names.iter().find(|(_, i)| *i == index).expect("every conv is named").0.clone();
                stages.push(Stage::Conv(Box::new(Conv {
                    name,
                    weight: Tensor::from_data(TensorData::new(weight, [width, cin, 3, 3]), device),
                    bias: Tensor::from_data(TensorData::new(bias, [width]), device),
                })));
            } else {
                taker.ignore(&weight_key);
                taker.ignore(&bias_key);
            }
            index += 2;
            cin = width;
        }
        // The classifier (`classifier.0.weight`, ...) is not used.
        for key in weights.keys().filter(|k| k.starts_with(&format!("{prefix}classifier."))) {
            taker.ignore(&key[prefix.len()..]);
        }
        taker.finish()?;
        // Drop trailing pools past the deepest compared convolution.
        while matches!(stages.last(), Some(Stage::Pool)) {
            stages.pop();
        }
        Ok(Self { stages, compared: layers.iter().map(|s| s.to_string()).collect(), device: device.clone() })
    }

    /// The compared feature maps of raw images `[N, 3, H, W]` in `[-1, 1]`.
    pub fn features(&self, images: Tensor<4>) -> Result<Vec<Tensor<4>>, InversionError> {
        let [_, c, h, w] = images.dims();
        if c != 3 || h < 16 || w < 16 {
            return Err(InversionError::InvalidTarget {
                source_name: "VGG16 input".into(),
                reason: format!("images of shape [N, {c}, {h}, {w}]; VGG16 takes RGB of at least 16x16"),
            });
        }
        let mean = Tensor::<4>::from_data(TensorData::new(MEAN.to_vec(), [1, 3, 1, 1]), &self.device);
        let std = Tensor::<4>::from_data(TensorData::new(STD.to_vec(), [1, 3, 1, 1]), &self.device);
        let mut x = (images.add_scalar(1.0).mul_scalar(0.5) - mean) / std;
        let mut out = Vec::new();
        for stage in &self.stages {
            x = match stage {
                Stage::Pool => max_pool2d(
                    x,
                    MaxPoolOptions {
                        kernel_size: [2, 2],
                        stride: [2, 2],
                        padding: [(0, 0), (0, 0)],
                        dilation: [1, 1],
                        ceil_mode: false,
                    },
                ),
                Stage::Conv(conv) => {
                    let y = conv2d(
                        x,
                        conv.weight.clone(),
                        Some(conv.bias.clone()),
                        ConvOptions::new([1, 1], [1, 1], [1, 1], 1),
                    );
                    let y = burn::tensor::activation::relu(y);
                    if self.compared.contains(&conv.name) {
                        out.push(y.clone());
                    }
                    y
                }
            };
        }
        Ok(out)
    }

    /// Per image, the sum over the compared layers of the mean squared feature difference between
    /// `images` and the features of the references (`features` of the targets): `[N, 1]`.
    pub fn distance(&self, images: Tensor<4>, reference: &[Tensor<4>]) -> Result<Tensor<2>, InversionError> {
        let n = images.dims()[0];
        let mut total: Option<Tensor<2>> = None;
        for (ours, theirs) in self.features(images)?.into_iter().zip(reference) {
            let [_, c, h, w] = ours.dims();
            let d = (ours - theirs.clone()).square().reshape([n, c * h * w]).mean_dim(1);
            total = Some(match total {
                Some(t) => t + d,
                None => d,
            });
        }
        total.ok_or_else(|| InversionError::VggLayer { name: String::new() })
    }
}

/// `(conv name, index in torchvision's features)` for the 13 convolutions.
fn conv_names() -> Vec<(String, usize)> {
    let mut names = Vec::new();
    let (mut index, mut block, mut in_block) = (0, 1, 0);
    for &width in &LAYOUT {
        if width == 0 {
            index += 1;
            block += 1;
            in_block = 0;
        } else {
            in_block += 1;
            names.push((format!("conv{block}_{in_block}"), index));
            index += 2;
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_torchvision_indices() {
        let names = conv_names();
        assert_eq!(names.len(), 13);
        assert_eq!(names[0], ("conv1_1".to_string(), 0));
        assert_eq!(names[1], ("conv1_2".to_string(), 2));
        assert_eq!(names[2], ("conv2_1".to_string(), 5));
        assert_eq!(names[5], ("conv3_2".to_string(), 12));
        assert_eq!(names[8], ("conv4_2".to_string(), 19));
        assert_eq!(names[12], ("conv5_3".to_string(), 28));
    }
}
