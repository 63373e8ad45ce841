//! `report.html`: one self-contained page (figures inline as SVG, images as embedded PNG).

use std::fmt::Write as _;
use std::io::Cursor;
use std::path::Path;

use base64::Engine as _;
use interfacegan_generator::RgbImage;
use interfacegan_io::write_atomic;

use crate::plots::{Panel, curves_svg, heatmap_svg, histogram_svg};
use crate::{EditSheet, MatchTable, PipelineError, PipelineOutcome, RescoreRow, edited_in_report};

/// The ids of the report's sections, in order; tests and readers can rely on them.
pub const REPORT_SECTIONS: [&str; 7] =
    ["samples", "attributes", "cosine", "correlation", "rescore", "unsupervised", "timings"];

/// The pages' style sheet.
const STYLE: &str = "body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}\
     table{border-collapse:collapse;margin:0.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}\
     th{background:#f3f3f3}td.target{background:#eef6ea;font-weight:bold}\
     img{image-rendering:pixelated}section{margin-top:2em}.note{color:#555}";

/// Candidates listed per attribute in the matching tables (all are in `match.csv`).
const RANKS_SHOWN: usize = 5;

/// A side effect below this many standard deviations per unit step counts as none.
const NEGLIGIBLE: f64 = 0.02;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// An embedded JPEG (quality 92): a tenth of the size of the image crate's PNG for these sheets;
/// the PNG files next to the report keep every pixel.
fn jpeg_data_uri(image: &RgbImage) -> Result<String, PipelineError> {
    let mut bytes = Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 92).encode_image(image)?;
    Ok(format!("data:image/jpeg;base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes.into_inner())))
}

/// An edit sheet inline, captioned.
fn figure_html(caption: &str, image: &RgbImage) -> Result<String, PipelineError> {
    Ok(format!(
        "<figure style=\"display:inline-block\"><img alt=\"{0}\" src=\"{1}\"><figcaption>{0}</figcaption></figure>",
        escape(caption),
        jpeg_data_uri(image)?
    ))
}

fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".to_string(), |v| format!("{:.1} %", 100.0 * v))
}

/// Sentences that compare each plain direction with its conditional versions on the re-scored
/// side effects, in standard deviations of each attribute per unit step. They say plainly where
/// conditioning does not help.
pub fn findings(outcome: &PipelineOutcome) -> Vec<String> {
    let table = &outcome.rescore;
    let std: Vec<f64> =
        table.attributes.iter().map(|a| outcome.attribute(a).map_or(1.0, |o| o.std.max(1e-12))).collect();
    let mut lines = Vec::new();
    for plain in table.rows.iter().filter(|r| r.conditions.is_empty()) {
        let Some(t) = table.column(&plain.target) else { continue };
        for conditional in table.rows.iter().filter(|r| r.target == plain.target && !r.conditions.is_empty()) {
            let mut parts = Vec::new();
            for condition in &conditional.conditions {
                let Some(c) = table.column(condition) else { continue };
                let before = plain.slopes[c].abs() / std[c];
                let after = conditional.slopes[c].abs() / std[c];
                parts.push(if before < NEGLIGIBLE && after < NEGLIGIBLE {
                    format!("{condition} barely moved before ({before:.3} σ/step) and still does not ({after:.3})")
                } else if after < before {
                    format!(
                        "{condition}'s change falls from {before:.3} to {after:.3} σ/step ({:+.0} %)",
                        100.0 * (after - before) / before
                    )
                } else {
                    format!("{condition}'s change does NOT fall: {before:.3} → {after:.3} σ/step")
                });
            }
            let kept = if plain.slopes[t].abs() / std[t] < NEGLIGIBLE {
                format!("{} does not change along either direction", plain.target)
            } else {
                format!("{} keeps {:.0} % of its change", plain.target, 100.0 * conditional.slopes[t] / plain.slopes[t])
            };
            lines.push(format!("{}: {}; {kept}.", conditional.direction, parts.join(", ")));
        }
    }
    lines
}

fn rescore_table_html(outcome: &PipelineOutcome) -> String {
    let table = &outcome.rescore;
    let mut html = String::from("<table><tr><th>direction</th>");
    for a in &table.attributes {
        let _ = write!(html, "<th>Δ {a} per step</th>");
    }
    html.push_str("<th>target monotonic</th></tr>");
    for row in &table.rows {
        let _ = write!(html, "<tr><td>{}</td>", escape(&row.direction));
        for (a, slope) in table.attributes.iter().zip(&row.slopes) {
            let std = outcome.attribute(a).map_or(1.0, |o| o.std.max(1e-12));
            let class = if *a == row.target { " class=\"target\"" } else { "" };
            let _ = write!(html, "<td{class}>{slope:+.4} <small>({:+.3} σ)</small></td>", slope / std);
        }
        let _ = write!(html, "<td>{}</td></tr>", if table.target_monotonic(row) { "yes" } else { "NO" });
    }
    html.push_str("</table>");
    html
}

/// Change of every attribute from distance 0, in standard deviations.
fn standardized_changes<'a>(outcome: &'a PipelineOutcome, row: &RescoreRow) -> Vec<(&'a str, Vec<f64>)> {
    let table = &outcome.rescore;
    let origin = table.distances.iter().position(|&d| d == 0.0);
    table
        .attributes
        .iter()
        .enumerate()
        .map(|(a, name)| {
            let std = outcome.attribute(name).map_or(1.0, |o| o.std.max(1e-12));
            let base = origin.map_or(row.means[0][a], |o| row.means[o][a]);
            (name.as_str(), row.means.iter().map(|m| (m[a] - base) / std).collect())
        })
        .collect()
}

/// Writes the report of `outcome` to `path` (atomically; an existing report is replaced).
pub fn write_report(outcome: &PipelineOutcome, path: &Path) -> Result<(), PipelineError> {
    let mut html = String::new();
    header(outcome, &mut html);
    samples_section(outcome, &mut html)?;
    attributes_section(outcome, &mut html)?;
    measures_sections(outcome, &mut html)?;
    rescore_section(outcome, &mut html)?;
    unsupervised_section(outcome, &mut html)?;
    timings_section(outcome, &mut html);
    write_atomic(path, html.as_bytes(), true)?;
    Ok(())
}

/// The page's head, style and summary line.
fn header(outcome: &PipelineOutcome, html: &mut String) {
    let total: f64 = outcome.timings.iter().map(|(_, s)| s).sum();
    let _ = write!(
        html,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>InterFaceGAN report</title>\
         <style>{STYLE}</style></head><body><h1>InterFaceGAN on {}</h1><p>N = {} codes, seed {}, attributes {}; this call took {:.0} s (a resumed run counts only what it computed). \
         Every file of the run is next to this page, in the official formats.</p>",
        escape(&outcome.generator),
        outcome.sample.manifest.samples,
        outcome.sample.manifest.seed,
        escape(&outcome.sample.manifest.attributes.join(", ")),
        total
    );
}

/// The first codes' images.
fn samples_section(outcome: &PipelineOutcome, html: &mut String) -> Result<(), PipelineError> {
    html.push_str("<section id=\"samples\"><h2>Samples</h2>");
    if let Some(grid) = &outcome.sample_grid {
        let _ = write!(html, "<p>The first codes of z.npy.</p><img alt=\"samples\" src=\"{}\">", jpeg_data_uri(grid)?);
    }
    html.push_str("</section>");
    Ok(())
}

/// Per attribute: the fit, the score histogram and the edit strips.
fn attributes_section(outcome: &PipelineOutcome, html: &mut String) -> Result<(), PipelineError> {
    let distances: Vec<String> = outcome.edit_distances.iter().map(|d| format!("{d:+.1}")).collect();
    let _ = write!(
        html,
        "<section id=\"attributes\"><h2>Boundaries and edits</h2><p>Per attribute: the SVM's accuracies, the \
         scores of the N samples with the cuts of the top and bottom sets, and edits of fresh samples (rows) \
         moved to the distances {} (columns; official <code>linear_interpolate</code>) along the boundary and \
         along the same boundary made orthogonal to all the others.</p>",
        distances.join(", ")
    );
    for a in &outcome.attributes {
        let f = &a.fit;
        let _ = write!(
            html,
            "<h3 id=\"attribute-{name}\">{name}: {meaning}</h3><p class=\"note\">{note}.</p><table>\
             <tr><th>per side</th><th>train</th><th>validation</th><th>remaining</th><th>train acc.</th>\
             <th>validation acc.</th><th>remaining acc.</th><th>SVM time</th></tr>\
             <tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.2} s</td></tr></table>{}",
            f.chosen_per_side,
            f.train_samples,
            f.val_samples,
            f.remaining_samples,
            percent(f.train_accuracy),
            percent(f.val_accuracy),
            percent(f.remaining_accuracy),
            f.svm.seconds,
            histogram_svg(&format!("{} scores", a.name), &a.histogram, a.min, a.max, a.bottom_cut, a.top_cut)?,
            name = escape(&a.name),
            meaning = escape(&a.meaning),
            note = escape(&a.chosen_note),
        );
        for sheet in outcome.edit_sheets.iter().filter(|s| s.target == a.name) {
            html.push_str(&figure_html(&sheet.direction, &sheet.image)?);
        }
    }
    html.push_str("</section>");
    Ok(())
}

/// The cosine and correlation heatmaps.
fn measures_sections(outcome: &PipelineOutcome, html: &mut String) -> Result<(), PipelineError> {
    let labels: Vec<String> = outcome.attributes.iter().map(|a| a.name.clone()).collect();
    let _ = write!(
        html,
        "<section id=\"cosine\"><h2>Cosine similarity of the boundaries</h2>{}</section>\
         <section id=\"correlation\"><h2>Correlation of the scores</h2><p>Pearson, over the N samples.</p>{}</section>",
        heatmap_svg("cosine similarity", &labels, &outcome.cosine)?,
        heatmap_svg("score correlation", &labels, &outcome.correlation)?
    );
    Ok(())
}

/// The re-scoring table, its findings and curves.
fn rescore_section(outcome: &PipelineOutcome, html: &mut String) -> Result<(), PipelineError> {
    let table = &outcome.rescore;
    let _ = write!(
        html,
        "<section id=\"rescore\"><h2>Re-scoring</h2><p>{} fresh codes moved by each of the distances {:?} along \
         every direction and scored again. The table gives the least-squares change of each attribute's mean \
         score per unit step (in brackets: in standard deviations of that attribute over the N samples); the \
         target column is shaded. Conditioning works when the other columns shrink while the target stays.</p>{}<ul>",
        table.samples,
        table.distances,
        rescore_table_html(outcome)
    );
    for line in findings(outcome) {
        let _ = write!(html, "<li>{}</li>", escape(&line));
    }
    html.push_str("</ul>");
    for plain in table.rows.iter().filter(|r| r.conditions.is_empty()) {
        let panels: Vec<Panel> = table
            .rows
            .iter()
            .filter(|r| r.target == plain.target && edited_in_report(&r.conditions, outcome.attributes.len()))
            .map(|r| Panel { title: r.direction.clone(), series: standardized_changes(outcome, r) })
            .collect();
        html.push_str(&curves_svg(
            &format!("moving along {}: mean change of every attribute", plain.target),
            "change (σ)",
            &table.distances,
            &panels,
        )?);
    }
    html.push_str("</section>");
    Ok(())
}

/// The unsupervised directions against the boundaries, when any were given.
fn unsupervised_section(outcome: &PipelineOutcome, html: &mut String) -> Result<(), PipelineError> {
    html.push_str("<section id=\"unsupervised\"><h2>Unsupervised directions</h2>");
    match &outcome.matching {
        Some(table) => html.push_str(&match_html(table, &outcome.match_sheets)?),
        None => html.push_str(
            "<p>None were given: <code>interfacegan demo --unsupervised sefa,ganspace</code> measures SeFa's and \
             GANSpace's directions against the boundaries here.</p>",
        ),
    }
    html.push_str("</section>");
    Ok(())
}

/// What [`MatchTable`] found, as HTML: the rule, then per attribute the finding, the boundary and
/// the strongest candidates with their effect on every attribute, and the edit strips.
pub fn match_html(table: &MatchTable, sheets: &[EditSheet]) -> Result<String, PipelineError> {
    let mut html = String::new();
    let _ = write!(
        html,
        "<p>{} fresh codes moved by each of the distances {:?} along every SVM boundary and every unsupervised \
         direction, then scored again. An effect is the least-squares change of an attribute's mean score per unit \
         step, in standard deviations of that attribute over the unmoved codes (σ/step). A direction matches an \
         attribute when the attribute is its largest effect and reaches {:.0} % of the boundary's own effect; its \
         sign is free (the strips move it the boundary's way).</p>",
        table.samples,
        table.distances,
        100.0 * table.min_share
    );
    for (a, found) in table.matches.iter().enumerate() {
        let _ = write!(html, "<h3>{}</h3><p>{}.</p>", escape(&found.attribute), escape(&found.finding));
        html.push_str(&match_rows_html(table, a));
        for sheet in sheets.iter().filter(|s| s.target == found.attribute) {
            let caption = match (sheet.direction.as_str(), found.best) {
                ("boundary", _) => format!("the {} boundary", found.attribute),
                (direction, Some(_)) => format!("{direction}, the match"),
                (direction, None) => format!("{direction}, the strongest (no match)"),
            };
            html.push_str(&figure_html(&caption, &sheet.image)?);
        }
    }
    Ok(html)
}

/// The boundary of attribute column `a` and its strongest candidates, one row each.
fn match_rows_html(table: &MatchTable, a: usize) -> String {
    let mut html = String::from("<table><tr><th>rank</th><th>direction</th>");
    for name in &table.attributes {
        let _ = write!(html, "<th>Δ {} (σ/step)</th>", escape(name));
    }
    html.push_str("<th>cosine to the boundary</th><th>match</th></tr>");
    let found = &table.matches[a];
    let shown = found.ranking.iter().take(RANKS_SHOWN).enumerate();
    let rows = std::iter::once(("–".to_string(), &table.boundaries[a], "boundary"))
        .chain(shown.map(|(r, &c)| {
            ((r + 1).to_string(), &table.candidates[c], if found.best == Some(c) { "yes" } else { "" })
        }));
    for (rank, row, verdict) in rows {
        let _ = write!(html, "<tr><td>{rank}</td><td>{}</td>", escape(&row.name));
        for (i, effect) in row.effects.iter().enumerate() {
            let class = if i == a { " class=\"target\"" } else { "" };
            let _ = write!(html, "<td{class}>{effect:+.3}</td>");
        }
        let _ = write!(html, "<td>{:+.2}</td><td>{verdict}</td></tr>", row.cosines[a]);
    }
    html.push_str("</table>");
    html
}

/// [`match_html`] as a page of its own, with the report's style.
pub fn match_page(table: &MatchTable, sheets: &[EditSheet]) -> Result<String, PipelineError> {
    Ok(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Unsupervised directions</title>\
         <style>{STYLE}</style></head><body><h1>Unsupervised directions against the boundaries</h1>{}</body></html>\n",
        match_html(table, sheets)?
    ))
}

/// Seconds per stage and the sampling rates.
fn timings_section(outcome: &PipelineOutcome, html: &mut String) {
    html.push_str("<section id=\"timings\"><h2>Timings</h2><table><tr><th>stage</th><th>seconds</th></tr>");
    for (stage, seconds) in &outcome.timings {
        let _ = write!(html, "<tr><td>{}</td><td>{seconds:.1}</td></tr>", escape(stage));
    }
    let (synthesis, scorers) = outcome.sample.rates();
    let _ = write!(html, "</table><p>Sampling stage rates: synthesis {synthesis:.0} images/s");
    for (a, rate) in scorers {
        let _ = write!(html, ", {} {rate:.0} images/s", escape(&a));
    }
    html.push_str(".</p></section></body></html>\n");
}
