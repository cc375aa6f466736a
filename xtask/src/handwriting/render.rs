//! A digit's strokes made into a photo-like picture: the hand's variation
//! (slant, rotation, proportions, a wobble along every stroke, pen width)
//! and the camera's (size and place on the sheet, paper shade, uneven
//! light, grid lines, ink shade, blur, noise). The ranges are chosen to
//! look like phone photos and mouse drawings of digits, not tuned against
//! any model.

use image::{GrayImage, Luma};
use rand::RngExt;
use rand_xoshiro::Xoshiro256PlusPlus;

use super::skeleton::{Point, strokes};

/// One picture of `digit`.
pub fn picture(digit: u8, rng: &mut Xoshiro256PlusPlus) -> GrayImage {
    let width = rng.random_range(64..=160u32);
    let height = rng.random_range(64..=160u32);
    // The digit's height on the sheet, and its place (off centre at times,
    // never cut by the border).
    let size = height.min(width) as f32 * rng.random_range(0.45..0.8f32);
    let slant = rng.random_range(-0.35..0.25f32);
    let rotation = rng.random_range(-12.0..12.0f32).to_radians();
    let aspect = rng.random_range(0.65..1.15f32);
    let pen = size * rng.random_range(0.05..0.14f32);
    let margin = size * 0.6 + pen;
    let cx = rng.random_range(margin.min(width as f32 / 2.0)..=(width as f32 - margin).max(width as f32 / 2.0));
    let cy = rng.random_range(margin.min(height as f32 / 2.0)..=(height as f32 - margin).max(height as f32 / 2.0));
    let (sin, cos) = rotation.sin_cos();
    let wobble = size * rng.random_range(0.0..0.04f32);

    let mut ink = vec![0.0f32; (width * height) as usize];
    for stroke in strokes(digit, rng) {
        let phase: [f32; 4] = std::array::from_fn(|_| rng.random_range(0.0..std::f32::consts::TAU));
        let points: Vec<Point> = stroke
            .iter()
            .enumerate()
            .map(|(i, &(x, y))| {
                // Centred, slanted (the top leans right for a positive
                // slant), narrowed, rotated, scaled, then a slow wobble.
                let (x, y) = ((x - 0.5) * aspect, y - 0.5);
                let x = x - slant * y;
                let (x, y) = (x * cos - y * sin, x * sin + y * cos);
                let t = i as f32 * 0.35;
                (
                    cx + x * size + wobble * (t + phase[0]).sin() + 0.5 * wobble * (2.3 * t + phase[1]).sin(),
                    cy + y * size + wobble * (t + phase[2]).sin() + 0.5 * wobble * (1.7 * t + phase[3]).sin(),
                )
            })
            .collect();
        let half = 0.5 * pen * rng.random_range(0.85..1.15f32);
        for pair in points.windows(2) {
            draw_segment(&mut ink, width, height, pair[0], pair[1], half);
        }
    }

    // The sheet: a paper shade with light falling off across it, grid lines
    // at times, ink of some darkness; now and then light ink on a dark board.
    let paper = rng.random_range(0.7..1.0f32);
    let ink_shade = rng.random_range(0.0..0.35f32);
    let light = rng.random_range(0.0..0.3f32);
    let light_angle = rng.random_range(0.0..std::f32::consts::TAU);
    let (lx, ly) = (light_angle.cos(), light_angle.sin());
    let grid = if rng.random::<f32>() < 0.25 {
        Some(rng.random_range(14..=30u32))
    } else {
        None
    };
    let inverted = rng.random::<f32>() < 0.1;
    let mut shade: Vec<f32> = (0..width * height)
        .map(|i| {
            let (x, y) = (i % width, i / width);
            let (u, v) = (x as f32 / width as f32 - 0.5, y as f32 / height as f32 - 0.5);
            let mut ground = paper - light * (0.5 + u * lx + v * ly);
            if let Some(step) = grid
                && (x % step == 0 || y % step == 0)
            {
                ground -= 0.15;
            }
            let coverage = ink[i as usize];
            let value = ground * (1.0 - coverage) + ink_shade * coverage;
            if inverted { 1.0 - value } else { value }
        })
        .collect();
    let blur = rng.random_range(0.0..1.8f32);
    if blur > 0.3 {
        gaussian_blur(&mut shade, width as usize, height as usize, blur);
    }
    let noise = rng.random_range(0.0..0.05f32);
    GrayImage::from_fn(width, height, |x, y| {
        let v = shade[(y * width + x) as usize] + noise * normal(rng);
        Luma([(v.clamp(0.0, 1.0) * 255.0).round() as u8])
    })
}

/// Ink of a round pen of radius `half` along `a`-`b`, antialiased over a
/// pixel: each pixel keeps the most ink any segment gives it.
fn draw_segment(ink: &mut [f32], width: u32, height: u32, a: Point, b: Point, half: f32) {
    let (x0, x1) = (a.0.min(b.0) - half - 1.0, a.0.max(b.0) + half + 1.0);
    let (y0, y1) = (a.1.min(b.1) - half - 1.0, a.1.max(b.1) + half + 1.0);
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let length2 = (dx * dx + dy * dy).max(1e-6);
    for y in (y0.max(0.0) as u32)..(y1.min(height as f32 - 1.0).max(0.0) as u32 + 1) {
        for x in (x0.max(0.0) as u32)..(x1.min(width as f32 - 1.0).max(0.0) as u32 + 1) {
            let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
            let t = (((px - a.0) * dx + (py - a.1) * dy) / length2).clamp(0.0, 1.0);
            let (ex, ey) = (px - a.0 - t * dx, py - a.1 - t * dy);
            let coverage = (half - (ex * ex + ey * ey).sqrt() + 0.5).clamp(0.0, 1.0);
            let cell = &mut ink[(y * width + x) as usize];
            *cell = cell.max(coverage);
        }
    }
}

/// A separable Gaussian blur of deviation `sigma` pixels, edges clamped.
fn gaussian_blur(values: &mut [f32], width: usize, height: usize, sigma: f32) {
    let radius = (3.0 * sigma).ceil() as isize;
    let weights: Vec<f32> = (-radius..=radius)
        .map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let total: f32 = weights.iter().sum();
    let mut scratch = values.to_vec();
    for (pass, (len, lines)) in [(width, height), (height, width)].into_iter().enumerate() {
        let at = |line: usize, i: usize| if pass == 0 { line * width + i } else { i * width + line };
        for line in 0..lines {
            for i in 0..len {
                let mut sum = 0.0;
                for (k, w) in weights.iter().enumerate() {
                    let j = (i as isize + k as isize - radius).clamp(0, len as isize - 1) as usize;
                    sum += w * values[at(line, j)];
                }
                scratch[at(line, i)] = sum / total;
            }
        }
        values.copy_from_slice(&scratch);
    }
}

/// A standard normal draw (Box-Muller).
fn normal(rng: &mut Xoshiro256PlusPlus) -> f32 {
    let u = rng.random_range(f32::EPSILON..1.0f32);
    let v = rng.random::<f32>();
    (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
}

/// An MNIST digit drawn as a picture: dark ink on a white sheet, the 28x28
/// enlarged four times (bilinear) and placed off centre on a 160x140 sheet,
/// the place set by `index`, so that nothing of MNIST's own framing is left
/// for the preprocessing to find.
pub fn mnist_as_photo(pixels: &[u8], index: usize) -> image::DynamicImage {
    let side = mnist_io::IMAGE_SIDE as u32;
    let digit = image::GrayImage::from_fn(side, side, |x, y| image::Luma([255 - pixels[(y * side + x) as usize]]));
    let large = image::imageops::resize(&digit, 4 * side, 4 * side, image::imageops::FilterType::Triangle);
    let mut sheet = image::GrayImage::from_pixel(160, 140, image::Luma([255]));
    let (ox, oy) = ((index * 7 % 48) as i64, (index * 11 % 28) as i64);
    image::imageops::overlay(&mut sheet, &large, ox, oy);
    image::DynamicImage::ImageLuma8(sheet)
}
