//! Run manifests copied between machines: parsed, checked, then every size derived from them.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(manifest) = interfacegan_pipeline::RunManifest::parse(data) {
        let chunks = manifest.chunks();
        let _ = manifest.chunk_rows(chunks - 1);
        let _ = manifest.output_files();
    }
});
