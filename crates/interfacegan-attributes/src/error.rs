/// Everything that can go wrong loading a scorer or scoring images; each variant names the file,
/// the image or the value concerned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScorerError {
    /// A model file of the registry could not be found or is not the registry's.
    #[error(transparent)]
    Model(#[from] interfacegan_models::ModelError),
    /// An attribute name that is not built in.
    #[error("unknown attribute `{name}` (gender, age, smile)")]
    UnknownAttribute {
        /// The name given.
        name: String,
    },
    /// An image too small to score.
    #[error("image {index} is {width}x{height}: scorers need at least 8x8 pixels")]
    ImageTooSmall {
        /// Its place in the batch.
        index: usize,
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// A prepared network input of the wrong shape or length.
    #[error("the {attribute} network takes [N, {}, {}, {}], not {found:?}", .takes[0], .takes[1], .takes[2])]
    InputShape {
        /// The scorer's attribute.
        attribute: String,
        /// Channels, height and width the network takes.
        takes: [usize; 3],
        /// The shape given (with fewer values than it says, when the length is what is wrong).
        found: [usize; 4],
    },
    /// An empty batch.
    #[error("no images to score")]
    NoImages,
    /// A failure of a user's own [`crate::Scorer`].
    #[error(transparent)]
    Custom(Box<dyn std::error::Error + Send + Sync>),
    /// The scorer's ONNX network could not be loaded or run.
    #[error(transparent)]
    Onnx(#[from] interfacegan_onnx::OnnxError),
    /// Reading or writing a `.npy` file failed.
    #[error(transparent)]
    Io(#[from] interfacegan_io::IoError),
}
