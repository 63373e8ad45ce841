//! The interface the rest of the project uses to draw images from latent codes.

use burn::tensor::{Device, Tensor};

use crate::error::GeneratorError;
use crate::ops::{tensor, to_vec};

/// The latent spaces a generator can be driven from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LatentSpace {
    /// The input noise space, `z ~ N(0, I)`: codes `[N, D]`.
    Z,
    /// StyleGAN's intermediate space `w = mapping(z)`: codes `[N, D]`.
    W,
    /// StyleGAN's per-layer extension `w+`: codes `[N, L, D]`, one `w` per synthesis layer.
    WPlus,
}

impl LatentSpace {
    /// The official short name (`z`, `w`, `wp`), as in file names (`wp.npy`) and `-s` flags.
    pub fn short_name(self) -> &'static str {
        match self {
            Self::Z => "z",
            Self::W => "w",
            Self::WPlus => "wp",
        }
    }

    /// Parses `z`, `w`, `wp` or `w+` (any case).
    pub fn parse(name: &str) -> Result<Self, GeneratorError> {
        match name.to_ascii_lowercase().as_str() {
            "z" => Ok(Self::Z),
            "w" => Ok(Self::W),
            "wp" | "w+" => Ok(Self::WPlus),
            other => Err(GeneratorError::UnknownLatentSpace { name: other.to_string() }),
        }
    }
}

impl std::fmt::Display for LatentSpace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.short_name())
    }
}

/// What a generator is: its architecture, image size and latent spaces.
#[derive(Clone, Debug, PartialEq)]
pub struct GeneratorInfo {
    /// Architecture name (`dcgan`, `pggan`, `stylegan`).
    pub architecture: &'static str,
    /// Output images are `resolution x resolution`.
    pub resolution: usize,
    /// Output channels (3: RGB).
    pub channels: usize,
    /// Dimension of a code in Z (and W).
    pub latent_dim: usize,
    /// The spaces `synthesize` accepts.
    pub spaces: Vec<LatentSpace>,
    /// Number of per-layer codes in W+ (0 when W+ is not supported).
    pub wp_layers: usize,
}

impl GeneratorInfo {
    /// The shape of one code in `space`, without the batch axis.
    pub fn code_shape(&self, space: LatentSpace) -> Vec<usize> {
        match space {
            LatentSpace::WPlus => vec![self.wp_layers, self.latent_dim],
            _ => vec![self.latent_dim],
        }
    }
}

/// The result of synthesising a batch: the image and every latent code on the way, as the
/// official `synthesize` returns them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Synthesis {
    /// Raw images `[N, C, H, W]`, nominally in `[-1, 1]`, row-major.
    pub images: Vec<f32>,
    /// `[N, C, H, W]`.
    pub image_shape: [usize; 4],
    /// The Z codes (as given) when synthesised from Z.
    pub z: Option<Vec<f32>>,
    /// The W codes (StyleGAN): mapped from Z, or as given.
    pub w: Option<Vec<f32>>,
    /// The W+ codes (StyleGAN), after truncation.
    pub wp: Option<Vec<f32>>,
}

/// A pretrained generator: latent codes in, images out, on any burn device and batch size.
pub trait Generator: Send + Sync {
    /// Architecture, resolution and latent spaces.
    fn info(&self) -> &GeneratorInfo;

    /// The device the weights live on.
    fn device(&self) -> &Device;

    /// Synthesises images from codes on the device: `[N, D]` for Z and W, `[N, L, D]` for W+ (as a
    /// rank-3 tensor with `L = 1` for Z and W). Differentiable with respect to the codes, for
    /// inversion. Returns raw images `[N, C, H, W]`.
    fn forward(&self, codes: Tensor<3>, space: LatentSpace) -> Result<Tensor<4>, GeneratorError>;

    /// The centre of the code distribution in `space`, one code of shape `info().code_shape(space)`:
    /// zeros for Z (`z ~ N(0, I)`), the tracked average `w_avg` for StyleGAN's W and W+. Inversion
    /// pulls codes towards it (its latent prior).
    fn latent_mean(&self, space: LatentSpace) -> Result<Vec<f32>, GeneratorError> {
        Ok(vec![0.0; self.info().code_shape(space).iter().product()])
    }

    /// The W codes of `z` (row-major `[N, D]`) from the mapping network alone, before truncation:
    /// what GANSpace takes principal components of, without the cost of synthesis. `None` for
    /// generators without a mapping network (DCGAN, PGGAN).
    fn map_z(&self, z: &[f32]) -> Result<Option<Vec<f32>>, GeneratorError> {
        check_codes(self.info(), z, LatentSpace::Z)?;
        Ok(None)
    }

    /// Synthesises a batch of host codes (row-major) and returns the images and the codes on the way.
    fn synthesize(&self, codes: &[f32], space: LatentSpace) -> Result<Synthesis, GeneratorError> {
        synthesize_on_device(self, codes, space)
    }

    /// Synthesises host codes on the host and keeps what is needed to pull a gradient with respect
    /// to the images back to the codes ([`Traced::pullback`]): inversion's step without burn's
    /// autodiff. `None` where the generator has no such route (any device but the CPU, and
    /// architectures without one); callers then differentiate [`forward`](Self::forward).
    fn synthesize_traced(&self, codes: &[f32], space: LatentSpace) -> Result<Option<Traced<'_>>, GeneratorError> {
        check_codes(self.info(), codes, space)?;
        Ok(None)
    }
}

/// A function from a gradient with respect to images to one with respect to their codes, both
/// row-major: what [`Traced`] carries.
pub type Pullback<'a> = Box<dyn Fn(&[f32]) -> Vec<f32> + 'a>;

/// Images synthesised by [`Generator::synthesize_traced`], with the way back to their codes.
pub struct Traced<'a> {
    /// The raw images, `[N, C, H, W]` row-major, as [`Synthesis::images`].
    pub images: Vec<f32>,
    /// `[N, C, H, W]`.
    pub image_shape: [usize; 4],
    /// Values per code.
    code_len: usize,
    /// Image gradient (same layout as `images`) to code gradient (row-major, as the codes).
    pullback: Pullback<'a>,
}

impl<'a> Traced<'a> {
    /// Images `[N, C, H, W]` of `N` codes of `code_len` values each, and their pullback (which
    /// [`pullback`](Self::pullback) calls with a gradient of the images' length, and which must
    /// return `N · code_len` values): for generators outside this crate that differentiate
    /// themselves.
    pub fn new(images: Vec<f32>, image_shape: [usize; 4], code_len: usize, pullback: Pullback<'a>) -> Self {
        Self { images, image_shape, code_len, pullback }
    }

    /// The gradient of a loss with respect to the codes, given its gradient with respect to the
    /// images (`image_grad`, laid out as [`images`](Self::images)): `J^T image_grad`, row-major as
    /// the codes were.
    pub fn pullback(&self, image_grad: &[f32]) -> Result<Vec<f32>, GeneratorError> {
        if image_grad.len() != self.images.len() {
            return Err(GeneratorError::RawImages { values: image_grad.len(), shape: self.image_shape });
        }
        let grad = (self.pullback)(image_grad);
        if grad.len() != self.image_shape[0] * self.code_len {
            let found = format!("{} gradient values for {} images", grad.len(), self.image_shape[0]);
            return Err(GeneratorError::CodeShape { found, code_shape: vec![self.code_len] });
        }
        Ok(grad)
    }
}

/// [`Generator::synthesize`] through [`Generator::forward`] on the device: the default, and what a
/// generator with a faster route of its own falls back to off the CPU.
pub(crate) fn synthesize_on_device<G: Generator + ?Sized>(
    g: &G,
    codes: &[f32],
    space: LatentSpace,
) -> Result<Synthesis, GeneratorError> {
    let info = g.info();
    let (layers, n) = check_codes(info, codes, space)?;
    let input = tensor(codes, [n, layers, info.latent_dim], g.device());
    let images = g.forward(input, space)?;
    let image_shape = images.dims();
    let mut out = Synthesis { images: to_vec(images)?, image_shape, ..Synthesis::default() };
    match space {
        LatentSpace::Z => out.z = Some(codes.to_vec()),
        LatentSpace::W => out.w = Some(codes.to_vec()),
        LatentSpace::WPlus => out.wp = Some(codes.to_vec()),
    }
    Ok(out)
}

/// [`Generator::map_z`] of a generator whose mapping network is `mapping`.
pub(crate) fn map_with(
    info: &GeneratorInfo,
    device: &Device,
    z: &[f32],
    mapping: impl Fn(Tensor<2>) -> Tensor<2>,
) -> Result<Option<Vec<f32>>, GeneratorError> {
    let (_, n) = check_codes(info, z, LatentSpace::Z)?;
    Ok(Some(to_vec(mapping(tensor(z, [n, info.latent_dim], device)))?))
}

/// Checks that `codes` holds whole, finite codes of `space`; returns (layers per code, count).
pub(crate) fn check_codes(
    info: &GeneratorInfo,
    codes: &[f32],
    space: LatentSpace,
) -> Result<(usize, usize), GeneratorError> {
    if !info.spaces.contains(&space) {
        return Err(space_not_taken(info, space));
    }
    let layers = if space == LatentSpace::WPlus { info.wp_layers } else { 1 };
    let per_code = layers * info.latent_dim;
    if codes.is_empty() || !codes.len().is_multiple_of(per_code) {
        return Err(GeneratorError::CodeShape {
            found: format!("{} values", codes.len()),
            code_shape: info.code_shape(space),
        });
    }
    if let Some(i) = codes.iter().position(|v| !v.is_finite()) {
        return Err(GeneratorError::NonFiniteCode { index: i / per_code });
    }
    Ok((layers, codes.len() / per_code))
}

/// Checks the rank-3 code tensor given to `forward`.
pub(crate) fn check_code_tensor(
    info: &GeneratorInfo,
    codes: &Tensor<3>,
    space: LatentSpace,
) -> Result<usize, GeneratorError> {
    let [n, layers, dim] = codes.dims();
    let want_layers = if space == LatentSpace::WPlus { info.wp_layers } else { 1 };
    if !info.spaces.contains(&space) {
        return Err(space_not_taken(info, space));
    }
    if layers != want_layers || dim != info.latent_dim || n == 0 {
        let found = format!("codes of shape [{n}, {layers}, {dim}]");
        return Err(GeneratorError::CodeShape { found, code_shape: info.code_shape(space) });
    }
    Ok(n)
}

fn space_not_taken(info: &GeneratorInfo, space: LatentSpace) -> GeneratorError {
    GeneratorError::SpaceNotTaken {
        architecture: info.architecture,
        space: space.to_string(),
        takes: info.spaces.iter().map(|s| s.short_name()).collect::<Vec<_>>().join(", "),
    }
}
