//! The strokes of each digit, as polylines in a unit box (x to the right,
//! y down, the digit filling 0..1 in height), with the common variants of
//! hand-written forms: a 1 with or without its flag and foot, a 7 with or
//! without a bar, a 4 open or closed at the top, a 9 with a straight or a
//! hooked stem.

use rand::RngExt;
use rand_xoshiro::Xoshiro256PlusPlus;

/// A point of the unit box.
pub type Point = (f32, f32);

/// Points along an ellipse's arc from `from` to `to` degrees (0 to the
/// right, 90 down, as y grows downwards).
fn arc(centre: Point, radii: Point, from: f32, to: f32) -> Vec<Point> {
    let steps = ((to - from).abs() / 10.0).ceil().max(2.0) as usize;
    (0..=steps)
        .map(|i| {
            let angle = (from + (to - from) * i as f32 / steps as f32).to_radians();
            (centre.0 + radii.0 * angle.cos(), centre.1 + radii.1 * angle.sin())
        })
        .collect()
}

/// A straight run from `a` to `b`, in a few points so that the wobble can
/// bend it.
fn line(a: Point, b: Point) -> Vec<Point> {
    (0..=6)
        .map(|i| {
            let t = i as f32 / 6.0;
            (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t)
        })
        .collect()
}

/// Joins runs into one stroke (the pen does not lift between them).
fn joined(parts: Vec<Vec<Point>>) -> Vec<Point> {
    parts.into_iter().flatten().collect()
}

/// The strokes of `digit`, in one of its forms drawn from `rng`.
pub fn strokes(digit: u8, rng: &mut Xoshiro256PlusPlus) -> Vec<Vec<Point>> {
    let coin = |rng: &mut Xoshiro256PlusPlus, p: f32| rng.random::<f32>() < p;
    match digit {
        0 => vec![arc((0.5, 0.5), (0.3, 0.48), -90.0, 275.0)],
        1 => {
            let mut strokes = Vec::new();
            if coin(rng, 0.6) {
                strokes.push(joined(vec![
                    line((0.3, 0.22), (0.52, 0.02)),
                    line((0.52, 0.02), (0.52, 1.0)),
                ]));
            } else {
                strokes.push(line((0.5, 0.0), (0.5, 1.0)));
            }
            if coin(rng, 0.3) {
                strokes.push(line((0.3, 1.0), (0.72, 1.0)));
            }
            strokes
        }
        2 => vec![joined(vec![
            arc((0.5, 0.28), (0.3, 0.27), 195.0, 380.0),
            line((0.78, 0.38), (0.18, 0.98)),
            line((0.18, 0.98), (0.85, 0.98)),
        ])],
        3 => vec![joined(vec![
            arc((0.48, 0.26), (0.28, 0.24), 200.0, 450.0),
            arc((0.48, 0.73), (0.32, 0.26), -90.0, 150.0),
        ])],
        4 => {
            if coin(rng, 0.5) {
                vec![
                    joined(vec![line((0.55, 0.0), (0.12, 0.68)), line((0.12, 0.68), (0.88, 0.68))]),
                    line((0.66, 0.3), (0.66, 1.0)),
                ]
            } else {
                vec![
                    joined(vec![line((0.22, 0.0), (0.16, 0.6)), line((0.16, 0.6), (0.85, 0.6))]),
                    line((0.7, 0.02), (0.7, 1.0)),
                ]
            }
        }
        5 => vec![
            joined(vec![
                line((0.3, 0.02), (0.26, 0.45)),
                arc((0.48, 0.7), (0.32, 0.28), -125.0, 150.0),
            ]),
            line((0.3, 0.02), (0.8, 0.02)),
        ],
        6 => vec![joined(vec![
            arc((0.78, 0.62), (0.55, 0.6), 245.0, 180.0),
            arc((0.5, 0.72), (0.27, 0.26), 180.0, 540.0),
        ])],
        7 => {
            let mut strokes = vec![joined(vec![
                line((0.12, 0.02), (0.86, 0.02)),
                line((0.86, 0.02), (0.4, 1.0)),
            ])];
            if coin(rng, 0.3) {
                strokes.push(line((0.4, 0.52), (0.8, 0.52)));
            }
            strokes
        }
        8 => vec![joined(vec![
            arc((0.5, 0.25), (0.24, 0.23), 90.0, 450.0),
            arc((0.5, 0.73), (0.3, 0.26), -90.0, 270.0),
        ])],
        _ => {
            let head = arc((0.48, 0.28), (0.28, 0.26), 0.0, 360.0);
            let stem = if coin(rng, 0.6) {
                line((0.76, 0.28), (0.7, 1.0))
            } else {
                arc((0.36, 0.28), (0.4, 0.72), 0.0, 100.0)
            };
            vec![head, stem]
        }
    }
}
