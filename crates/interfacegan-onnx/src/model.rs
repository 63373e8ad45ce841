use std::collections::HashMap;
use std::fmt;

use burn::tensor::{Device, Tensor, TensorData};

use crate::engine::burn::{BurnEngine, Value};
use crate::engine::cpu::CpuEngine;
use crate::error::OnnxError;
use crate::execute::execute;
use crate::graph::Graph;
use crate::parse::parse_graph;
use crate::shapes;

/// Which code runs a model's operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// burn's tensor operations on the model's device (CPU or GPU).
    Burn,
    /// The CPU engine: channel-last maps, convolutions as im2col + GEMM (the `gemm` crate), several
    /// times faster than burn's CPU convolutions on small nets (`docs/attributes.md`). The default
    /// on CPU devices for every graph it supports.
    Cpu,
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Engine::Burn => "burn",
            Engine::Cpu => "CPU",
        })
    }
}

/// A loaded ONNX classifier: image batch `[N, C, H, W]` in, `[N, K]` out.
pub struct OnnxModel {
    graph: Graph,
    /// How many nodes read each value.
    readers: HashMap<String, usize>,
    burn: BurnEngine,
    /// The graph prepared for the CPU engine, when the device is the CPU and the graph fits it.
    cpu: Option<CpuEngine>,
    engine: Engine,
    device: Device,
}

impl OnnxModel {
    /// Loads a model from the bytes of an `.onnx` file onto `device`; `model` names it in errors.
    pub fn from_bytes(bytes: &[u8], model: &str, device: &Device) -> Result<Self, OnnxError> {
        let graph = parse_graph(bytes, model)?.fold_affine_maps();
        let readers = graph.readers();
        let burn = BurnEngine::new(&graph, device);
        let cpu = (*device == Device::flex()).then(|| CpuEngine::new(&graph)).flatten();
        let engine = if cpu.is_some() { Engine::Cpu } else { Engine::Burn };
        Ok(Self { graph, readers, burn, cpu, engine, device: device.clone() })
    }

    /// The engine [`OnnxModel::infer`] uses.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The same model on `engine`: [`Engine::Cpu`] needs a CPU device and a graph that engine
    /// supports (every operator of this interpreter except grouped convolutions other than
    /// depthwise and padding of the batch axis).
    pub fn with_engine(mut self, engine: Engine) -> Result<Self, OnnxError> {
        if engine == Engine::Cpu && self.cpu.is_none() {
            return Err(OnnxError::CpuEngineUnavailable);
        }
        self.engine = engine;
        Ok(self)
    }

    /// Runs the graph on a batch `[N, C, H, W]` given as row-major values; returns `[N, K]` and its
    /// shape. Uses [`OnnxModel::engine`].
    pub fn infer(&self, input: &[f32], shape: [usize; 4]) -> Result<(Vec<f32>, [usize; 2]), OnnxError> {
        if input.len() != shape.iter().product::<usize>() {
            return Err(OnnxError::InputLength { values: input.len(), shape });
        }
        shapes::check(&self.graph, shape)?;
        if let (Engine::Cpu, Some(cpu)) = (self.engine, &self.cpu) {
            return cpu.run(&self.graph, &self.readers, input, shape);
        }
        let images = Tensor::<4>::from_data(TensorData::new(input.to_vec(), shape), &self.device);
        let output = self.run_on_burn(images)?;
        let dims = output.dims();
        let values = output
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .map_err(|e| OnnxError::Readback { reason: format!("{e:?}") })?;
        Ok((values, dims))
    }

    /// Runs the graph with burn on a batch on the model's device; returns the graph output `[N, K]`.
    pub fn run(&self, images: Tensor<4>) -> Result<Tensor<2>, OnnxError> {
        shapes::check(&self.graph, images.dims())?;
        self.run_on_burn(images)
    }

    /// [`OnnxModel::run`] on a batch whose shapes were checked.
    fn run_on_burn(&self, images: Tensor<4>) -> Result<Tensor<2>, OnnxError> {
        Ok(execute(&self.graph, &self.readers, &self.burn, Value::Map(images))?.features())
    }

    /// Number of operations after per-channel affine maps are folded into the convolutions before them.
    pub fn node_count(&self) -> usize {
        self.graph.nodes.len()
    }

    /// The device the weights live on.
    pub fn device(&self) -> &Device {
        &self.device
    }
}
