//! Reading a network's configuration from the module records of an NVIDIA network pickle, with
//! every value cross-checked against the module's `_init_kwargs` where both hold it.

use serde_json::Value as Json;

use crate::error::GeneratorError;
use crate::weights::{ModuleRecord, Weights};

/// The module records of one network pickle, for a model called `model`.
pub(crate) struct Modules<'w> {
    weights: &'w Weights,
    model: &'static str,
}

impl<'w> Modules<'w> {
    /// The records of `weights`; an error when it has none (a state-dict file).
    pub fn new(weights: &'w Weights, model: &'static str) -> Result<Self, GeneratorError> {
        if weights.modules().is_empty() {
            return Err(GeneratorError::Architecture {
                source_name: weights.source().to_string(),
                reason: format!(
                    "a {model} is read from an NVIDIA network pickle (.pkl), whose modules say how it was built; \
                     this file holds tensors only"
                ),
            });
        }
        Ok(Self { weights, model })
    }

    pub fn error(&self, reason: impl Into<String>) -> GeneratorError {
        GeneratorError::Architecture { source_name: self.weights.source().to_string(), reason: reason.into() }
    }

    /// The module at `path`, which must be of class `class`.
    pub fn module(&self, path: &str, class: &str) -> Result<Module<'_>, GeneratorError> {
        let record = self
            .weights
            .modules()
            .get(path)
            .ok_or_else(|| self.error(format!("{}: module `{path}` ({class}) is missing", self.model)))?;
        if record.class_name != class {
            return Err(
                self.error(format!("module `{path}` is a {}, a {} has a {class} there", record.class_name, self.model))
            );
        }
        Ok(Module { record, path: path.to_string(), modules: self })
    }

    /// Fails on any module whose class is not in `known`: an architecture we do not implement.
    pub fn check_classes(&self, known: &[&str]) -> Result<(), GeneratorError> {
        match self.weights.modules().iter().find(|(_, m)| !known.contains(&m.class_name.as_str())) {
            Some((path, m)) => Err(self.error(format!(
                "module `{}` is a {}, which a {} does not have (known: {})",
                if path.is_empty() { "<root>" } else { path },
                m.class_name,
                self.model,
                known.join(", ")
            ))),
            None => Ok(()),
        }
    }
}

/// One module record, with typed attribute readers.
pub(crate) struct Module<'m> {
    record: &'m ModuleRecord,
    path: String,
    modules: &'m Modules<'m>,
}

impl Module<'_> {
    fn bad(&self, key: &str, want: &str) -> GeneratorError {
        let found = self.record.attrs.get(key).map_or("nothing".to_string(), Json::to_string);
        self.modules.error(format!(
            "module `{}` ({}): attribute `{key}` should be {want}, found {found}",
            self.path, self.record.class_name
        ))
    }

    /// The attribute `key`, equal to the same-named `_init_kwargs` entry when there is one.
    fn attr(&self, key: &str) -> Option<&Json> {
        self.record.attrs.get(key)
    }

    fn cross_check(&self, key: &str, value: &Json) -> Result<(), GeneratorError> {
        let Some(init) = self.record.attrs.get("_init_kwargs").and_then(|k| k.get(key)) else { return Ok(()) };
        let same = match (init.as_f64(), value.as_f64()) {
            (Some(a), Some(b)) => a == b,
            _ => init == value,
        };
        if same {
            Ok(())
        } else {
            Err(self.modules.error(format!(
                "module `{}`: attribute `{key}` = {value} contradicts its constructor argument {init}",
                self.path
            )))
        }
    }

    pub fn usize(&self, key: &str) -> Result<usize, GeneratorError> {
        let v = self.attr(key).ok_or_else(|| self.bad(key, "a count"))?;
        let n = v.as_u64().and_then(|n| usize::try_from(n).ok()).ok_or_else(|| self.bad(key, "a count"))?;
        self.cross_check(key, v)?;
        Ok(n)
    }

    pub fn f64(&self, key: &str) -> Result<f64, GeneratorError> {
        let v = self.attr(key).ok_or_else(|| self.bad(key, "a number"))?;
        let x = v.as_f64().filter(|x| x.is_finite()).ok_or_else(|| self.bad(key, "a finite number"))?;
        self.cross_check(key, v)?;
        Ok(x)
    }

    /// A number or `None` (as `conv_clamp`).
    pub fn opt_f64(&self, key: &str) -> Result<Option<f64>, GeneratorError> {
        match self.attr(key) {
            Some(Json::Null) => {
                self.cross_check(key, &Json::Null)?;
                Ok(None)
            }
            _ => self.f64(key).map(Some),
        }
    }

    pub fn bool(&self, key: &str) -> Result<bool, GeneratorError> {
        let v = self.attr(key).ok_or_else(|| self.bad(key, "true or false"))?;
        let b = v.as_bool().ok_or_else(|| self.bad(key, "true or false"))?;
        self.cross_check(key, v)?;
        Ok(b)
    }

    pub fn str(&self, key: &str) -> Result<&str, GeneratorError> {
        let v = self.attr(key).ok_or_else(|| self.bad(key, "a string"))?;
        let s = v.as_str().ok_or_else(|| self.bad(key, "a string"))?;
        self.cross_check(key, v)?;
        Ok(s)
    }

    /// Fails unless attribute `key` equals `expected`.
    pub fn expect_usize(&self, key: &str, expected: usize) -> Result<(), GeneratorError> {
        let found = self.usize(key)?;
        if found == expected { Ok(()) } else { Err(self.bad(key, &expected.to_string())) }
    }

    /// Fails unless attribute `key` is the string `expected`.
    pub fn expect_str(&self, key: &str, expected: &str) -> Result<(), GeneratorError> {
        if self.str(key)? == expected { Ok(()) } else { Err(self.bad(key, &format!("'{expected}'"))) }
    }

    /// Fails unless `key` holds `expected` to f32 precision (gains the code derives).
    pub fn expect_close(&self, key: &str, expected: f64) -> Result<(), GeneratorError> {
        let found = self.f64(key)?;
        if (found - expected).abs() <= 1e-6 * expected.abs().max(1.0) {
            Ok(())
        } else {
            Err(self.bad(key, &format!("{expected}")))
        }
    }
}
