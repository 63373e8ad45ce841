//! safetensors files: the JSON header, dtypes and offsets.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // The other formats have their own targets.
    if !data.starts_with(b"PK\x03\x04") && data.first() != Some(&0x80) {
        // Tensors are decoded when taken: decode every one, as a model would.
        if let Ok(weights) = interfacegan_generator::Weights::from_bytes(data, "fuzz.safetensors") {
            for key in weights.keys() {
                let _ = weights.tensor(key);
            }
        }
    }
});
