//! Zip PyTorch checkpoints: the archive, its entry sizes, the pickle and the tensor views.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if data.starts_with(b"PK\x03\x04") {
        let _ = interfacegan_generator::Weights::from_bytes(data, "fuzz.pth");
    }
});
