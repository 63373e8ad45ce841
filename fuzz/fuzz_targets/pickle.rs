//! The restricted pickle interpreter, through the two formats that are pickle streams: NVIDIA
//! network pickles and legacy (pre-1.6) PyTorch checkpoints.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if data.first() == Some(&0x80) {
        // Tensors are decoded when taken: decode every one, as a model would.
        if let Ok(weights) = interfacegan_generator::Weights::from_bytes(data, "fuzz.pkl") {
            for key in weights.keys() {
                let _ = weights.tensor(key);
            }
        }
    }
});
