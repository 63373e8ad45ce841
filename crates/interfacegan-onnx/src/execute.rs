//! The one interpreter loop both engines share: values flow between nodes by name, each node is
//! handed to the engine with its inputs, and a value is handed over (not copied) to its last
//! reader, so that the engine can work in place and memory is freed as early as possible.

use std::collections::HashMap;

use crate::error::{OnnxError, ShapeProblem};
use crate::graph::{Graph, Node};
use crate::model::Engine;

/// An engine: how one node runs on its input values.
pub(crate) trait Backend {
    /// A value flowing through the graph; cloning it shares it (burn tensors, `Rc` buffers).
    type Value: Clone;

    /// Which engine this is, for errors.
    const ENGINE: Engine;

    /// Runs node `index` of the graph on the values it reads, in operand order. The graph's
    /// shapes were checked for this batch ([`crate::shapes::check`]).
    fn apply(&self, index: usize, node: &Node, inputs: Vec<Self::Value>) -> Result<Self::Value, ShapeProblem>;
}

/// Runs `graph` on `engine` from `input`; `readers` counts the nodes that read each value
/// ([`Graph::readers`]).
pub(crate) fn execute<B: Backend>(
    graph: &Graph,
    readers: &HashMap<String, usize>,
    engine: &B,
    input: B::Value,
) -> Result<B::Value, OnnxError> {
    let mut values: HashMap<&str, B::Value> = HashMap::from([(graph.input.as_str(), input)]);
    let mut readers_left = readers.clone();
    let missing = |name: &str| OnnxError::MissingValue { value: name.to_string() };
    for (index, node) in graph.nodes.iter().enumerate() {
        let mut inputs = Vec::with_capacity(node.inputs.len());
        for name in &node.inputs {
            let left = readers_left.get_mut(name.as_str()).ok_or_else(|| missing(name))?;
            *left = left.saturating_sub(1);
            let value = if *left == 0 && *name != graph.output {
                values.remove(name.as_str())
            } else {
                values.get(name.as_str()).cloned()
            };
            inputs.push(value.ok_or_else(|| missing(name))?);
        }
        let value = engine.apply(index, node, inputs).map_err(|problem| OnnxError::Run {
            node: node.output.clone(),
            engine: B::ENGINE,
            problem: Box::new(problem),
        })?;
        values.insert(&node.output, value);
    }
    values.remove(graph.output.as_str()).ok_or_else(|| missing(&graph.output))
}
