//! The `.npy` reader: header text, dtype, shape arithmetic, Fortran order.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = interfacegan_io::parse_f32(data, "fuzz.npy");
});
