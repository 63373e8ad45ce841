//! ONNX scorer models: the protobuf decoder, the graph checks and the initializers.
#![no_main]

use std::sync::LazyLock;

static DEVICE: LazyLock<interfacegan_generator::Device> = LazyLock::new(interfacegan_generator::cpu_device);

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = interfacegan_attributes::OnnxModel::from_bytes(data, "fuzz.onnx", &DEVICE);
});
