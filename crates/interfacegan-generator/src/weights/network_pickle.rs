//! NVIDIA network pickles (`.pkl` of NVlabs/stylegan2-ada-pytorch and NVlabs/stylegan3): a plain
//! `pickle.dump` of a dict (`G`, `D`, `G_ema`, `augment_pipe`, `training_set_kwargs`) whose modules
//! are `torch_utils.persistence` objects carrying their own source code and `__dict__`.
//!
//! The source is never run: [`super::pickle`] turns each module into a record of class name and
//! state, and this reader walks `G_ema`'s tree into the tensors `G_ema.state_dict()` would hold
//! (same dotted keys) and one [`ModuleRecord`] per module with its plain attributes, from which a
//! model reads its configuration. Tensors of `G`, `D` and the augmentation pipeline are never
//! catalogued.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::ModuleRecord;
use super::pickle::{self, MAX_DEPTH, Node, Pickle, TensorRef, Value, WalkBudget};
use super::storage::{Catalogue, Location, Storage, range_in};
use crate::error::{GeneratorError, format_error};

/// The network a pickle holds: tensors by state-dict key and module records by module path.
pub(super) struct Network {
    pub catalogue: Catalogue,
    pub modules: BTreeMap<String, ModuleRecord>,
}

/// Reads the generator of a network pickle: `G_ema` of the training snapshot's dict, or the root
/// itself when it is a single persistent module.
pub(super) fn read(bytes: &[u8], source: &str) -> Result<Network, GeneratorError> {
    let (pickle, _) = pickle::parse(bytes, source)?;
    let generator = match pickle.node(pickle.root) {
        Some(Node::Persistent { .. }) => pickle.root,
        Some(Node::Dict(_)) => pickle
            .get(pickle.root, "G_ema")
            .ok_or_else(|| format_error(source, "a pickled dict without `G_ema`: not an NVIDIA training snapshot"))?,
        _ => return Err(format_error(source, "a pickle that holds neither a network snapshot dict nor a module")),
    };
    let mut tensors: Vec<(String, &TensorRef)> = Vec::new();
    let mut modules = BTreeMap::new();
    let mut budget = pickle.walk_budget();
    let mut pending = vec![(String::new(), generator, 0usize)];
    while let Some((path, value, depth)) = pending.pop() {
        budget.spend(source)?;
        if depth > MAX_DEPTH {
            return Err(format_error(source, format!("modules nested deeper than {MAX_DEPTH} levels")));
        }
        let Some(Node::Persistent { class_name, state }) = pickle.node(value) else {
            return Err(format_error(source, format!("module `{path}` is not a persistent NVIDIA module")));
        };
        let state = pickle.dict(*state).ok_or_else(|| format_error(source, format!("module `{path}`: no state")))?;
        let join = |name: &str| if path.is_empty() { name.to_string() } else { format!("{path}.{name}") };
        let mut attrs = serde_json::Map::new();
        for (key, item) in state {
            let Value::Str(key) = key else { continue };
            match *key {
                "_parameters" | "_buffers" => {
                    for (name, tensor) in named(&pickle, *item) {
                        match pickle.node(tensor) {
                            Some(Node::Tensor(t)) => tensors.push((join(name), t)),
                            _ if tensor == Value::None => {}
                            _ => return Err(format_error(source, format!("`{}` is not a tensor", join(name)))),
                        }
                    }
                }
                "_modules" => {
                    for (name, module) in named(&pickle, *item) {
                        if module != Value::None {
                            pending.push((join(name), module, depth + 1));
                        }
                    }
                }
                "_init_args" | "_init_kwargs" => {
                    attrs.insert(key.to_string(), to_json(&pickle, *item, &mut budget, 0).unwrap_or(Json::Null));
                }
                _ if key.starts_with('_') || *key == "training" => {}
                _ => {
                    if let Some(json) = to_json(&pickle, *item, &mut budget, 0) {
                        attrs.insert(key.to_string(), json);
                    }
                }
            }
        }
        modules.insert(path, ModuleRecord { class_name: class_name.clone(), attrs });
    }
    let mut catalogue = Catalogue::default();
    for (key, tensor) in tensors {
        let (data, little_endian) = tensor
            .storage
            .inline
            .ok_or_else(|| format_error(source, format!("tensor `{key}`: its storage is not inside the pickle")))?;
        let location = Location::InPlace { range: range_in(bytes, data), crc32: None };
        let storage = Storage::new(tensor.storage.dtype, little_endian, location);
        let index = catalogue.add_storage(storage, bytes.len(), source)?;
        catalogue.add_view(key, tensor, index, source)?;
    }
    Ok(Network { catalogue, modules })
}

/// The string-keyed entries of a dict value.
fn named<'p, 'a>(pickle: &'p Pickle<'a>, dict: Value<'a>) -> impl Iterator<Item = (&'a str, Value<'a>)> + 'p {
    pickle.dict(dict).unwrap_or(&[]).iter().filter_map(|(k, v)| match k {
        Value::Str(name) => Some((*name, *v)),
        _ => None,
    })
}

/// A plain attribute as JSON (numbers, strings, booleans, None, and sequences, dicts and numpy
/// arrays of them); `None` for anything else (tensors, modules) and once the walk's budget is spent.
fn to_json(pickle: &Pickle, value: Value, budget: &mut WalkBudget, depth: usize) -> Option<Json> {
    if depth > 16 || budget.spend("").is_err() {
        return None;
    }
    let Value::Node(_) = value else { return scalar_json(value) };
    Some(match pickle.node(value)? {
        Node::Tuple(items) | Node::List(items) | Node::Set(items) => {
            Json::Array(items.iter().map(|v| to_json(pickle, *v, budget, depth + 1)).collect::<Option<_>>()?)
        }
        Node::Dict(items) => Json::Object(
            items
                .iter()
                .filter_map(|(k, v)| match k {
                    Value::Str(k) => Some((k.to_string(), to_json(pickle, *v, budget, depth + 1)?)),
                    _ => None,
                })
                .collect(),
        ),
        Node::NdArray { shape, dtype, data } => ndarray_json(pickle, shape, *dtype, data)?,
        _ => return None,
    })
}

/// A scalar value as JSON; `None` for bytes and compound values.
fn scalar_json(value: Value) -> Option<Json> {
    Some(match value {
        Value::None => Json::Null,
        Value::Bool(b) => Json::Bool(b),
        Value::Int(i) => Json::from(i),
        Value::Float(f) => serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number),
        Value::Str(s) => Json::String(s.to_string()),
        Value::Bytes(_) | Value::Node(_) => return None,
    })
}

/// A small numpy array (at most 4096 elements) as a flat JSON list.
fn ndarray_json(pickle: &Pickle, shape: &[usize], dtype: Option<usize>, data: &[u8]) -> Option<Json> {
    let Some(Node::Dtype { name, order }) = pickle.node(Value::Node(dtype?)) else { return None };
    let numel = shape.iter().try_fold(1usize, |a, &n| a.checked_mul(n)).filter(|&n| n <= 4096)?;
    let size = pickle::numpy_item_size(name)?;
    if data.len() != numel * size {
        return None;
    }
    let items = data.chunks_exact(size).map(|raw| scalar_json(pickle::decode_scalar(name, *order, raw)?));
    Some(Json::Array(items.collect::<Option<_>>()?))
}
