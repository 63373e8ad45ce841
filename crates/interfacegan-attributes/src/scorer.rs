//! The `Scorer` trait and the three built-in attribute scorers.

use image::RgbImage;
use interfacegan_device::Device;

use crate::error::ScorerError;
use interfacegan_io::{center_crop_square, resize_bilinear, to_luma};
use interfacegan_models::ModelStore;
use interfacegan_onnx::{Engine, OnnxModel};

/// The input a scorer's network takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputSpec {
    /// Width and height in pixels (square inputs).
    pub size: u32,
    /// Gray (Pillow 'L' luma) instead of RGB.
    pub gray: bool,
}

/// Scores a batch of images for one attribute.
pub trait Scorer: Send + Sync {
    /// The attribute (`gender`, `age`, `smile`, or a user's name): file names use it (`gender_scores.npy`).
    fn attribute(&self) -> &str;

    /// What the score is, in words (`P(male)`, `expected age in years`, ...).
    fn meaning(&self) -> &str;

    /// What the network takes; other images are centre-cropped to a square and resized to it.
    fn input(&self) -> InputSpec;

    /// One score per image.
    fn score(&self, images: &[RgbImage]) -> Result<Vec<f32>, ScorerError>;
}

/// The built-in attributes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Attribute {
    /// P(male), dlib's gender net (CC0): 32 px RGB.
    Gender,
    /// Expected age over 81 classes [0.25, 1, 2, ..., 80], dlib's age net (CC0): 64 px RGB.
    Age,
    /// P(happy), the fer2013 mini-XCEPTION (MIT): 64 px gray.
    Smile,
}

impl Attribute {
    /// All built-ins.
    pub const ALL: [Attribute; 3] = [Attribute::Gender, Attribute::Age, Attribute::Smile];

    /// Parses `gender`, `age` or `smile`.
    pub fn parse(name: &str) -> Result<Self, ScorerError> {
        match name.trim().to_ascii_lowercase().as_str() {
            "gender" => Ok(Self::Gender),
            "age" => Ok(Self::Age),
            "smile" => Ok(Self::Smile),
            other => Err(ScorerError::UnknownAttribute { name: other.to_string() }),
        }
    }

    /// The attribute's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Gender => "gender",
            Self::Age => "age",
            Self::Smile => "smile",
        }
    }

    /// The registry's name of the attribute's network (`interfacegan_models::MODELS` gives its file,
    /// size, sha256, provenance and licence): the attribute's own name.
    pub fn model_name(self) -> &'static str {
        self.name()
    }
}

/// dlib's per-channel input mean (RGB); inputs are `(byte - mean) / 256`. Written as the reference
/// writes them; both round them to the same f32.
#[allow(clippy::excessive_precision)]
const DLIB_MEAN: [f32; 3] = [122.781998, 117.000999, 104.297997];
/// Images per forward pass, to bound memory on long lists.
const CHUNK: usize = 64;
/// Images per forward pass of the CPU engine: half the maps of [`CHUNK`] stay in the caches, and a
/// fresh process clears half as many new pages for its first pass (docs/benchmarks.md).
const CPU_CHUNK: usize = 32;

/// A built-in scorer: an ONNX network of the model registry run by our interpreter (on burn, or on the CPU engine).
pub struct BuiltInScorer {
    attribute: Attribute,
    model: OnnxModel,
}

impl BuiltInScorer {
    /// Loads the network of `attribute` on `device`, its file found by [`ModelStore::from_env`].
    pub fn new(attribute: Attribute, device: &Device) -> Result<Self, ScorerError> {
        Self::in_store(attribute, &ModelStore::from_env(), device)
    }

    /// Loads the network of `attribute` on `device`, its file found and verified by `store`.
    pub fn in_store(attribute: Attribute, store: &ModelStore, device: &Device) -> Result<Self, ScorerError> {
        let (located, bytes) = store.read(attribute.model_name())?;
        Self::verified(attribute, &bytes, &located.path.display().to_string(), device)
    }

    /// Loads the file at `path`, the caller's copy of the network of `attribute` (its size checked
    /// against the registry's before it is read, its sha256 after), on `device`.
    pub fn from_file(attribute: Attribute, path: &std::path::Path, device: &Device) -> Result<Self, ScorerError> {
        let bytes = interfacegan_models::read_verified(path, interfacegan_models::model(attribute.model_name())?)?;
        Self::verified(attribute, &bytes, &path.display().to_string(), device)
    }

    /// Loads `bytes`, the caller's copy of the network of `attribute` (the registry's file, checked
    /// against its size and sha256 here), on `device`; `source` names them in errors.
    pub fn from_bytes(attribute: Attribute, bytes: &[u8], source: &str, device: &Device) -> Result<Self, ScorerError> {
        let registered = interfacegan_models::model(attribute.model_name())?;
        interfacegan_models::check_bytes(std::path::Path::new(source), registered, bytes)?;
        Self::verified(attribute, bytes, source, device)
    }

    /// Loads `bytes` already checked against the registry (each constructor checks them once).
    fn verified(attribute: Attribute, bytes: &[u8], source: &str, device: &Device) -> Result<Self, ScorerError> {
        Ok(Self { attribute, model: OnnxModel::from_bytes(bytes, source, device)? })
    }

    /// The same scorer on another engine (see [`Engine`]; the CPU engine is the default on the CPU).
    pub fn with_engine(self, engine: Engine) -> Result<Self, ScorerError> {
        Ok(Self { model: self.model.with_engine(engine)?, ..self })
    }

    /// The engine that runs the network.
    pub fn engine(&self) -> Engine {
        self.model.engine()
    }

    /// The network's input for a batch, `[N, C, S, S]` row-major, exactly as the reference builds it.
    pub fn network_input(&self, images: &[RgbImage]) -> Result<(Vec<f32>, [usize; 4]), ScorerError> {
        let spec = self.input();
        let s = spec.size as usize;
        let channels = if spec.gray { 1 } else { 3 };
        let mut out = Vec::with_capacity(images.len() * channels * s * s);
        for (i, image) in images.iter().enumerate() {
            let (w, h) = image.dimensions();
            if w < 8 || h < 8 {
                return Err(ScorerError::ImageTooSmall { index: i, width: w, height: h });
            }
            let square = if w == h { None } else { Some(center_crop_square(image)) };
            let square = square.as_ref().unwrap_or(image);
            let sized =
                if square.width() == spec.size { None } else { Some(resize_bilinear(square, spec.size, spec.size)) };
            let sized = sized.as_ref().unwrap_or(square);
            if spec.gray {
                out.extend(to_luma(sized).as_raw().iter().map(|&g| (g as f32 / 255.0 - 0.5) * 2.0));
            } else {
                let raw = sized.as_raw();
                for (c, mean) in DLIB_MEAN.iter().enumerate() {
                    out.extend(raw.iter().skip(c).step_by(3).map(|&b| (b as f32 - mean) / 256.0));
                }
            }
        }
        Ok((out, [images.len(), channels, s, s]))
    }

    /// The network's class probabilities `[N, K]` for a prepared input `[N, C, S, S]`.
    pub fn probabilities(&self, input: &[f32], shape: [usize; 4]) -> Result<Vec<f32>, ScorerError> {
        let spec = self.input();
        let channels = if spec.gray { 1 } else { 3 };
        if shape[1..] != [channels, spec.size as usize, spec.size as usize]
            || input.len() != shape.iter().product::<usize>()
        {
            return Err(ScorerError::InputShape {
                attribute: self.attribute.name().to_string(),
                takes: [channels, spec.size as usize, spec.size as usize],
                found: shape,
            });
        }
        Ok(self.model.infer(input, shape)?.0)
    }

    /// Scores from class probabilities `[N, K]`.
    pub fn reduce(&self, probabilities: &[f32]) -> Vec<f32> {
        match self.attribute {
            Attribute::Gender => probabilities.chunks_exact(2).map(|p| p[1]).collect(),
            // The reference computes this dot product in float32.
            Attribute::Age => probabilities
                .chunks_exact(81)
                .map(|p| p.iter().enumerate().map(|(i, &q)| q * if i == 0 { 0.25 } else { i as f32 }).sum())
                .collect(),
            Attribute::Smile => probabilities.chunks_exact(7).map(|p| p[3]).collect(),
        }
    }
}

impl Scorer for BuiltInScorer {
    fn attribute(&self) -> &str {
        self.attribute.name()
    }

    fn meaning(&self) -> &str {
        match self.attribute {
            Attribute::Gender => "P(male)",
            Attribute::Age => "expected age in years",
            Attribute::Smile => "P(happy)",
        }
    }

    fn input(&self) -> InputSpec {
        match self.attribute {
            Attribute::Gender => InputSpec { size: 32, gray: false },
            Attribute::Age => InputSpec { size: 64, gray: false },
            Attribute::Smile => InputSpec { size: 64, gray: true },
        }
    }

    fn score(&self, images: &[RgbImage]) -> Result<Vec<f32>, ScorerError> {
        if images.is_empty() {
            return Err(ScorerError::NoImages);
        }
        let mut scores = Vec::with_capacity(images.len());
        let chunk = if self.engine() == Engine::Cpu { CPU_CHUNK } else { CHUNK };
        for chunk in images.chunks(chunk) {
            let (input, shape) = self.network_input(chunk)?;
            scores.extend(self.reduce(&self.probabilities(&input, shape)?));
        }
        Ok(scores)
    }
}
