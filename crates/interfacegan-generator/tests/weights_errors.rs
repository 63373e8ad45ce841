//! Every bad weight file is a clear error, never a panic.

mod common;
use common::*;
use interfacegan_generator::{GeneratorError, Pggan, StyleGan2, WeightTensor, Weights};
use interfacegan_testkit::zip_checkpoint as zip_checkpoint_with;

fn bytes(rel: &str) -> Vec<u8> {
    std::fs::read(golden(rel)).unwrap()
}

#[test]
fn truncated_files_are_errors_at_every_length() {
    for file in ["pggan64/weights_legacy.pth", "pggan64/weights_zip.pth", "pggan64/weights.safetensors"] {
        let full = bytes(file);
        for cut in (0..full.len()).step_by(full.len() / 97 + 1) {
            let result = Weights::from_bytes(&full[..cut], file);
            assert!(result.is_err(), "{file} cut at {cut} loaded");
        }
    }
}

#[test]
fn not_a_checkpoint() {
    let err = Weights::from_bytes(b"just some text, not weights", "notes.txt").unwrap_err();
    assert!(err.to_string().contains("not a weight file"), "{err}");
    let err = Weights::from_file(fixtures().join("does/not/exist.pth")).unwrap_err();
    assert!(matches!(err, GeneratorError::Io { .. }), "{err}");
    let err = Weights::from_file(fixtures()).unwrap_err();
    assert!(err.to_string().contains("not a regular file"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.pth");
    std::fs::write(&empty, b"").unwrap();
    let err = Weights::from_file(&empty).unwrap_err();
    assert!(err.to_string().contains("empty.pth") && err.to_string().contains("not a weight file"), "{err}");
}

/// `pickle.dumps` of an object whose `__reduce__` is `(os.system, ("echo pwned",))`.
const EVIL: &[u8] = b"\x80\x02cposix\nsystem\nq\x00X\n\x00\x00\x00echo pwnedq\x01\x85q\x02Rq\x03.";

#[test]
fn pickles_that_call_functions_are_refused() {
    // As a legacy stream...
    let err = Weights::from_bytes(EVIL, "evil.pth").unwrap_err();
    assert!(matches!(err, GeneratorError::UnsafePickle { ref global, .. } if global == "posix.system"), "{err}");
    // ...and inside a zip checkpoint.
    let mut zipped = Vec::new();
    {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(&mut zipped));
        let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        w.start_file("evil/data.pkl", opts).unwrap();
        std::io::Write::write_all(&mut w, EVIL).unwrap();
        w.finish().unwrap();
    }
    let err = Weights::from_bytes(&zipped, "evil_zip.pth").unwrap_err();
    assert!(err.to_string().contains("refusing to load") && err.to_string().contains("posix.system"), "{err}");
}

fn edited(edit: impl FnOnce(&mut Vec<(String, WeightTensor)>)) -> Weights {
    let original = Weights::from_file(golden("pggan64/weights.safetensors")).unwrap();
    let mut tensors: Vec<(String, WeightTensor)> =
        original.keys().map(|k| (k.to_string(), original.tensor(k).unwrap())).collect();
    edit(&mut tensors);
    Weights::from_tensors(tensors, "edited.safetensors")
}

#[test]
fn missing_unexpected_and_misshapen_tensors_name_the_key() {
    let w = edited(|t| t.retain(|(k, _)| k != "layer3.wscale.bias"));
    let err = Pggan::from_weights(&w, &cpu()).err().unwrap();
    assert_eq!(err.to_string(), "edited.safetensors: missing tensor `layer3.wscale.bias` (expected shape [32])");

    let w = edited(|t| {
        t.push((
            "layer3.extra".into(),
            WeightTensor { shape: vec![1], dtype: interfacegan_generator::FileDtype::F32, values: vec![0.0] },
        ))
    });
    let err = Pggan::from_weights(&w, &cpu()).err().unwrap();
    assert!(err.to_string().contains("unexpected tensors for a pggan model: layer3.extra"), "{err}");

    let w = edited(|t| {
        let (_, bias) = t.iter_mut().find(|(k, _)| k == "layer3.wscale.bias").unwrap();
        bias.shape = vec![4, 8];
    });
    let err = Pggan::from_weights(&w, &cpu()).err().unwrap();
    assert_eq!(
        err.to_string(),
        "edited.safetensors: tensor `layer3.wscale.bias` has shape [4, 8], the model expects [32]"
    );
}

#[test]
fn integer_and_non_finite_weights_are_refused() {
    let w = edited(|t| {
        let (_, bias) = t.iter_mut().find(|(k, _)| k == "layer3.wscale.bias").unwrap();
        bias.dtype = interfacegan_generator::FileDtype::Integer;
    });
    let err = Pggan::from_weights(&w, &cpu()).err().unwrap().to_string();
    assert!(err.starts_with("edited.safetensors: `layer3.wscale.bias` holds integers"), "{err}");
    for bad in [f32::NAN, f32::INFINITY] {
        let w = edited(|t| {
            let (_, bias) = t.iter_mut().find(|(k, _)| k == "layer3.wscale.bias").unwrap();
            bias.values[5] = bad;
        });
        let err = Pggan::from_weights(&w, &cpu()).err().unwrap().to_string();
        assert!(err.contains("`layer3.wscale.bias` holds") && err.contains("at index 5"), "{err}");
    }
}

#[test]
fn another_architecture_is_named() {
    let stylegan = Weights::from_file(golden("stylegan64/weights.safetensors")).unwrap();
    let err = Pggan::from_weights(&stylegan, &cpu()).err().unwrap();
    assert!(err.to_string().contains("not a PGGAN"), "{err}");
    assert_eq!(
        interfacegan_generator::Architecture::detect(&stylegan).unwrap(),
        interfacegan_generator::Architecture::StyleGan
    );
}

#[test]
fn safetensors_round_trip() {
    let w = Weights::from_file(golden("stylegan64/weights_legacy.pth")).unwrap();
    let back = Weights::from_bytes(&w.to_safetensors().unwrap(), "converted").unwrap();
    assert_eq!(back.len(), w.len());
    for k in w.keys() {
        assert_eq!(back.tensor(k).unwrap().values, w.tensor(k).unwrap().values, "{k}");
    }
}

/// `sg2_64_skip.pkl` with every occurrence of `from` replaced by `to` (same length, so every length
/// prefix stays right).
fn edited_pickle(from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut data = bytes("nvlabs/sg2_64_skip.pkl");
    let mut found = 0;
    let mut i = 0;
    while i + from.len() <= data.len() {
        if &data[i..i + from.len()] == from {
            data[i..i + from.len()].copy_from_slice(to);
            found += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    assert!(found > 0, "{}", String::from_utf8_lossy(from));
    data
}

fn stylegan2_error(data: &[u8]) -> String {
    let weights = Weights::from_bytes(data, "edited.pkl").and_then(|w| StyleGan2::from_weights(&w, &cpu()).map(|_| ()));
    let message = weights.unwrap_err().to_string();
    assert!(message.starts_with("edited.pkl: "), "{message}");
    message
}

#[test]
fn network_pickles_that_do_not_fit_their_architecture_name_the_problem() {
    // A module class we do not implement.
    let message = stylegan2_error(&edited_pickle(b"ToRGBLayer", b"ToRGBLayez"));
    assert!(message.contains("ToRGBLayez"), "{message}");
    // An unknown block architecture.
    let message = stylegan2_error(&edited_pickle(b"\x8c\x04skip", b"\x8c\x04skiq"));
    assert!(message.contains("skiq"), "{message}");
    // A buffer under another name: the expected one is missing.
    let message = stylegan2_error(&edited_pickle(b"noise_const", b"noise_cons_"));
    assert!(message.contains("noise_const"), "{message}");
    // An attribute the configuration needs is missing.
    let message = stylegan2_error(&edited_pickle(b"\x8c\x0aresolution", b"\x8c\x0aresolutioN"));
    assert!(message.contains("resolution"), "{message}");
    // Cut anywhere: an error, never a panic.
    let full = bytes("nvlabs/sg2_64_skip.pkl");
    for cut in (0..full.len()).step_by(full.len() / 61 + 1) {
        assert!(Weights::from_bytes(&full[..cut], "cut.pkl").is_err(), "cut at {cut} loaded");
    }
}

#[test]
fn stylegan2_and_stylegan3_are_detected_and_tensors_alone_are_refused() {
    use interfacegan_generator::Architecture;
    for (file, arch) in
        [("nvlabs/sg2_64_skip.pkl", Architecture::StyleGan2), ("nvlabs/sg3r_64.pkl", Architecture::StyleGan3)]
    {
        let weights = Weights::from_file(golden(file)).unwrap();
        assert_eq!(Architecture::detect(&weights).unwrap(), arch);
        // The same tensors without the module records (a state-dict export) say what is missing.
        let tensors =
            Weights::from_tensors(weights.keys().map(|k| (k.to_string(), weights.tensor(k).unwrap())), "sd.pth");
        assert_eq!(Architecture::detect(&tensors).unwrap(), arch);
        let err = StyleGan2::from_weights(&tensors, &cpu()).map(|_| ()).unwrap_err().to_string();
        assert!(err.contains("network pickle"), "{err}");
    }
}

/// A zip checkpoint whose one tensor `w` has `shape` and `stride` over a storage of `numel` floats
/// 0, 1, 2, ...
fn zip_checkpoint(shape: [usize; 2], stride: [usize; 2], numel: u8) -> Vec<u8> {
    let data: Vec<u8> = (0..numel).flat_map(|i| f32::from(i).to_le_bytes()).collect();
    zip_checkpoint_with(shape, stride, usize::from(numel), &data, zip::CompressionMethod::Stored)
}

#[test]
fn views_that_repeat_storage_elements_are_refused() {
    // A sound 2 x 2 view loads; a 10^6 x 10^6 view of one element (stride 0) would need 4 TB.
    let ok = Weights::from_bytes(&zip_checkpoint([2, 2], [2, 1], 4), "ok.pth").unwrap();
    assert_eq!(
        (ok.tensor("w").unwrap().shape.clone(), ok.tensor("w").unwrap().values.clone()),
        (vec![2, 2], vec![0., 1., 2., 3.])
    );
    // Stored strides are honoured (a channels_last or transposed view): values come out row-major.
    let transposed = Weights::from_bytes(&zip_checkpoint([2, 2], [1, 2], 4), "t.pth").unwrap();
    assert_eq!(transposed.tensor("w").unwrap().values, vec![0., 2., 1., 3.]);
    let err = Weights::from_bytes(&zip_checkpoint([1_000_000, 1_000_000], [0, 0], 1), "huge.pth").unwrap_err();
    assert!(err.to_string().contains("repeated"), "{err}");
    // Overlapping strides that claim more elements than the storage holds are refused too.
    let err = Weights::from_bytes(&zip_checkpoint([3, 3], [1, 1], 5), "overlap.pth").unwrap_err();
    assert!(err.to_string().contains("repeated"), "{err}");
}

#[test]
fn deflated_entries_that_inflate_like_bombs_are_refused() {
    // 64 MiB of zeros deflate to about 64 KiB: a 1000:1 entry, where PyTorch stores tensors 1:1.
    let zeros = vec![0u8; 64 << 20];
    let bomb = zip_checkpoint_with([4096, 4096], [4096, 1], 4096 * 4096, &zeros, zip::CompressionMethod::Deflated);
    assert!(bomb.len() < 1 << 20);
    let err = Weights::from_bytes(&bomb, "bomb.pth").unwrap_err().to_string();
    assert!(err.contains("bomb.pth") && err.contains("over the limit of 100:1"), "{err}");
    // A deflated entry of real-looking values loads.
    let values: Vec<u8> = (0..16).flat_map(|i| (i as f32 * 0.37).sin().to_le_bytes()).collect();
    let fine = zip_checkpoint_with([4, 4], [4, 1], 16, &values, zip::CompressionMethod::Deflated);
    assert_eq!(Weights::from_bytes(&fine, "fine.pth").unwrap().shape("w"), Some(&[4, 4][..]));
}

#[test]
fn zip_entries_the_reader_cannot_open_are_named() {
    // Found by fuzz/ (target pth_zip): an entry listed in the central directory whose local header
    // is damaged panicked as if it were missing.
    use std::io::Write;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("archive/version", stored).unwrap();
    zip.write_all(b"3\n").unwrap();
    zip.start_file("archive/data.pkl", stored).unwrap();
    zip.write_all(b"\x80\x02}q\x00.").unwrap();
    let mut bytes = zip.finish().unwrap().into_inner();
    let second = (1..bytes.len() - 4).find(|&at| &bytes[at..at + 4] == b"PK\x03\x04").unwrap();
    bytes[second + 3] = 5;
    let err = Weights::from_bytes(&bytes, "header.pth").unwrap_err().to_string();
    assert!(err.contains("header.pth") && err.contains("damaged zip entry archive/data.pkl"), "{err}");
}
