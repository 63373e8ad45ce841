//! Latent codes given on the command line (`-i codes.npy`) or sampled (`-n`, `--seed`).

use std::path::Path;

use interfacegan::generator::{GeneratorInfo, LatentSpace, ZSampler, normalize_z};
use interfacegan::io::read_f32;

use crate::CliError;

/// Reads `path` as codes of `space` for this generator: `[N, D]` (or a single `[D]`) for z and w,
/// `[N, L, D]` for wp. Returns the values and N.
pub fn read_codes(path: &Path, info: &GeneratorInfo, space: LatentSpace) -> Result<(Vec<f32>, usize), CliError> {
    let code_shape = info.code_shape(space);
    let per_code: usize = code_shape.iter().product();
    let codes = read_f32(path)?;
    let shape = codes.shape();
    let fits = shape.len() == code_shape.len() + 1 && shape[1..] == code_shape[..];
    let flat_fits = space != LatentSpace::WPlus && shape.len() == 1 && shape[0] == per_code;
    if !fits && !flat_fits {
        return Err(CliError::new(format!(
            "{}: codes of shape {shape:?} do not fit this {} generator's {space} codes [N, {}]",
            path.display(),
            info.architecture,
            code_shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(", ")
        )));
    }
    let count = codes.data().len() / per_code;
    if count == 0 {
        return Err(CliError::new(format!("{}: holds no codes", path.display())));
    }
    Ok((codes.into_data(), count))
}

/// `path`'s codes, or `count` fresh z codes of `seed` (normalised when the architecture does).
pub fn codes_or_sample(
    path: Option<&Path>,
    info: &GeneratorInfo,
    space: LatentSpace,
    count: usize,
    seed: u64,
    normalize: bool,
) -> Result<(Vec<f32>, usize), CliError> {
    match path {
        Some(path) => read_codes(path, info, space),
        None => {
            if space != LatentSpace::Z {
                return Err(CliError::new("sampled codes are z; give -s w or -s wp only with -i codes"));
            }
            if count == 0 {
                return Err(CliError::new("-n must be at least 1"));
            }
            let mut z = ZSampler::new(info.latent_dim, seed).next_batch(count);
            if normalize {
                normalize_z(&mut z, info.latent_dim);
            }
            Ok((z, count))
        }
    }
}

/// The latent space named `name`, if this generator takes codes in it.
pub fn latent_space(info: &GeneratorInfo, name: &str) -> Result<LatentSpace, CliError> {
    let space = LatentSpace::parse(name)?;
    if !info.spaces.contains(&space) {
        return Err(CliError::new(format!("a {} generator takes no {space} codes", info.architecture)));
    }
    Ok(space)
}
