//! # interfacegan
//!
//! Edit the semantic attributes of GAN-generated faces by moving their latent codes along learned
//! directions: InterFaceGAN (Shen, Gu, Tang and Zhou, CVPR 2020 / TPAMI 2020), in Rust.
//!
//! This crate is a thin facade over the workspace's single-purpose crates:
//!
//! | crate | job |
//! |---|---|
//! | [`interfacegan_boundary`] | official sample selection, exact linear SVM, [`Boundary`] and its files |
//! | [`interfacegan_subspace`] | [`conditional_direction`], [`linear_interpolate`], cosine and correlation measures |
//! | [`interfacegan_generator`] | DCGAN (embedded default), PGGAN, StyleGAN, StyleGAN2 and StyleGAN3 on burn; `.pth`/safetensors weights and NVIDIA network pickles; images |
//! | [`interfacegan_attributes`] | gender, age and smile scorers (embedded ONNX nets on burn), Pillow-exact preprocessing |
//! | [`interfacegan_pipeline`] | the whole run: chunked/resumable/sharded sampling and scoring, edits, re-scoring, `report.html` |
//! | [`interfacegan_inversion`] | real photos into the latent space: encoder + Adam optimisation, VGG16 perceptual loss, PSNR/SSIM |
//! | [`interfacegan_io`] | `.npy` files, memory-mapped code matrices, atomic no-clobber outputs |
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
//! use interfacegan::{DistanceMode, InterpolateOptions, interpolate};
//!
//! // Inversion differentiates through the generator: load it on an autodiff device.
//! let g = default_generator(&cpu_device().autodiff())?;
//! // A face the generator drew stands in for a photo (`inversion::load_target("photo.jpg", 64)` reads one).
//! let drawn = g.synthesize(&sample_z(1, 100, 3), LatentSpace::Z)?;
//! let photo = to_rgb_images(&drawn.images, drawn.image_shape)?;
//!
//! // The embedded encoder's code starts the optimisation ("encoder + optimisation").
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
//! ## Draw faces from the embedded generator
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
//! let options = PipelineOptions {
//!     edit_samples: 1,
//!     rescore_samples: 8,
//!     rescore: RescoreOptions { distances: vec![-1.0, 1.0], ..Default::default() },
//!     ..Default::default()
//! };
//! // N = 20,000 in the demo (smile: validation accuracy 0.99); 600 give a rough boundary already.
//! let outcome = Pipeline::new(&generator, &scorers).options(options).samples(600).seed(3).run(&run, &Silent)?;
//! assert!(outcome.attribute("smile").unwrap().fit.val_accuracy.unwrap() > 0.7);
//! assert!(run.join("smile_without_gender_boundary.npy").exists() && run.join("report.html").exists());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

pub use interfacegan_boundary::{
    Boundary, BoundaryError, CodeRows, CodeSlice, FitOptions, FitReport, Split, chosen_count, split_samples,
};
pub use interfacegan_subspace::{
    DistanceMode, InterpolateOptions, LayerSelection, ProjectOptions, Projection, SubspaceError, conditional_direction,
    conditional_direction_with, correlation_matrix, cosine_similarity, cosine_similarity_matrix, interpolate,
    linear_interpolate, linspace, shift,
};
pub use interfacegan_svm::{LinearSvm, SvmError, SvmParams, SvmReport, simd_level, train_linear_svm};

/// The exact linear SVM (re-export of [`interfacegan_svm`]).
pub use interfacegan_svm as svm;

/// Attribute scorers (re-export of [`interfacegan_attributes`]).
pub use interfacegan_attributes as attributes;

/// Generators, weights and images (re-export of [`interfacegan_generator`]).
pub use interfacegan_generator as generator;

/// The whole method end to end: chunked sampling and scoring, boundaries, conditional
/// directions, edits, re-scoring, the HTML report (re-export of [`interfacegan_pipeline`]).
pub use interfacegan_pipeline as pipeline;
pub use interfacegan_pipeline::{Pipeline, PipelineOptions, PipelineOutcome};

/// GAN inversion: photos to codes by optimisation from a trained encoder's start, PSNR and SSIM
/// (re-export of [`interfacegan_inversion`]).
pub use interfacegan_inversion as inversion;

/// `.npy` files and safe output (re-export of [`interfacegan_io`]).
pub use interfacegan_io as io;

/// The crates behind the facade, for what it does not re-export.
pub mod crates {
    pub use interfacegan_attributes as attributes;
    pub use interfacegan_boundary as boundary;
    pub use interfacegan_generator as generator;
    pub use interfacegan_inversion as inversion;
    pub use interfacegan_io as io;
    pub use interfacegan_pipeline as pipeline;
    pub use interfacegan_subspace as subspace;
    pub use interfacegan_svm as svm;
}
