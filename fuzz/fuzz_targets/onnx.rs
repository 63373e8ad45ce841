//! ONNX scorer models: the protobuf decoder, the graph checks and the initializers, then one
//! inference on a small batch whose shape the input's last bytes pick (both engines).
#![no_main]

use std::sync::LazyLock;

use interfacegan_onnx::{Engine, OnnxModel};

static DEVICE: LazyLock<interfacegan_device::Device> = LazyLock::new(interfacegan_device::cpu_device);

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(model) = OnnxModel::from_bytes(data, "fuzz.onnx", &DEVICE) else { return };
    let pick = |back: usize, modulus: u8| 1 + (data.len().checked_sub(back).map_or(0, |i| data[i]) % modulus) as usize;
    let shape = [1, pick(1, 4), pick(2, 32), pick(3, 32)];
    let input = vec![0.5f32; shape.iter().product()];
    let _ = model.infer(&input, shape);
    if model.engine() == Engine::Cpu {
        if let Ok(burn) = model.with_engine(Engine::Burn) {
            let _ = burn.infer(&input, shape);
        }
    }
});
