//! # interfacegan
//!
//! Edit the semantic attributes of GAN-generated faces by moving their latent codes along learned
//! directions: InterFaceGAN (Shen, Gu, Tang and Zhou, CVPR 2020 / TPAMI 2020), in Rust.
//!
//! This crate is a thin facade: the names of a user's first lines at its root ([`Boundary`],
//! [`FitOptions`], [`conditional_direction`], [`linear_interpolate`], [`Pipeline`]), and each
//! single-purpose crate of the workspace as a module:
//!
//! | module | crate | job |
//! |---|---|---|
//! | [`boundary`] | `interfacegan-boundary` | official sample selection, fitting, [`Boundary`] and its files |
//! | [`svm`] | `interfacegan-svm` | the exact linear SVM (hinge loss, free intercept), usable without any GAN |
//! | [`subspace`] | `interfacegan-subspace` | conditional directions, edits, cosine and correlation measures |
//! | [`generator`] | `interfacegan-generator` | DCGAN (the default), PGGAN, StyleGAN, StyleGAN2 and StyleGAN3 on burn; `.pth`/safetensors weights and NVIDIA network pickles |
//! | [`attributes`] | `interfacegan-attributes` | gender, age and smile scorers (ONNX nets found at run time), the `Scorer` trait |
//! | [`onnx`] | `interfacegan-onnx` | the ONNX interpreter the scorers run on: burn or the CPU engine |
//! | [`pipeline`] | `interfacegan-pipeline` | the whole run: chunked/resumable/sharded sampling and scoring, edits, re-scoring, `report.html` |
//! | [`inversion`] | `interfacegan-inversion` | real photos into the latent space: encoder + Adam optimisation, VGG16 perceptual loss, PSNR/SSIM |
//! | [`io`] | `interfacegan-io` | `.npy` files, memory-mapped code matrices, bounded image decoding and Pillow-exact preprocessing, atomic no-clobber outputs |
//! | [`models`] | `interfacegan-models` | the model files' registry, a store that finds and verifies them, verified downloads (feature `download`) |
//! | [`device`] | `interfacegan-device` | the CPU, or a GPU with the `wgpu` feature |
//! | [`simd`] | `interfacegan-simd` | run-time SIMD dispatch |
//!
//! ## Fit a boundary, condition it, edit along it
//!
//! ```
//! use interfacegan::{Boundary, FitOptions, conditional_direction, linear_interpolate};
//! use rand::{RngExt, SeedableRng, rngs::ChaCha8Rng};
//! use rand_distr::StandardNormal;
//!
//! // Codes z ~ N(0, I) in R^16 and two attribute scores that depend on them linearly.
//! let (n, dim) = (2_000, 16);
//! let mut rng = ChaCha8Rng::seed_from_u64(7);
//! let codes: Vec<f32> = (0..n * dim).map(|_| rng.sample(StandardNormal)).collect();
//! let smile: Vec<f32> = codes.chunks(dim).map(|z| z[0] + 0.5 * z[1]).collect();
//! let gender: Vec<f32> = codes.chunks(dim).map(|z| z[1]).collect();
//!
//! // The official procedure: top and bottom 2 % (here 10 %), 70/30 split, linear SVM.
//! let options = FitOptions::default().chosen_num_or_ratio(0.1).seed(1);
//! let (smile_b, report) = Boundary::fit(&codes, dim, &smile, &options.clone().attribute("smile"))?;
//! let (gender_b, _) = Boundary::fit(&codes, dim, &gender, &options.attribute("gender"))?;
//! assert!(report.val_accuracy.unwrap() > 0.95);
//!
//! // Smile without gender: remove the gender direction from the smile direction.
//! let n_smile = conditional_direction(smile_b.normal(), &[gender_b.normal()])?;
//! let along_gender: f64 = n_smile.iter().zip(gender_b.normal()).map(|(a, b)| a * b).sum();
//! assert!(along_gender.abs() < 1e-12);
//!
//! // Ten edits of the first code, from distance -3 to 3 (the official defaults).
//! let edits = linear_interpolate(&codes[..dim], &n_smile, -3.0, 3.0, 10)?;
//! assert_eq!(edits.len(), 10);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Files from the official Python scripts
//!
//! ```
//! use interfacegan::{Boundary, io::{NpyArray, write_npy}};
//! # let dir = tempfile::tempdir()?;
//! # let path = dir.path().join("smile_boundary.npy");
//! # write_npy(&path, &NpyArray::new(vec![1, 4], vec![0.5f64, 0.5, 0.5, 0.5])?, false)?;
//! // An official boundary file: (1, D) float64. Saving writes float32 plus a JSON sidecar.
//! let smile = Boundary::load(&path)?;
//! assert_eq!(smile.dim(), 4);
//! smile.save(dir.path().join("copy.npy"), false)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

//! ## Invert a photo, then edit it
//!
//! ```
//! use interfacegan::generator::{Generator, LatentSpace, cpu_device, default_generator, sample_z, to_rgb_images};
//! use interfacegan::inversion::{Encoder, InversionParams, Inverter, Start};
//! use interfacegan::subspace::{DistanceMode, InterpolateOptions, interpolate};
//!
//! // Inversion differentiates through the generator: load it on an autodiff device.
//! let g = default_generator(&cpu_device().autodiff())?;
//! // A face the generator drew stands in for a photo (`inversion::load_target("photo.jpg", 64)` reads one).
//! let drawn = g.synthesize(&sample_z(1, 100, 3), LatentSpace::Z)?;
//! let photo = to_rgb_images(&drawn.images, drawn.image_shape)?;
//!
//! // The default encoder's code starts the optimisation ("encoder + optimisation").
//! let start = Encoder::default_dcgan()?.encode(&photo, g.device())?;
//! let inverter = Inverter::new(&g, InversionParams::default().steps(100))?;
//! let inversion = inverter.invert(&photo, Start::Codes(&start), &mut |_step| {})?;
//! assert!(inversion.reports[0].psnr > 25.0);
//!
//! // Move the photo's code along a boundary's normal (here the first axis), d = 0 being the photo.
//! let mut normal = vec![0.0f64; 100];
//! normal[0] = 1.0;
//! let options = InterpolateOptions { steps: 5, mode: Some(DistanceMode::Relative), ..Default::default() };
//! let edits = interpolate(&inversion.codes, &normal, &options)?;
//! assert_eq!(edits.len(), 5);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Draw faces from the default generator
//!
//! ```
//! use interfacegan::generator::{Generator, LatentSpace, cpu_device, default_generator, grid, sample_z, to_rgb_images};
//! let g = default_generator(&cpu_device())?;
//! let z = sample_z(4, g.info().latent_dim, 0);
//! let out = g.synthesize(&z, LatentSpace::Z)?;
//! let faces = to_rgb_images(&out.images, out.image_shape)?;
//! let sheet = grid(&faces, 1, 4, 2, [255, 255, 255])?;
//! assert_eq!(sheet.dimensions(), (4 * 64 + 5 * 2, 64 + 2 * 2));
//!
//! // Score them: P(male), expected age, P(happy).
//! use interfacegan::attributes::{Attribute, BuiltInScorer, Scorer};
//! let smile = BuiltInScorer::new(Attribute::Smile, g.device())?;
//! let p_happy = smile.score(&faces)?;
//! assert_eq!(p_happy.len(), 4);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

//! ## Where the model files come from
//!
//! No crate carries the weights: `default_generator`, `BuiltInScorer::new` and
//! `Encoder::default_dcgan` find the registry's files ([`models::MODELS`]) in
//! `INTERFACEGAN_MODELS`, the checkout's `fixtures/models` or the user cache, and verify size and
//! sha256 before use; with the `download` feature a missing file is fetched from its pinned
//! sources. The `_in` constructors take a store of your own, `from_bytes`/`from_file` your copy.
//!
//! ```
//! use interfacegan::attributes::{Attribute, BuiltInScorer};
//! use interfacegan::generator::{cpu_device, default_generator_in};
//! use interfacegan::models::{ModelStore, Route, model};
//!
//! // Look in "my-models" first, then where `from_env` looks.
//! let store = ModelStore::from_env().with_dir("my-models");
//! let found = store.locate("gender")?;
//! assert!(found.route != Route::Explicit); // "my-models" does not exist here
//! assert_eq!(std::fs::metadata(&found.path)?.len(), model("gender")?.bytes);
//! let generator = default_generator_in(&store, &cpu_device())?;
//! let gender = BuiltInScorer::in_store(Attribute::Gender, &store, &cpu_device())?;
//! # let _ = (generator, gender);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

//! ## The whole method in a few lines
//!
//! Sample, score, fit a boundary per attribute, condition them on each other, edit and re-score: the
//! run folder gets the official files and a `report.html` (`interfacegan demo` does the same).
//!
//! ```
//! use interfacegan::attributes::{Attribute, BuiltInScorer, Scorer};
//! use interfacegan::generator::{cpu_device, default_generator};
//! use interfacegan::pipeline::{RescoreOptions, Silent};
//! use interfacegan::{Pipeline, PipelineOptions};
//!
//! let device = cpu_device();
//! let generator = default_generator(&device)?;
//! let gender = BuiltInScorer::new(Attribute::Gender, &device)?;
//! let smile = BuiltInScorer::new(Attribute::Smile, &device)?;
//! let scorers: [&dyn Scorer; 2] = [&gender, &smile];
//! # let dir = tempfile::tempdir()?;
//! # let run = dir.path().join("run");
//! let options = PipelineOptions::default()
//!     .edit_samples(1)
//!     .rescore_samples(8)
//!     .rescore(RescoreOptions { distances: vec![-1.0, 1.0], ..Default::default() });
//! // N = 20,000 in the demo (smile: validation accuracy 0.99); 600 give a rough boundary already.
//! let outcome = Pipeline::new(&generator, &scorers).options(options).samples(600).seed(3).run(&run, &Silent)?;
//! assert!(outcome.attribute("smile").unwrap().fit.val_accuracy.unwrap() > 0.7);
//! assert!(run.join("smile_without_gender_boundary.npy").exists() && run.join("report.html").exists());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

// The user's first lines: fit, condition, edit, run the whole method. Everything else is in the
// crate modules below.
pub use interfacegan_boundary::{Boundary, BoundaryError, FitOptions, FitReport};
pub use interfacegan_pipeline::{Pipeline, PipelineOptions, PipelineOutcome};
pub use interfacegan_subspace::{conditional_direction, linear_interpolate};

/// Boundaries: the official sample selection, fitting, files (re-export of [`interfacegan_boundary`]).
pub use interfacegan_boundary as boundary;

/// The exact linear SVM under the boundaries (re-export of [`interfacegan_svm`]).
pub use interfacegan_svm as svm;

/// Conditional directions, edits and disentanglement measures (re-export of [`interfacegan_subspace`]).
pub use interfacegan_subspace as subspace;

/// Generators, weights and images (re-export of [`interfacegan_generator`]).
pub use interfacegan_generator as generator;

/// Attribute scorers (re-export of [`interfacegan_attributes`]).
pub use interfacegan_attributes as attributes;

/// The ONNX interpreter the scorers run on, for a user's own classifier (re-export of [`interfacegan_onnx`]).
pub use interfacegan_onnx as onnx;

/// The whole method end to end: chunked sampling and scoring, boundaries, conditional
/// directions, edits, re-scoring, the HTML report (re-export of [`interfacegan_pipeline`]).
pub use interfacegan_pipeline as pipeline;

/// GAN inversion: photos to codes by optimisation from a trained encoder's start, PSNR and SSIM
/// (re-export of [`interfacegan_inversion`]).
pub use interfacegan_inversion as inversion;

/// `.npy` files, images from strangers and safe output (re-export of [`interfacegan_io`]).
pub use interfacegan_io as io;

/// The model files: their registry, and the store that finds and verifies them (re-export of
/// [`interfacegan_models`]).
pub use interfacegan_models as models;

/// Device selection: the CPU, or a GPU with the `wgpu` feature (re-export of [`interfacegan_device`]).
pub use interfacegan_device as device;

/// Run-time SIMD dispatch (re-export of [`interfacegan_simd`]).
pub use interfacegan_simd as simd;
