use crate::model::Engine;
use crate::shapes::MAX_VALUE_PER_IMAGE;

/// Everything that can go wrong loading an ONNX model or running it; each variant names the
/// model, the node or the batch concerned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OnnxError {
    /// The bytes are not a protobuf encoding of an ONNX model this reader can decode.
    #[error("{model}: {defect}")]
    Protobuf {
        /// The model's name (its file, for a file).
        model: String,
        /// What is damaged, and where.
        defect: String,
    },
    /// The graph has no input or no output.
    #[error("{model}: the graph has no {missing}")]
    Graph {
        /// The model's name.
        model: String,
        /// `"input"` or `"output"`.
        missing: &'static str,
    },
    /// An operator outside this interpreter's set.
    #[error("{model}: ONNX operator `{op}` is not supported by this interpreter")]
    UnsupportedOperator {
        /// The model's name.
        model: String,
        /// The ONNX operator type.
        op: String,
    },
    /// A node whose inputs or attributes this interpreter cannot take.
    #[error("{model}: {op} node `{node}`: {problem}")]
    Node {
        /// The model's name.
        model: String,
        /// The ONNX operator type.
        op: String,
        /// The node's outputs.
        node: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A node of the graph cannot take a batch of this shape.
    #[error("the ONNX graph cannot take a batch of {shape:?}: node `{node}`: {problem}")]
    Batch {
        /// The batch's shape `[N, C, H, W]`.
        shape: [usize; 4],
        /// The node's output.
        node: String,
        /// Why not.
        problem: Box<ShapeProblem>,
    },
    /// A node reads a value no node before it computes (or the graph's output is never computed).
    #[error("ONNX graph value `{value}` is used before it is computed")]
    MissingValue {
        /// The value's name.
        value: String,
    },
    /// A node failed on an engine while running.
    #[error("ONNX node `{node}` on the {engine} engine: {problem}")]
    Run {
        /// The node's output.
        node: String,
        /// The engine.
        engine: Engine,
        /// Why.
        problem: Box<ShapeProblem>,
    },
    /// The input values do not fill the batch shape given with them.
    #[error("{values} input values for a batch of shape {shape:?}")]
    InputLength {
        /// How many values came.
        values: usize,
        /// The batch's shape.
        shape: [usize; 4],
    },
    /// [`Engine::Cpu`] was asked for a model on another device or with a node that engine lacks.
    #[error("the CPU engine needs the CPU device and a graph it supports; this model runs on burn")]
    CpuEngineUnavailable,
    /// The device could not hand the output back.
    #[error("cannot read the output back from the device: {reason}")]
    Readback {
        /// burn's reason.
        reason: String,
    },
}

/// Why a node cannot run on the values it meets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShapeProblem {
    /// A spatial operator meets features (after Flatten).
    #[error("a spatial op after Flatten")]
    SpatialAfterFlatten,
    /// A convolution's weight does not match the channels it meets.
    #[error("{channels} input channels for a weight {weight:?} in {groups} groups")]
    Channels {
        /// Channels of the input.
        channels: usize,
        /// The weight's shape `[out, in / groups, kh, kw]`.
        weight: [usize; 4],
        /// Convolution groups.
        groups: usize,
    },
    /// A window larger than its padded input.
    #[error("a {kernel:?} window (dilation {dilation:?}) does not fit {height}x{width} padded by {pads:?}")]
    Window {
        /// Kernel height and width.
        kernel: [usize; 2],
        /// Dilation.
        dilation: [usize; 2],
        /// Pads `[top, left, bottom, right]`.
        pads: [usize; 4],
        /// Input height.
        height: usize,
        /// Input width.
        width: usize,
    },
    /// A pool padded by more than half its window.
    #[error("pads {pads:?} over half the window {kernel:?}")]
    PoolPads {
        /// Pads `[top, left, bottom, right]`.
        pads: [usize; 4],
        /// Kernel height and width.
        kernel: [usize; 2],
    },
    /// A per-channel constant that does not fit the maps it meets.
    #[error("a constant of shape {constant:?} for maps of {maps:?}")]
    Constant {
        /// The constant's shape.
        constant: Vec<usize>,
        /// The maps' shape.
        maps: [usize; 4],
    },
    /// A Gemm whose B does not take the features it meets.
    #[error("{features} features in, but B is {b:?}")]
    GemmWidth {
        /// Features per row of the input.
        features: usize,
        /// B's shape `[K, M]`.
        b: [usize; 2],
    },
    /// Two shapes that do not broadcast.
    #[error("shapes {a:?} and {b:?} do not broadcast")]
    Broadcast {
        /// One shape.
        a: Vec<usize>,
        /// The other.
        b: Vec<usize>,
    },
    /// A constant of rank 3 or 4 meets features.
    #[error("a constant of rank > 2 meets features")]
    ConstantMeetsFeatures,
    /// An element-wise op between a feature map and features.
    #[error("an element-wise op on a feature map and features")]
    MapAndFeatures,
    /// A size that does not fit in memory's address range.
    #[error("a size overflows")]
    Overflow,
    /// An output over [`MAX_VALUE_PER_IMAGE`] values per image.
    #[error("an output of {per_image:?} per image, over the limit of {MAX_VALUE_PER_IMAGE} values")]
    TooLarge {
        /// The output's shape without the batch axis.
        per_image: Vec<usize>,
    },
    /// A constant the CPU engine cannot broadcast (neither a scalar nor one value per channel).
    #[error("a constant that is not a scalar or one value per channel (run this model on burn)")]
    UnsupportedConstant,
}
