//! The report's figures, drawn by plotters as inline SVG (no font files: plotters' own text metrics).

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::PipelineError;

fn plot_error(figure: &str) -> impl Fn(Box<dyn std::error::Error + '_>) -> PipelineError + '_ {
    move |e| PipelineError::Plot { figure: figure.to_string(), message: e.to_string() }
}

/// Histogram of scores over `[min, max]` with the bottom and top cuts as vertical lines.
pub fn histogram_svg(
    title: &str,
    counts: &[u32],
    min: f32,
    max: f32,
    bottom_cut: f32,
    top_cut: f32,
) -> Result<String, PipelineError> {
    let mut svg = String::new();
    {
        let err = plot_error(title);
        let root = SVGBackend::with_string(&mut svg, (520, 260)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(Box::new(e)))?;
        let (lo, hi) = (min as f64, (max as f64).max(min as f64 + 1e-6));
        let top = counts.iter().copied().max().unwrap_or(1).max(1) as f64 * 1.08;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(32)
            .y_label_area_size(52)
            .build_cartesian_2d(lo..hi, 0.0..top)
            .map_err(|e| err(Box::new(e)))?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_desc("score")
            .y_desc("samples")
            .draw()
            .map_err(|e| err(Box::new(e)))?;
        let width = (hi - lo) / counts.len().max(1) as f64;
        chart
            .draw_series(counts.iter().enumerate().map(|(i, &c)| {
                let x0 = lo + i as f64 * width;
                Rectangle::new([(x0, 0.0), (x0 + width, c as f64)], RGBColor(70, 110, 170).mix(0.75).filled())
            }))
            .map_err(|e| err(Box::new(e)))?;
        for (cut, color, label) in
            [(bottom_cut, RGBColor(200, 60, 40), "bottom cut"), (top_cut, RGBColor(40, 150, 60), "top cut")]
        {
            chart
                .draw_series(LineSeries::new([(cut as f64, 0.0), (cut as f64, top)], color.stroke_width(2)))
                .map_err(|e| err(Box::new(e)))?
                .label(label)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .draw()
            .map_err(|e| err(Box::new(e)))?;
        root.present().map_err(|e| err(Box::new(e)))?;
    }
    Ok(svg)
}

/// Blue (-1) to white (0) to red (+1).
fn diverging(value: f64) -> RGBColor {
    let v = value.clamp(-1.0, 1.0);
    let fade = |c: u8, t: f64| (255.0 + (c as f64 - 255.0) * t).round() as u8;
    if v >= 0.0 {
        RGBColor(fade(200, v), fade(40, v), fade(40, v))
    } else {
        RGBColor(fade(40, -v), fade(80, -v), fade(200, -v))
    }
}

/// A labelled square matrix of values in [-1, 1] (cosine similarities, correlations).
pub fn heatmap_svg(title: &str, labels: &[String], matrix: &[Vec<f64>]) -> Result<String, PipelineError> {
    let n = labels.len() as i32;
    let (cell, left, top) = (72, 90, 40);
    let size = ((left + n * cell + 20) as u32, (top + n * cell + 40) as u32);
    let mut svg = String::new();
    {
        let err = plot_error(title);
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(Box::new(e)))?;
        let centered = TextStyle::from(("sans-serif", 14).into_font()).pos(Pos::new(HPos::Center, VPos::Center));
        let right = TextStyle::from(("sans-serif", 14).into_font()).pos(Pos::new(HPos::Right, VPos::Center));
        root.draw(&Text::new(title.to_string(), (size.0 as i32 / 2, 16), centered.clone()))
            .map_err(|e| err(Box::new(e)))?;
        for (i, row) in matrix.iter().enumerate() {
            let y = top + i as i32 * cell;
            root.draw(&Text::new(labels[i].clone(), (left - 8, y + cell / 2), right.clone()))
                .map_err(|e| err(Box::new(e)))?;
            for (j, &v) in row.iter().enumerate() {
                let x = left + j as i32 * cell;
                root.draw(&Rectangle::new([(x, y), (x + cell - 2, y + cell - 2)], diverging(v).filled()))
                    .map_err(|e| err(Box::new(e)))?;
                root.draw(&Text::new(format!("{v:.3}"), (x + cell / 2, y + cell / 2), centered.clone()))
                    .map_err(|e| err(Box::new(e)))?;
            }
        }
        for (j, label) in labels.iter().enumerate() {
            let x = left + j as i32 * cell + cell / 2;
            root.draw(&Text::new(label.clone(), (x, top + n * cell + 14), centered.clone()))
                .map_err(|e| err(Box::new(e)))?;
        }
        root.present().map_err(|e| err(Box::new(e)))?;
    }
    Ok(svg)
}

/// One curve per series: mean change against the distance, side by side panels.
pub struct Panel<'a> {
    /// Panel title.
    pub title: String,
    /// Series name and its y value at each distance.
    pub series: Vec<(&'a str, Vec<f64>)>,
}

/// Panels of curves over `distances`, sharing one y range.
pub fn curves_svg(title: &str, y_desc: &str, distances: &[f64], panels: &[Panel]) -> Result<String, PipelineError> {
    let width = 340 * panels.len().max(1) as u32;
    let mut svg = String::new();
    {
        let err = plot_error(title);
        let root = SVGBackend::with_string(&mut svg, (width, 300)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(Box::new(e)))?;
        let root = root.titled(title, ("sans-serif", 16)).map_err(|e| err(Box::new(e)))?;
        let values = panels.iter().flat_map(|p| p.series.iter().flat_map(|(_, v)| v.iter().copied()));
        let (lo, hi) = values.fold((0.0f64, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
        let pad = ((hi - lo) * 0.08).max(1e-3);
        let (x0, x1) = (
            distances.iter().copied().fold(f64::INFINITY, f64::min),
            distances.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        );
        for (area, panel) in root.split_evenly((1, panels.len().max(1))).iter().zip(panels) {
            let mut chart = ChartBuilder::on(area)
                .caption(&panel.title, ("sans-serif", 14))
                .margin(8)
                .x_label_area_size(30)
                .y_label_area_size(46)
                .build_cartesian_2d(x0..x1, (lo - pad)..(hi + pad))
                .map_err(|e| err(Box::new(e)))?;
            chart.configure_mesh().x_desc("distance").y_desc(y_desc).draw().map_err(|e| err(Box::new(e)))?;
            for (k, (name, ys)) in panel.series.iter().enumerate() {
                let color = Palette99::pick(k).to_rgba();
                chart
                    .draw_series(LineSeries::new(
                        distances.iter().copied().zip(ys.iter().copied()),
                        color.stroke_width(2),
                    ))
                    .map_err(|e| err(Box::new(e)))?
                    .label(*name)
                    .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2)));
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .draw()
                .map_err(|e| err(Box::new(e)))?;
        }
        root.present().map_err(|e| err(Box::new(e)))?;
    }
    Ok(svg)
}
