//! The ladder's charts, as SVG: cost per epoch of the A rungs, train and
//! test accuracy of the D rungs, the optimisers' paths, the CNN's test
//! accuracy, XOR's success rates, and the fast recipe's test accuracy
//! against wall seconds beside PyTorch's.

use std::path::Path;

use optim::surface::{course_function, course_gradient, descend};
use plotters::coord::Shift;
use plotters::prelude::*;
use train::OptimizerKind;

use super::config::{DataKind, Trajectory};
use super::reference::{Reference, SideBySide};
use super::runner::RungResult;

/// The files written, and what each shows.
pub const FILES: [(&str, &str); 6] = [
    (
        "a-cost.svg",
        "cost per epoch of the A rungs (mean over seeds, log scale)",
    ),
    (
        "d-accuracy.svg",
        "train (solid) and test (dashed) accuracy of the D rungs",
    ),
    ("trajectories.svg", "the optimisers' paths on z = x²/20 + y²"),
    (
        "cnn.svg",
        "the CNN's test accuracy every 500 steps, each seed, and TensorFlow's mean",
    ),
    ("xor.svg", "XOR: fraction of seeds that reach accuracy 1.0"),
    (
        "fast.svg",
        "the fast recipe (rung G), ours and PyTorch's alternating on one machine: test accuracy against wall seconds \
         from the process's start, every tenth of the run (lines) and the recipe as it is (dots), each seed",
    ),
];

/// Other frameworks' runs drawn beside ours.
pub struct References {
    /// Rung F in TensorFlow.
    pub cnn: Option<Reference>,
    /// The fast recipe, ours and PyTorch's.
    pub fast: Option<SideBySide>,
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const COLOURS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Writes every chart it has data for into `dir`.
pub fn write_all(
    dir: &Path,
    results: &[RungResult],
    trajectories: &[Trajectory],
    references: &References,
) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let section = |s: &str| -> Vec<&RungResult> {
        results
            .iter()
            .filter(|r| r.rung.id.starts_with(s) && !r.runs.is_empty())
            .collect()
    };
    let a = section("A");
    if !a.is_empty() {
        cost_chart(&dir.join(FILES[0].0), &a)?;
    }
    let d = section("D");
    if !d.is_empty() {
        train_test_grid(&dir.join(FILES[1].0), &d)?;
    }
    if !trajectories.is_empty() {
        trajectory_chart(&dir.join(FILES[2].0), trajectories)?;
    }
    if let Some(f) = results.iter().find(|r| r.rung.id == "F" && !r.runs.is_empty()) {
        cnn_chart(&dir.join(FILES[3].0), f, references.cnn.as_ref())?;
    }
    let xor: Vec<&RungResult> = results
        .iter()
        .filter(|r| r.rung.data == DataKind::Xor && !r.runs.is_empty())
        .collect();
    if !xor.is_empty() {
        xor_chart(&dir.join(FILES[4].0), &xor)?;
    }
    if let Some(fast) = &references.fast {
        fast_chart(&dir.join(FILES[5].0), fast)?;
    }
    Ok(())
}

type AccuracyChart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// Axes of test accuracy (from `low` to 1) against `x_desc` (from 0 to
/// `right`), with the 0.99 line dashed.
fn accuracy_axes<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, Shift>,
    caption: &str,
    x_desc: &str,
    right: f64,
    low: f64,
) -> Result<AccuracyChart<'a, 'b>> {
    let mut chart = ChartBuilder::on(root)
        .caption(caption, ("sans-serif", 20))
        .margin(12)
        .margin_right(30)
        .x_label_area_size(36)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..right, low..1.0)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc("test accuracy")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.3}"))
        .draw()?;
    chart.draw_series(DashedLineSeries::new(
        [(0.0, 0.99), (right, 0.99)],
        6,
        4,
        BLACK.stroke_width(1),
    ))?;
    Ok(chart)
}

/// Each run of the side-by-side file: its curve as a line, its timed run as
/// a dot, ours in blue and PyTorch's in orange.
fn fast_chart(path: &Path, side: &SideBySide) -> Result<()> {
    let root = SVGBackend::new(path, (900, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let curves = side.curve.as_ref().map_or(&[][..], |p| &p.runs[..]);
    let timed = side.timing.as_ref().map_or(&[][..], |p| &p.runs[..]);
    let points = curves
        .iter()
        .flat_map(|r| r.records.iter().map(|w| (w.wall_seconds, w.test)))
        .chain(timed.iter().map(|r| (r.wall_seconds, r.test)));
    let (mut right, mut low) = (1.0f64, 1.0f64);
    for (x, y) in points {
        right = right.max(x);
        low = low.min(y);
    }
    let low = low.clamp(0.9, 0.985);
    let caption = format!("Fast recipe (rung G) on {}, 2 threads", side.cpu);
    let mut chart = accuracy_axes(
        &root,
        &caption,
        "wall seconds from the process's start",
        right * 1.05,
        low,
    )?;
    let colour = |framework: &str| if framework == "ours" { COLOURS[0] } else { COLOURS[1] };
    let mut labelled = Vec::new();
    for run in curves {
        let c = colour(&run.framework);
        let series = chart.draw_series(LineSeries::new(
            run.records.iter().map(|w| (w.wall_seconds, w.test.max(low))),
            c.stroke_width(1),
        ))?;
        if !labelled.contains(&run.framework) {
            labelled.push(run.framework.clone());
            let seeds = curves.iter().filter(|r| r.framework == run.framework).count();
            series
                .label(format!("{}, {seeds} seeds", run.framework))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        }
    }
    chart.draw_series(
        timed
            .iter()
            .map(|r| Circle::new((r.wall_seconds, r.test), 4, colour(&r.framework).filled())),
    )?;
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .border_style(BLACK)
        .background_style(WHITE.mix(0.9))
        .draw()?;
    root.present()?;
    Ok(())
}

/// Mean over seeds of `f` at each record (records the seeds share).
fn mean_series(r: &RungResult, f: impl Fn(&train::Record) -> Option<f64>) -> Vec<(f64, f64)> {
    let records = r.runs.iter().map(|run| run.history.records.len()).min().unwrap_or(0);
    (0..records)
        .filter_map(|i| {
            let values: Option<Vec<f64>> = r.runs.iter().map(|run| f(&run.history.records[i])).collect();
            let values = values?;
            let x = r.runs[0].history.records[i].epoch as f64;
            Some((x, values.iter().sum::<f64>() / values.len() as f64))
        })
        .collect()
}

fn cost_chart(path: &Path, rungs: &[&RungResult]) -> Result<()> {
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let series: Vec<(String, Vec<(f64, f64)>)> = rungs
        .iter()
        .map(|r| {
            let s = mean_series(r, |rec| Some(rec.cost).filter(|c| c.is_finite() && *c > 0.0));
            let name = if s.is_empty() {
                format!("{} {} (not drawn: the cost diverged to NaN)", r.rung.id, r.rung.title)
            } else {
                format!("{} {}", r.rung.id, r.rung.title)
            };
            (name, s)
        })
        .collect();
    let points = series.iter().flat_map(|(_, s)| s.iter());
    let (mut lo, mut hi, mut last) = (f64::INFINITY, 0.0f64, 1.0f64);
    for &(x, y) in points {
        lo = lo.min(y);
        hi = hi.max(y);
        last = last.max(x);
    }
    if !lo.is_finite() {
        return Ok(());
    }
    let mut chart = ChartBuilder::on(&root)
        .caption("Cost per epoch (mean of the batch costs), A rungs", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(60)
        .build_cartesian_2d(1f64..last.max(2.0), (lo * 0.8..hi * 1.25).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc("cost")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.3}"))
        .draw()?;
    for (i, (name, s)) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        chart
            .draw_series(LineSeries::new(s.iter().copied(), colour.stroke_width(2)))?
            .label(name.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .border_style(BLACK)
        .background_style(WHITE.mix(0.9))
        .draw()?;
    root.present()?;
    Ok(())
}

fn train_test_grid(path: &Path, rungs: &[&RungResult]) -> Result<()> {
    let cols = 3;
    let rows = rungs.len().div_ceil(cols);
    let root = SVGBackend::new(path, (1050, 300 * rows as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((rows, cols));
    for (panel, r) in panels.iter().zip(rungs) {
        train_test_panel(panel, r)?;
    }
    root.present()?;
    Ok(())
}

fn train_test_panel(area: &DrawingArea<SVGBackend<'_>, Shift>, r: &RungResult) -> Result<()> {
    let train = mean_series(r, |rec| rec.train.map(|m| m.accuracy));
    let test = mean_series(r, |rec| rec.test.map(|m| m.accuracy));
    let last = train.iter().chain(&test).map(|p| p.0).fold(1.0, f64::max);
    let low = train
        .iter()
        .chain(&test)
        .map(|p| p.1)
        .fold(1.0, f64::min)
        .clamp(0.0, 0.9);
    let mut chart = ChartBuilder::on(area)
        .caption(format!("{} {}", r.rung.id, r.rung.title), ("sans-serif", 16))
        .margin(8)
        .x_label_area_size(28)
        .y_label_area_size(44)
        .build_cartesian_2d(1f64..last.max(2.0), low..1.0)?;
    chart
        .configure_mesh()
        .x_desc("report (600 steps)")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.2}"))
        .draw()?;
    let blue = COLOURS[0];
    chart
        .draw_series(LineSeries::new(train, blue.stroke_width(2)))?
        .label("train")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], blue.stroke_width(2)));
    let orange = COLOURS[1];
    chart
        .draw_series(DashedLineSeries::new(test, 6, 4, orange.stroke_width(2)))?
        .label("test")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], orange.stroke_width(2)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .border_style(BLACK)
        .background_style(WHITE.mix(0.9))
        .draw()?;
    Ok(())
}

fn trajectory_chart(path: &Path, trajectories: &[Trajectory]) -> Result<()> {
    let cols = 2;
    let rows = trajectories.len().div_ceil(cols);
    let root = SVGBackend::new(path, (900, 360 * rows as u32)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((rows, cols));
    for (panel, t) in panels.iter().zip(trajectories) {
        let mut opt = t.optimizer.build()?;
        let path = descend(opt.as_mut(), [-7.0, 2.0], course_gradient, 30);
        let name = match t.optimizer.optimizer {
            OptimizerKind::Sgd => "SGD",
            OptimizerKind::Momentum => "Momentum",
            OptimizerKind::Nesterov => "Nesterov",
            OptimizerKind::Adagrad => "AdaGrad",
            OptimizerKind::Rmsprop => "RMSProp",
            OptimizerKind::Adam => "Adam",
            OptimizerKind::Adamw => "AdamW",
            OptimizerKind::Adadelta => "AdaDelta",
        };
        let title = format!("{name}, lr {}", t.optimizer.lr);
        let mut chart = ChartBuilder::on(panel)
            .caption(title, ("sans-serif", 16))
            .margin(8)
            .x_label_area_size(28)
            .y_label_area_size(36)
            .build_cartesian_2d(-10f64..10f64, -5f64..5f64)?;
        chart.configure_mesh().disable_mesh().x_desc("x").y_desc("y").draw()?;
        // Contours of x²/20 + y² = c: ellipses with half-axes sqrt(20 c), sqrt(c).
        for c in [0.25f64, 0.5, 1.0, 2.0, 3.5, 5.0] {
            let ellipse = (0..=120).map(|i| {
                let t = i as f64 / 120.0 * std::f64::consts::TAU;
                ((20.0 * c).sqrt() * t.cos(), c.sqrt() * t.sin())
            });
            chart.draw_series(LineSeries::new(ellipse, RGBColor(190, 190, 190)))?;
        }
        let red = COLOURS[3];
        let points: Vec<(f64, f64)> = path.iter().map(|p| (p[0] as f64, p[1] as f64)).collect();
        chart.draw_series(LineSeries::new(points.iter().copied(), red.stroke_width(2)))?;
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 3, red.filled())))?;
        chart.draw_series(std::iter::once(Cross::new((0.0, 0.0), 5, BLACK.stroke_width(2))))?;
        let end = path[path.len() - 1];
        chart.draw_series(std::iter::once(Text::new(
            format!("z after 30 steps: {:.4}", course_function(end)),
            (-9.5, -4.5),
            ("sans-serif", 13),
        )))?;
    }
    root.present()?;
    Ok(())
}

fn cnn_chart(path: &Path, f: &RungResult, reference: Option<&Reference>) -> Result<()> {
    let root = SVGBackend::new(path, (900, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let series: Vec<(u64, Vec<(f64, f64)>)> = f
        .runs
        .iter()
        .map(|run| {
            let s = run
                .history
                .records
                .iter()
                .filter_map(|rec| rec.test.map(|m| (rec.step as f64, m.accuracy)))
                .collect();
            (run.seed, s)
        })
        .collect();
    let last = series.iter().flat_map(|s| s.1.iter()).map(|p| p.0).fold(1.0, f64::max);
    let low = series
        .iter()
        .flat_map(|s| s.1.iter())
        .map(|p| p.1)
        .fold(1.0, f64::min)
        .clamp(0.0, 0.95);
    let mut chart = accuracy_axes(&root, "CNN (rung F): test accuracy", "step", last, low)?;
    for (i, (seed, s)) in series.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        chart
            .draw_series(LineSeries::new(s.iter().copied(), colour.stroke_width(2)))?
            .label(format!("seed {seed}"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
    }
    if series.len() > 1 {
        let ours: Vec<Vec<(f64, f64)>> = series.iter().map(|s| s.1.clone()).collect();
        let mean = mean_by_step(&ours);
        chart
            .draw_series(LineSeries::new(mean, BLACK.stroke_width(2)))?
            .label(format!("ours, mean of {} seeds", series.len()))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(2)));
    }
    if let Some(reference) = reference.filter(|r| !r.runs.is_empty()) {
        let grey = RGBColor(90, 90, 90);
        chart
            .draw_series(DashedLineSeries::new(
                mean_by_step(&reference.series()),
                8,
                4,
                grey.stroke_width(3),
            ))?
            .label(format!(
                "{}, mean of {} seeds",
                reference.framework,
                reference.runs.len()
            ))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], grey.stroke_width(3)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .border_style(BLACK)
        .background_style(WHITE.mix(0.9))
        .draw()?;
    root.present()?;
    Ok(())
}

/// Mean over `series` of the y values at each x (step) that every one of
/// them has.
fn mean_by_step(series: &[Vec<(f64, f64)>]) -> Vec<(f64, f64)> {
    let Some(first) = series.first() else {
        return Vec::new();
    };
    first
        .iter()
        .filter_map(|&(x, _)| {
            let ys: Vec<f64> = series
                .iter()
                .filter_map(|s| s.iter().find(|p| p.0 == x).map(|p| p.1))
                .collect();
            (ys.len() == series.len()).then(|| (x, ys.iter().sum::<f64>() / ys.len() as f64))
        })
        .collect()
}

fn xor_chart(path: &Path, rungs: &[&RungResult]) -> Result<()> {
    let root = SVGBackend::new(path, (700, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let labels: Vec<String> = rungs
        .iter()
        .map(|r| format!("{}: {}", r.rung.id, r.rung.brief))
        .collect();
    let mut chart = ChartBuilder::on(&root)
        .caption("XOR: seeds reaching accuracy 1.0", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(50)
        .build_cartesian_2d(0f64..rungs.len() as f64, 0f64..1.05)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(rungs.len() * 2 + 1)
        .x_label_formatter(&|x| {
            let i = x.floor() as usize;
            if (x - i as f64 - 0.5).abs() < 1e-6 {
                labels.get(i).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_desc("fraction of seeds")
        .draw()?;
    for (i, r) in rungs.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let x = i as f64;
        let y = r.success();
        chart.draw_series(std::iter::once(Rectangle::new(
            [(x + 0.2, 0.0), (x + 0.8, y)],
            colour.filled(),
        )))?;
        chart.draw_series(std::iter::once(Text::new(
            format!("{} of {}", (y * r.runs.len() as f64).round(), r.runs.len()),
            (x + 0.38, (y + 0.03).min(1.02)),
            ("sans-serif", 14),
        )))?;
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mean_keeps_only_steps_every_series_reports() {
        let mean = mean_by_step(&[vec![(500.0, 0.9), (1000.0, 0.96)], vec![(500.0, 0.8)]]);
        assert_eq!(mean.len(), 1);
        assert_eq!(mean[0].0, 500.0);
        assert!((mean[0].1 - 0.85).abs() < 1e-12);
    }
}
