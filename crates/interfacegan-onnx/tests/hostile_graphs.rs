//! Graphs written byte by byte: what a stranger's file may hold, refused at load or per batch on
//! both engines, never a panic.

use burn::tensor::Device;
use interfacegan_onnx::{Engine, OnnxModel};

/// Protobuf fields as ONNX writes them: a length-delimited field, a varint field.
fn bytes_field(number: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = varint(u64::from(number << 3 | 2));
    out.extend(varint(payload.len() as u64));
    out.extend_from_slice(payload);
    out
}

fn varint_field(number: u32, value: u64) -> Vec<u8> {
    [varint(u64::from(number << 3)), varint(value)].concat()
}

fn varint(mut value: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

fn float_tensor(name: &str, dims: &[u64], value: f32) -> Vec<u8> {
    let count = dims.iter().product::<u64>() as usize;
    let values: Vec<u8> = (0..count).flat_map(|_| value.to_le_bytes()).collect();
    let mut out: Vec<u8> = dims.iter().flat_map(|&d| varint_field(1, d)).collect();
    out.extend(varint_field(2, 1));
    out.extend(bytes_field(4, &values));
    out.extend(bytes_field(8, name.as_bytes()));
    out
}

fn node(op: &str, inputs: &[&str], output: &str) -> Vec<u8> {
    let mut out: Vec<u8> = inputs.iter().flat_map(|i| bytes_field(1, i.as_bytes())).collect();
    out.extend(bytes_field(2, output.as_bytes()));
    out.extend(bytes_field(4, op.as_bytes()));
    out
}

fn with_ints(node: Vec<u8>, name: &str, values: &[u64]) -> Vec<u8> {
    let mut attribute = bytes_field(1, name.as_bytes());
    attribute.extend(values.iter().flat_map(|&v| varint_field(8, v)));
    [node, bytes_field(5, &attribute)].concat()
}

fn one_node_graph(node: Vec<u8>, initializers: &[Vec<u8>]) -> Vec<u8> {
    let mut graph = bytes_field(1, &node);
    graph.extend(initializers.iter().flat_map(|t| bytes_field(5, t)));
    graph.extend(bytes_field(11, &bytes_field(1, b"x")));
    graph.extend(bytes_field(12, &bytes_field(1, b"z")));
    bytes_field(7, &graph)
}

#[test]
fn windows_beyond_any_classifier_are_refused_at_load() {
    let device = Device::flex();
    let pool = with_ints(node("MaxPool", &["x"], "z"), "strides", &[0, 1]);
    let err = OnnxModel::from_bytes(&one_node_graph(pool, &[]), "pool.onnx", &device).err().unwrap().to_string();
    assert!(err.contains("pool.onnx") && err.contains("`strides` 0 is outside 1..=4096"), "{err}");
    let conv = with_ints(node("Conv", &["x", "w"], "z"), "pads", &[0, 0, 1 << 62, 0]);
    let weight = float_tensor("w", &[1, 1, 1, 1], 1.0);
    let err = OnnxModel::from_bytes(&one_node_graph(conv, std::slice::from_ref(&weight)), "conv.onnx", &device)
        .err()
        .unwrap();
    assert!(err.to_string().contains("`pads` 4611686018427387904 is outside 0..=4096"), "{err}");
    let conv = with_ints(node("Conv", &["x", "w"], "z"), "pads", &[1, 1, 1, 1]);
    assert!(OnnxModel::from_bytes(&one_node_graph(conv, &[weight]), "fine.onnx", &device).is_ok());
}

#[test]
fn per_channel_constants_of_the_wrong_length_are_refused() {
    // Found by fuzz/ (target onnx): a Conv bias of 64 values for 1 output channel panicked in burn.
    let device = Device::flex();
    let conv = node("Conv", &["x", "w", "b"], "z");
    let tensors = [float_tensor("w", &[1, 1, 1, 1], 1.0), float_tensor("b", &[64], 0.5)];
    let err = OnnxModel::from_bytes(&one_node_graph(conv, &tensors), "bias.onnx", &device).err().unwrap();
    assert!(err.to_string().contains("bias of 64 values for 1 output channels"), "{err}");
    let norm = node("BatchNormalization", &["x", "g", "b", "m", "v"], "z");
    let tensors = [
        float_tensor("g", &[4], 1.0),
        float_tensor("b", &[4], 0.0),
        float_tensor("m", &[3], 0.0),
        float_tensor("v", &[4], 1.0),
    ];
    let err = OnnxModel::from_bytes(&one_node_graph(norm, &tensors), "norm.onnx", &device).err().unwrap();
    assert!(err.to_string().contains("[4, 4, 3, 4]"), "{err}");
    // A padding value given as an empty tensor pads with zeros.
    let pad = with_ints(node("Pad", &["x", "", "v"], "z"), "pads", &[0, 0, 1, 1, 0, 0, 1, 1]);
    let model = OnnxModel::from_bytes(&one_node_graph(pad, &[float_tensor("v", &[0], 7.0)]), "pad.onnx", &device);
    let (out, shape) = model.unwrap().with_engine(Engine::Burn).unwrap().infer(&[1.0], [1, 1, 1, 1]).unwrap();
    assert_eq!((out, shape), (vec![0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0], [1, 9]));
}

/// x * a * b, with `a` of `a_channels` and `b` of `b_channels` per-channel values.
fn two_scalings(a_channels: u64, b_channels: u64) -> Vec<u8> {
    let graph = [
        bytes_field(1, &node("Mul", &["x", "a"], "y")),
        bytes_field(1, &node("Mul", &["y", "b"], "z")),
        bytes_field(5, &float_tensor("a", &[1, a_channels, 1, 1], 2.0)),
        bytes_field(5, &float_tensor("b", &[1, b_channels, 1, 1], 3.0)),
        bytes_field(11, &bytes_field(1, b"x")),
        bytes_field(12, &bytes_field(1, b"z")),
    ]
    .concat();
    bytes_field(7, &graph)
}

#[test]
fn affine_maps_of_different_shapes_are_not_folded() {
    // Found by fuzz/ (target onnx): folding a 32-channel scaling into a 64-channel one panicked in burn.
    let device = Device::flex();
    let mismatched = OnnxModel::from_bytes(&two_scalings(32, 64), "mismatched.onnx", &device).unwrap();
    assert_eq!(mismatched.node_count(), 2);
    let folded = OnnxModel::from_bytes(&two_scalings(4, 4), "folded.onnx", &device).unwrap();
    assert_eq!(folded.node_count(), 1);
    let (out, _) = folded.with_engine(Engine::Burn).unwrap().infer(&[1.0; 4], [1, 4, 1, 1]).unwrap();
    assert_eq!(out, vec![6.0; 4]);
}

#[test]
fn shape_mismatches_are_errors_on_both_engines() {
    let device = Device::flex();
    let gemm = [
        bytes_field(1, &node("Flatten", &["x"], "f")),
        bytes_field(1, &node("Gemm", &["f", "b"], "z")),
        bytes_field(5, &float_tensor("b", &[10, 3], 1.0)),
        bytes_field(11, &bytes_field(1, b"x")),
        bytes_field(12, &bytes_field(1, b"z")),
    ]
    .concat();
    let conv = one_node_graph(node("Conv", &["x", "w"], "z"), &[float_tensor("w", &[1, 3, 1, 1], 1.0)]);
    let pool = one_node_graph(with_ints(node("MaxPool", &["x"], "z"), "kernel_shape", &[5, 5]), &[]);
    let cases = [
        (bytes_field(7, &gemm), "8 features in, but B is [10, 3]"),
        (conv, "2 input channels for a weight [1, 3, 1, 1]"),
        (pool, "a [5, 5] window (dilation [1, 1]) does not fit 2x2"),
        (two_scalings(32, 64), "do not broadcast"),
    ];
    for (bytes, expected) in cases {
        for engine in [Engine::Burn, Engine::Cpu] {
            let model = OnnxModel::from_bytes(&bytes, "m.onnx", &device).unwrap();
            let Ok(model) = model.with_engine(engine) else { continue };
            let err = model.infer(&[1.0; 8], [1, 2, 2, 2]).unwrap_err().to_string();
            assert!(err.contains("[1, 2, 2, 2]") && err.contains(expected), "{engine:?}: {err}");
        }
    }
    // Chained pads that would need gigabytes are refused before anything is allocated.
    let pads = with_ints(node("Pad", &["x"], "p"), "pads", &[0, 0, 4096, 4096, 0, 0, 4096, 4096]);
    let pads = [
        bytes_field(1, &pads),
        bytes_field(1, &with_ints(node("Pad", &["p"], "z"), "pads", &[0, 0, 4096, 4096, 0, 0, 4096, 4096])),
        bytes_field(11, &bytes_field(1, b"x")),
        bytes_field(12, &bytes_field(1, b"z")),
    ]
    .concat();
    let model = OnnxModel::from_bytes(&bytes_field(7, &pads), "pads.onnx", &device).unwrap();
    let err = model.infer(&[1.0; 8], [1, 2, 2, 2]).unwrap_err().to_string();
    assert!(err.contains("node `p`") && err.contains("over the limit of 16777216 values"), "{err}");
    // The same graphs run when the batch fits them.
    let conv = one_node_graph(node("Conv", &["x", "w"], "z"), &[float_tensor("w", &[1, 3, 1, 1], 1.0)]);
    let model = OnnxModel::from_bytes(&conv, "m.onnx", &device).unwrap();
    assert_eq!(model.infer(&[1.0; 12], [1, 3, 2, 2]).unwrap(), (vec![3.0; 4], [1, 4]));
}
