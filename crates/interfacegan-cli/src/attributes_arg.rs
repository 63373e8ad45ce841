//! The built-in scorers named by `-a gender,age,smile`.

use interfacegan::attributes::{Attribute, BuiltInScorer, Engine, Scorer};
use interfacegan::generator::Device;

use crate::CliError;

/// Loads the scorers of `names`, on `engine` where one is forced, refusing an empty or repeated list.
pub fn built_in_scorers(
    names: &[String],
    device: &Device,
    engine: Option<Engine>,
) -> Result<Vec<BuiltInScorer>, CliError> {
    let attributes = names.iter().map(|a| Attribute::parse(a)).collect::<Result<Vec<_>, _>>()?;
    if attributes.is_empty() {
        return Err(CliError::new("no attributes given"));
    }
    if let Some(a) = attributes.iter().enumerate().find_map(|(i, a)| attributes[..i].contains(a).then_some(a)) {
        return Err(CliError::new(format!("attribute `{}` is given twice", a.name())));
    }
    let store = crate::model_store();
    let load = |a: Attribute| match engine {
        Some(engine) => BuiltInScorer::in_store(a, store, device).and_then(|s| s.with_engine(engine)),
        None => BuiltInScorer::in_store(a, store, device),
    };
    Ok(attributes.into_iter().map(load).collect::<Result<Vec<_>, _>>()?)
}

/// The scorers as trait objects, for the pipeline.
pub fn as_dyn(scorers: &[BuiltInScorer]) -> Vec<&dyn Scorer> {
    scorers.iter().map(|s| s as &dyn Scorer).collect()
}
