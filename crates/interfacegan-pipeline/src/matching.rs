//! Which unsupervised direction is which attribute. SeFa and GANSpace find directions without
//! labels; here every such candidate is re-scored on every attribute beside the SVM boundaries
//! ([`rescore`] on the same codes) and ranked, per attribute, by its effect on that attribute in
//! standard deviations of the attribute per unit step. A candidate matches an attribute when that
//! attribute is its largest effect and it reaches a share of the boundary's own effect.

use interfacegan_attributes::Scorer;
use std::path::Path;

use interfacegan_generator::{Generator, LatentSpace, stage_image};
use interfacegan_io::OutputSet;
use interfacegan_subspace::{InterpolateOptions, cosine_similarity};
use serde::Serialize;

use crate::{Direction, EditSheet, PipelineError, Progress, RescoreOptions, edit_codes, rescore};

/// Options of [`match_directions`]: how the directions are re-scored and what counts as a match.
#[derive(Debug, Clone)]
pub struct MatchOptions {
    rescore: RescoreOptions,
    min_share: f64,
}

impl Default for MatchOptions {
    fn default() -> Self {
        Self { rescore: RescoreOptions::default(), min_share: 0.5 }
    }
}

impl MatchOptions {
    /// Signed steps along every direction (relative moves), as in [`RescoreOptions`].
    pub fn distances(mut self, distances: Vec<f64>) -> Self {
        self.rescore.distances = distances;
        self
    }

    /// Images per forward pass.
    pub fn batch(mut self, batch: usize) -> Self {
        self.rescore.batch = batch;
        self
    }

    /// The share of the boundary's own effect on an attribute that a candidate must reach to
    /// match it (default 0.5).
    pub fn min_share(mut self, share: f64) -> Self {
        self.min_share = share;
        self
    }

    /// Fails on distances no slope can be fitted to, a batch of 0, or a share outside (0, 1].
    pub fn check(&self) -> Result<(), PipelineError> {
        self.rescore.check()?;
        if self.rescore.batch == 0 {
            return Err(PipelineError::ZeroBatch);
        }
        if !(self.min_share > 0.0 && self.min_share <= 1.0) {
            return Err(PipelineError::MatchShare { share: self.min_share });
        }
        Ok(())
    }
}

/// One direction's re-scored effects.
#[derive(Debug, Clone, Serialize)]
pub struct DirectionEffects {
    /// The direction's name (`gender` for a boundary, `sefa_003` for a candidate).
    pub name: String,
    /// Mean change of each attribute's score per unit step, in standard deviations of that
    /// attribute over the unmoved codes (σ/step), in [`MatchTable::attributes`] order.
    pub effects: Vec<f64>,
    /// Cosine of the direction with each attribute's boundary, in the same order.
    pub cosines: Vec<f64>,
}

/// The answer for one attribute.
#[derive(Debug, Clone, Serialize)]
pub struct AttributeMatch {
    /// The attribute.
    pub attribute: String,
    /// Indices into [`MatchTable::candidates`], largest effect on the attribute (either sign) first.
    pub ranking: Vec<usize>,
    /// The candidate that matches the attribute, if one does.
    pub best: Option<usize>,
    /// The answer in one sentence, saying plainly when no candidate matches.
    pub finding: String,
}

/// Every candidate measured against every attribute and its boundary.
#[derive(Debug, Clone, Serialize)]
pub struct MatchTable {
    /// The scored attributes, in column order.
    pub attributes: Vec<String>,
    /// Standard deviation of each attribute's score over the unmoved codes: the unit of the effects.
    pub unmoved_std: Vec<f64>,
    /// Codes moved along each direction.
    pub samples: usize,
    /// The steps of the re-scoring.
    pub distances: Vec<f64>,
    /// The boundaries' own effects, one per attribute in column order.
    pub boundaries: Vec<DirectionEffects>,
    /// The candidates' effects, in the order given.
    pub candidates: Vec<DirectionEffects>,
    /// One answer per attribute, in column order.
    pub matches: Vec<AttributeMatch>,
    /// The share of the boundary's effect a match needs.
    pub min_share: f64,
}

impl MatchTable {
    /// The candidate shown for attribute column `a` (its match, else the strongest) and the sign
    /// that moves the attribute the way its boundary does.
    pub fn shown_candidate(&self, a: usize) -> Option<(usize, f64)> {
        let m = &self.matches[a];
        let c = m.best.or_else(|| m.ranking.first().copied())?;
        let same_way = self.candidates[c].effects[a] * self.boundaries[a].effects[a] >= 0.0;
        Some((c, if same_way { 1.0 } else { -1.0 }))
    }

    /// One line per attribute and candidate, by rank: the effects on every attribute (σ/step),
    /// the cosine to the attribute's boundary and whether it matches; the boundary first (rank 0).
    pub fn to_csv(&self) -> String {
        let mut out = String::from("attribute,rank,direction");
        for a in &self.attributes {
            out.push_str(&format!(",effect_{a}"));
        }
        out.push_str(",cosine_to_boundary,matches\n");
        let mut line = |a: usize, rank: usize, row: &DirectionEffects, matches: &str| {
            out.push_str(&format!("{},{rank},{}", self.attributes[a], row.name));
            for e in &row.effects {
                out.push_str(&format!(",{e:.6}"));
            }
            out.push_str(&format!(",{:.6},{matches}\n", row.cosines[a]));
        };
        for (a, m) in self.matches.iter().enumerate() {
            line(a, 0, &self.boundaries[a], "boundary");
            for (rank, &c) in m.ranking.iter().enumerate() {
                line(a, rank + 1, &self.candidates[c], if m.best == Some(c) { "yes" } else { "no" });
            }
        }
        out
    }
}

/// Re-scores `directions`, the boundaries (one plain boundary per scorer, named by its attribute)
/// and the candidates, on `codes` (rows of `space`) and answers, per attribute, which candidate
/// changes it, with its side effects and its cosine to the boundary.
pub fn match_directions(
    generator: &dyn Generator,
    scorers: &[&dyn Scorer],
    codes: &[f32],
    space: LatentSpace,
    directions: (&[Direction], &[Direction]),
    options: &MatchOptions,
    progress: &dyn Progress,
) -> Result<MatchTable, PipelineError> {
    options.check()?;
    let (boundaries, candidates) = directions;
    let attributes: Vec<String> = scorers.iter().map(|s| s.attribute().to_string()).collect();
    let boundaries = boundaries_by_attribute(&attributes, boundaries)?;
    if candidates.is_empty() {
        return Err(PipelineError::NoCandidates);
    }
    let all: Vec<Direction> = boundaries.iter().copied().chain(candidates).cloned().collect();
    let table = rescore(generator, scorers, codes, space, &all, &options.rescore, progress)?;
    let effects = |i: usize| -> Result<DirectionEffects, PipelineError> {
        let row = &table.rows[i];
        let cosines =
            boundaries.iter().map(|b| cosine_similarity(&all[i].vector, &b.vector)).collect::<Result<Vec<_>, _>>()?;
        let effects = row.slopes.iter().zip(&table.unmoved_std).map(|(s, std)| s / std.max(1e-12)).collect();
        Ok(DirectionEffects { name: row.direction.clone(), effects, cosines })
    };
    let boundary_rows = (0..boundaries.len()).map(effects).collect::<Result<Vec<_>, _>>()?;
    let candidate_rows = (boundaries.len()..all.len()).map(effects).collect::<Result<Vec<_>, _>>()?;
    let matches = (0..attributes.len())
        .map(|a| answer(&attributes, a, &boundary_rows[a], &candidate_rows, options.min_share))
        .collect();
    Ok(MatchTable {
        attributes,
        unmoved_std: table.unmoved_std,
        samples: table.samples,
        distances: table.distances,
        boundaries: boundary_rows,
        candidates: candidate_rows,
        matches,
        min_share: options.min_share,
    })
}

/// The boundaries in the scorers' order; each attribute needs exactly one plain boundary.
fn boundaries_by_attribute<'a>(
    attributes: &[String],
    boundaries: &'a [Direction],
) -> Result<Vec<&'a Direction>, PipelineError> {
    if let Some(b) = boundaries.iter().find(|b| !attributes.contains(&b.target)) {
        return Err(PipelineError::MatchBoundary { name: b.name(), problem: "names no scored attribute" });
    }
    attributes
        .iter()
        .map(|a| {
            let mut found = boundaries.iter().filter(|b| &b.target == a);
            match (found.next(), found.next()) {
                (Some(b), None) => Ok(b),
                (None, _) => Err(PipelineError::MatchBoundary { name: a.clone(), problem: "has no boundary" }),
                (Some(_), Some(_)) => {
                    Err(PipelineError::MatchBoundary { name: a.clone(), problem: "has two boundaries" })
                }
            }
        })
        .collect()
}

/// Ranks the candidates on attribute column `a` and says which one, if any, matches it.
fn answer(
    attributes: &[String],
    a: usize,
    boundary: &DirectionEffects,
    candidates: &[DirectionEffects],
    min_share: f64,
) -> AttributeMatch {
    let mut ranking: Vec<usize> = (0..candidates.len()).collect();
    ranking.sort_by(|&i, &j| candidates[j].effects[a].abs().total_cmp(&candidates[i].effects[a].abs()));
    let own = boundary.effects[a].abs();
    let main_effect =
        |c: &DirectionEffects| (0..attributes.len()).max_by(|&i, &j| c.effects[i].abs().total_cmp(&c.effects[j].abs()));
    let matches = |c: &DirectionEffects| c.effects[a].abs() >= min_share * own && main_effect(c) == Some(a);
    let best = ranking.iter().copied().find(|&c| matches(&candidates[c]));
    let name = &attributes[a];
    let finding = match (best, ranking.first()) {
        (Some(c), _) => {
            let c = &candidates[c];
            format!(
                "{name}: {} matches, {:+.3} σ/step (the boundary {:+.3}){}; side effects {}; cosine to the boundary {:+.2}",
                c.name,
                c.effects[a],
                boundary.effects[a],
                if c.effects[a] * boundary.effects[a] < 0.0 { ", against the boundary's sign" } else { "" },
                side_effects(attributes, a, c),
                c.cosines[a]
            )
        }
        (None, Some(&c)) => {
            let c = &candidates[c];
            let main = main_effect(c).expect("at least one attribute");
            let also = if main == a {
                String::new()
            } else {
                format!(", and it moves {} more ({:+.3} σ/step)", attributes[main], c.effects[main])
            };
            format!(
                "{name}: no unsupervised direction matches. The strongest, {}, moves it {:+.3} σ/step, {:.0} % of \
                 the boundary's {:+.3} (a match needs {:.0} % and {name} as its largest effect){also}",
                c.name,
                c.effects[a],
                100.0 * c.effects[a].abs() / own.max(1e-12),
                boundary.effects[a],
                100.0 * min_share
            )
        }
        (None, None) => format!("{name}: no candidates"),
    };
    AttributeMatch { attribute: name.clone(), ranking, best, finding }
}

fn side_effects(attributes: &[String], a: usize, c: &DirectionEffects) -> String {
    let parts: Vec<String> =
        (0..attributes.len()).filter(|&o| o != a).map(|o| format!("{} {:+.3}", attributes[o], c.effects[o])).collect();
    if parts.is_empty() { "none measured".to_string() } else { parts.join(", ") }
}

/// Edit strips, per attribute, of its boundary (direction `boundary`) and of the candidate
/// [`MatchTable::shown_candidate`] names, turned to move the attribute the boundary's way
/// (direction `sefa_001`, or `minus_sefa_001` when turned); each code of `codes` is a row, `batch`
/// images go through the generator at once.
pub fn match_sheets(
    generator: &dyn Generator,
    table: &MatchTable,
    directions: (&[Direction], &[Direction]),
    codes: (&[f32], LatentSpace),
    edit: &InterpolateOptions,
    batch: usize,
) -> Result<Vec<EditSheet>, PipelineError> {
    let (boundaries, candidates) = directions;
    let (codes, space) = codes;
    let boundaries = boundaries_by_attribute(&table.attributes, boundaries)?;
    let mut sheets = Vec::new();
    for (a, (attribute, boundary)) in table.attributes.iter().zip(boundaries).enumerate() {
        let mut shown = vec![("boundary".to_string(), boundary.vector.clone())];
        if let Some((c, sign)) = table.shown_candidate(a) {
            let prefix = if sign < 0.0 { "minus_" } else { "" };
            let vector = candidates[c].vector.iter().map(|v| sign * v).collect();
            shown.push((format!("{prefix}{}", table.candidates[c].name), vector));
        }
        for (direction, vector) in shown {
            let edits = edit_codes(generator, codes, space, &vector, edit, batch)?;
            sheets.push(EditSheet { direction, target: attribute.clone(), image: edits.sheet()? });
        }
    }
    Ok(sheets)
}

/// Stages `match.csv` and `match.json` into `dir` and every sheet as
/// `<attribute>_<direction>.png` into `strips` (created) in `outputs`.
pub fn stage_match_files(
    outputs: &mut OutputSet,
    table: &MatchTable,
    sheets: &[EditSheet],
    dir: &Path,
    strips: &Path,
) -> Result<(), PipelineError> {
    outputs.create_dir_all(strips)?;
    for sheet in sheets {
        stage_image(outputs, strips.join(format!("{}_{}.png", sheet.target, sheet.direction)), &sheet.image)?;
    }
    outputs.stage_bytes(dir.join("match.csv"), table.to_csv().as_bytes())?;
    let json = serde_json::to_string_pretty(table).expect("the table serialises");
    outputs.stage_bytes(dir.join("match.json"), json.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, effects: &[f64]) -> DirectionEffects {
        DirectionEffects { name: name.into(), effects: effects.to_vec(), cosines: vec![0.1; effects.len()] }
    }

    fn attributes() -> Vec<String> {
        ["gender", "smile"].map(String::from).to_vec()
    }

    #[test]
    fn a_match_is_the_strongest_candidate_whose_largest_effect_is_the_attribute() {
        let boundary = row("smile", &[0.1, 0.8]);
        // #0 moves smile most but gender more; #1 matches with the opposite sign; #2 is too weak.
        let candidates = [row("a", &[0.9, 0.7]), row("b", &[0.2, -0.5]), row("c", &[0.0, 0.3])];
        let found = answer(&attributes(), 1, &boundary, &candidates, 0.5);
        assert_eq!(found.ranking, vec![0, 1, 2]);
        assert_eq!(found.best, Some(1));
        assert!(
            found.finding.starts_with("smile: b matches, -0.500 σ/step (the boundary +0.800)"),
            "{}",
            found.finding
        );
        assert!(found.finding.contains("against the boundary's sign") && found.finding.contains("gender +0.200"));
    }

    #[test]
    fn no_match_is_said_plainly_with_the_strongest_candidate() {
        let boundary = row("smile", &[0.1, 0.8]);
        let candidates = [row("a", &[0.9, 0.7]), row("c", &[0.0, 0.3])];
        let found = answer(&attributes(), 1, &boundary, &candidates, 0.5);
        assert_eq!(found.best, None);
        assert!(
            found.finding.starts_with("smile: no unsupervised direction matches. The strongest, a, moves it +0.700")
        );
        assert!(
            found.finding.contains("88 %") && found.finding.contains("moves gender more (+0.900"),
            "{}",
            found.finding
        );
        // Raising the bar past c's share leaves no match either; lowering it lets c match.
        assert_eq!(answer(&attributes(), 1, &boundary, &candidates[1..], 0.5).best, None);
        assert_eq!(answer(&attributes(), 1, &boundary, &candidates[1..], 0.3).best, Some(0));
    }

    #[test]
    fn shown_candidate_turns_against_the_boundary() {
        let boundary_rows = vec![row("gender", &[0.9, 0.0]), row("smile", &[0.1, 0.8])];
        let candidates = vec![row("a", &[0.2, -0.6])];
        let matches: Vec<AttributeMatch> =
            (0..2).map(|a| answer(&attributes(), a, &boundary_rows[a], &candidates, 0.5)).collect();
        let table = MatchTable {
            attributes: attributes(),
            unmoved_std: vec![1.0, 1.0],
            samples: 4,
            distances: vec![-1.0, 1.0],
            boundaries: boundary_rows,
            candidates,
            matches,
            min_share: 0.5,
        };
        assert_eq!(table.shown_candidate(1), Some((0, -1.0)));
        assert_eq!(table.shown_candidate(0), Some((0, 1.0)), "no match: the strongest is shown");
        let csv = table.to_csv();
        assert_eq!(
            csv.lines().next(),
            Some("attribute,rank,direction,effect_gender,effect_smile,cosine_to_boundary,matches")
        );
        assert!(csv.contains("smile,1,a,0.200000,-0.600000,0.100000,yes"), "{csv}");
        assert!(csv.contains("gender,0,gender,0.900000,0.000000,0.100000,boundary"), "{csv}");
    }

    #[test]
    fn options_are_checked() {
        assert!(MatchOptions::default().check().is_ok());
        assert!(matches!(MatchOptions::default().min_share(0.0).check(), Err(PipelineError::MatchShare { .. })));
        assert!(matches!(MatchOptions::default().min_share(f64::NAN).check(), Err(PipelineError::MatchShare { .. })));
        assert!(matches!(MatchOptions::default().batch(0).check(), Err(PipelineError::ZeroBatch)));
        assert!(MatchOptions::default().distances(vec![1.0, 1.0]).check().is_err());
    }
}
