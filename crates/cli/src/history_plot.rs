//! `mnist train --plot`: the cost and the accuracies of a run, per epoch
//! (or report), side by side, as the course's matplotlib figure shows them.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use train::History;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const BLUE: RGBColor = RGBColor(31, 119, 180);
const ORANGE: RGBColor = RGBColor(255, 127, 14);
const GREEN: RGBColor = RGBColor(44, 160, 44);
const RED: RGBColor = RGBColor(214, 39, 40);

/// A line of the chart: its name, colour and points.
type Series = (&'static str, RGBColor, Vec<(f64, f64)>);

/// Draws `history` into an SVG file at `path`; x is the epoch, or the step
/// when the run went by steps.
pub fn draw(path: &Path, history: &History, by_steps: bool) -> Result<()> {
    let x = |r: &train::Record| if by_steps { r.step as f64 } else { r.epoch as f64 };
    let series = |f: &dyn Fn(&train::Record) -> Option<f64>| -> Vec<(f64, f64)> {
        history.records.iter().filter_map(|r| f(r).map(|y| (x(r), y))).collect()
    };
    let losses: Vec<Series> = vec![
        ("training cost (batches)", BLUE, series(&|r| Some(r.cost))),
        ("train loss", GREEN, series(&|r| r.train.map(|m| m.loss))),
        ("validation loss", ORANGE, series(&|r| r.validation.map(|m| m.loss))),
        ("test loss", RED, series(&|r| r.test.map(|m| m.loss))),
    ];
    let accuracies: Vec<Series> = vec![
        ("training (batches)", BLUE, series(&|r| Some(r.batch_accuracy))),
        ("train", GREEN, series(&|r| r.train.map(|m| m.accuracy))),
        ("validation", ORANGE, series(&|r| r.validation.map(|m| m.accuracy))),
        ("test", RED, series(&|r| r.test.map(|m| m.accuracy))),
    ];
    let root = SVGBackend::new(path, (1000, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(500);
    let x_name = if by_steps { "step" } else { "epoch" };
    panel(&left, "Loss", x_name, &losses, SeriesLabelPosition::UpperRight)?;
    panel(&right, "Accuracy", x_name, &accuracies, SeriesLabelPosition::LowerRight)?;
    root.present()?;
    Ok(())
}

fn panel(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    title: &str,
    x_name: &str,
    series: &[Series],
    legend: SeriesLabelPosition,
) -> Result<()> {
    let points = || series.iter().flat_map(|s| s.2.iter());
    let (x_max, y_min, y_max) = points().fold((1.0f64, f64::INFINITY, f64::NEG_INFINITY), |(x, lo, hi), p| {
        (x.max(p.0), lo.min(p.1), hi.max(p.1))
    });
    if !y_min.is_finite() || !y_max.is_finite() {
        return Ok(());
    }
    let pad = ((y_max - y_min) * 0.05).max(1e-3);
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .margin_right(24)
        .x_label_area_size(32)
        .y_label_area_size(52)
        .build_cartesian_2d(0f64..x_max, (y_min - pad)..(y_max + pad))?;
    chart
        .configure_mesh()
        .x_desc(x_name)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.3}"))
        .draw()?;
    for (name, colour, points) in series.iter().filter(|s| !s.2.is_empty()) {
        let colour = *colour;
        chart
            .draw_series(LineSeries::new(points.iter().copied(), colour.stroke_width(2)))?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, colour.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(legend)
        .border_style(BLACK)
        .background_style(WHITE.mix(0.9))
        .draw()?;
    Ok(())
}
