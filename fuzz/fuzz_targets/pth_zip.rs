//! Zip PyTorch checkpoints: the archive, its entry sizes, the pickle and the tensor views.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if data.starts_with(b"PK\x03\x04") {
        // Tensors are decoded when taken: decode every one, as a model would.
        if let Ok(weights) = interfacegan_generator::Weights::from_bytes(data, "fuzz.pth") {
            for key in weights.keys() {
                let _ = weights.tensor(key);
            }
        }
    }
});
