//! Deskewing by moments: the ink's rows are shifted sideways in proportion
//! to their height above its centre of mass, so that its principal axis
//! becomes upright (the second moment `mu11` becomes 0), as in LeCun's
//! deskewed MNIST and many a tutorial's preprocessing.

/// The slant `mu11 / mu02` of the pixels of `ink` (`width` a row) over
/// `threshold` (so that faint noise spread over a photo does not count):
/// sideways pixels per pixel down. 0 for no ink or a single row.
#[cfg(test)]
pub(super) fn slant(ink: &[f32], width: usize, threshold: f32) -> f32 {
    moments(ink, width, threshold).map_or(0.0, |(_, slant)| slant)
}

/// The row of the centre of mass of the pixels over `threshold`, and their
/// slant; `None` without such pixels.
fn moments(ink: &[f32], width: usize, threshold: f32) -> Option<(f64, f32)> {
    let inked = || ink.iter().enumerate().filter(|(_, v)| **v > threshold);
    let (mut mass, mut mx, mut my) = (0.0f64, 0.0f64, 0.0f64);
    for (i, &v) in inked() {
        mass += v as f64;
        mx += (i % width) as f64 * v as f64;
        my += (i / width) as f64 * v as f64;
    }
    if mass <= 0.0 {
        return None;
    }
    let (cx, cy) = (mx / mass, my / mass);
    let (mut mu11, mut mu02) = (0.0f64, 0.0f64);
    for (i, &v) in inked() {
        let (dx, dy) = ((i % width) as f64 - cx, (i / width) as f64 - cy);
        mu11 += dx * dy * v as f64;
        mu02 += dy * dy * v as f64;
    }
    let slant = if mu02 <= 0.0 { 0.0 } else { (mu11 / mu02) as f32 };
    Some((cy, slant))
}

/// `ink` with row `y` moved by `-slant * (y - centre)` (slant and centre of
/// the pixels over `threshold`), sampled linearly,
/// into a picture wide enough to hold every shifted row; returns it and its
/// width. The slant is limited to one pixel across a pixel down (45°), so
/// a blot is not smeared.
pub(super) fn deskew(ink: &[f32], width: usize, threshold: f32) -> (Vec<f32>, usize) {
    let height = ink.len() / width;
    let Some((centre, slant)) = moments(ink, width, threshold) else {
        return (ink.to_vec(), width);
    };
    let (centre, slant) = (centre as f32, slant.clamp(-1.0, 1.0));
    if slant == 0.0 || height == 0 {
        return (ink.to_vec(), width);
    }
    let reach = (0..height)
        .map(|y| (slant * (y as f32 - centre)).abs())
        .fold(0.0f32, f32::max);
    let pad = reach.ceil() as usize;
    let out_width = width + 2 * pad;
    let mut out = vec![0.0f32; out_width * height];
    for y in 0..height {
        let shift = slant * (y as f32 - centre);
        let row = &ink[y * width..(y + 1) * width];
        for (x, o) in out[y * out_width..(y + 1) * out_width].iter_mut().enumerate() {
            // Output column x shows input column x - pad + shift.
            let source = x as f32 - pad as f32 + shift;
            let (left, t) = (source.floor(), source - source.floor());
            let at = |c: f32| -> f32 {
                if c < 0.0 || c >= width as f32 {
                    0.0
                } else {
                    row[c as usize]
                }
            };
            *o = at(left) * (1.0 - t) + at(left + 1.0) * t;
        }
    }
    (out, out_width)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stroke leaning right (x grows as y shrinks: `/`), one pixel a row.
    fn leaning(width: usize, height: usize, lean: f32) -> Vec<f32> {
        let mut ink = vec![0.0f32; width * height];
        for y in 0..height {
            let x = (width as f32 / 2.0 + lean * (height as f32 / 2.0 - y as f32)).round() as usize;
            ink[y * width + x] = 1.0;
        }
        ink
    }

    #[test]
    fn a_leaning_stroke_is_stood_upright() {
        let ink = leaning(40, 30, 0.5);
        assert!((slant(&ink, 40, 0.25) + 0.5).abs() < 0.02, "{}", slant(&ink, 40, 0.25));
        let (upright, w) = deskew(&ink, 40, 0.25);
        assert!(w > 40);
        assert!(slant(&upright, w, 0.25).abs() < 0.02, "{}", slant(&upright, w, 0.25));
        // No ink is lost or made.
        let (before, after): (f32, f32) = (ink.iter().sum(), upright.iter().sum());
        assert!((before - after).abs() < 1e-3, "{before} {after}");
    }

    #[test]
    fn an_upright_stroke_and_no_ink_are_left_alone() {
        let ink = leaning(20, 10, 0.0);
        assert_eq!(deskew(&ink, 20, 0.25), (ink.clone(), 20));
        assert_eq!(deskew(&[0.0; 30], 10, 0.25), (vec![0.0; 30], 10));
    }

    #[test]
    fn the_slant_is_limited_to_45_degrees() {
        // A wide flat line tilted 3 across per 1 down: deskewed by 1 only.
        let ink = leaning(100, 10, 3.0);
        let (out, w) = deskew(&ink, 100, 0.25);
        assert_eq!(w, 100 + 2 * 5);
        assert!(slant(&out, w, 0.25) < -1.5, "{}", slant(&out, w, 0.25));
    }
}
