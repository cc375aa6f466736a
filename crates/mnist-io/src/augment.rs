//! Data augmentation: random transforms of 28 x 28 images, applied per
//! batch on the fly, to pixels already scaled to 0..1.
//!
//! - Affine: rotation, translation, scale and shear about the image centre,
//!   sampled back from the source with bilinear interpolation (pixels from
//!   outside the image are background, 0).
//! - Elastic distortion (Simard, Steinkraus & Platt 2003): a random
//!   displacement field, uniform in [-1, 1] per pixel, smoothed by a Gaussian
//!   of deviation `sigma` and scaled by `alpha`.
//! - Stroke thickness: a grey-level dilation (thicker) or erosion (thinner)
//!   by the 3x3 cross, blended in by a random share, as pens and the
//!   scaling of a photo make strokes thicker or thinner than MNIST's.
//! - Blur: a Gaussian of random deviation, as an unfocused photo.
//! - Brightness and contrast: `(p - 0.5) c + 0.5 + b`, clamped to 0..1.
//! - Noise: every pixel moved by a uniform amount, clamped to 0..1, as a
//!   camera's sensor does.
//! - Inversion: `1 - p`, with a probability.
//! - Horizontal flip, with a probability. It exists for completeness but
//!   hurts digits: they are not mirror-symmetric, so a flipped 2, 3, 4, 7 or
//!   9 is not a 2, 3, 4, 7 or 9 any more, and training on it teaches the
//!   network shapes that never occur.
//!
//! Every image gets its own generator, seeded from the batch seed and its
//! position, so a batch is the same for a given seed however many threads
//! transform it.

use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

use crate::files::{IMAGE_PIXELS, IMAGE_SIDE};

/// Elastic distortion's strength and smoothness.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Elastic {
    /// Scale of the displacements, in pixels (Simard et al.: 34).
    pub alpha: f32,
    /// Deviation of the Gaussian smoothing the field, in pixels (Simard et al.: 4).
    pub sigma: f32,
}

/// The ranges random transforms are drawn from. The default is the identity.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Augment {
    /// Rotation, uniform in ± this many degrees.
    pub rotate_degrees: f32,
    /// Translation, uniform in ± this many pixels along each axis.
    pub shift_pixels: f32,
    /// Scale, uniform in 1 ± this.
    pub scale: f32,
    /// Horizontal shear, uniform in ± this many degrees.
    pub shear_degrees: f32,
    /// Elastic distortion, if any.
    pub elastic: Option<Elastic>,
    /// Brightness offset, uniform in ± this.
    pub brightness: f32,
    /// Contrast factor, uniform in 1 ± this.
    pub contrast: f32,
    /// Probability of inverting an image.
    pub invert: f32,
    /// Probability of flipping an image left to right (see the module docs).
    pub flip: f32,
    /// Probability of changing the strokes' thickness: dilated or eroded,
    /// each half the time, by a share uniform in 0..1.
    pub thickness: f32,
    /// Blur: a Gaussian of deviation uniform in 0..this many pixels.
    pub blur: f32,
    /// Noise: per pixel, uniform in ± this times a per-image share uniform
    /// in 0..1.
    pub noise: f32,
}

impl Augment {
    /// True when every transform is off.
    pub fn is_identity(&self) -> bool {
        *self == Augment::default()
    }

    /// Transforms each 784-pixel image of `pixels` in place, drawing its
    /// transform from `seed` and its position in the batch.
    ///
    /// # Panics
    /// If `pixels` is not a whole number of images.
    pub fn apply(&self, pixels: &mut [f32], seed: u64) {
        assert_eq!(pixels.len() % IMAGE_PIXELS, 0, "a whole number of 28x28 images");
        if self.is_identity() {
            return;
        }
        pixels.par_chunks_mut(IMAGE_PIXELS).enumerate().for_each_init(
            || vec![0.0f32; 3 * IMAGE_PIXELS],
            |scratch, (i, image)| {
                let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
                self.apply_one(image, scratch, &mut rng);
            },
        );
    }

    fn apply_one(&self, image: &mut [f32], scratch: &mut [f32], rng: &mut Xoshiro256PlusPlus) {
        let mut sym = |range: f32| {
            if range > 0.0 {
                rng.random_range(-range..=range)
            } else {
                0.0
            }
        };
        let (angle, shear) = (
            sym(self.rotate_degrees).to_radians(),
            sym(self.shear_degrees).to_radians(),
        );
        let (scale, dx, dy) = (1.0 + sym(self.scale), sym(self.shift_pixels), sym(self.shift_pixels));
        let (brightness, contrast) = (sym(self.brightness), 1.0 + sym(self.contrast));
        let (source, rest) = scratch.split_at_mut(IMAGE_PIXELS);
        let (field_x, field_y) = rest.split_at_mut(IMAGE_PIXELS);
        source.copy_from_slice(image);

        // Where each output pixel samples the source: the inverse of
        // x' = S(scale) Sh(shear) R(angle) (x - c) + c + t.
        // Our own sin, cos and tan, not libm's: the same bits on every machine.
        let (sin, cos) = kernels::math::sin_cos(angle as f64);
        let (sin, cos) = (sin as f32, cos as f32);
        let tan = kernels::math::tan(shear as f64) as f32;
        // Forward matrix M = scale * [[1, tan], [0, 1]] * [[cos, -sin], [sin, cos]].
        let m = [
            scale * (cos + tan * sin),
            scale * (-sin + tan * cos),
            scale * sin,
            scale * cos,
        ];
        let det = m[0] * m[3] - m[1] * m[2];
        let inv = [m[3] / det, -m[1] / det, -m[2] / det, m[0] / det];
        let affine = angle != 0.0 || shear != 0.0 || scale != 1.0 || dx != 0.0 || dy != 0.0;

        let elastic = self.elastic.map(|e| {
            for f in field_x.iter_mut().chain(field_y.iter_mut()) {
                *f = rng.random_range(-1.0f32..=1.0);
            }
            smooth(field_x, e.sigma);
            smooth(field_y, e.sigma);
            e.alpha
        });

        if affine || elastic.is_some() {
            let c = (IMAGE_SIDE as f32 - 1.0) / 2.0;
            for y in 0..IMAGE_SIDE {
                for x in 0..IMAGE_SIDE {
                    let (mut ux, mut uy) = (x as f32 - c - dx, y as f32 - c - dy);
                    (ux, uy) = (inv[0] * ux + inv[1] * uy + c, inv[2] * ux + inv[3] * uy + c);
                    if let Some(alpha) = elastic {
                        ux += alpha * field_x[y * IMAGE_SIDE + x];
                        uy += alpha * field_y[y * IMAGE_SIDE + x];
                    }
                    image[y * IMAGE_SIDE + x] = bilinear(source, ux, uy);
                }
            }
        }
        if self.thickness > 0.0 && rng.random::<f32>() < self.thickness {
            let (dilate, share) = (rng.random::<bool>(), rng.random::<f32>());
            source.copy_from_slice(image);
            thicken(source, image, dilate, share);
        }
        if self.blur > 0.0 {
            let sigma = rng.random_range(0.0..=self.blur);
            smooth(image, sigma);
        }
        if brightness != 0.0 || contrast != 1.0 {
            image
                .iter_mut()
                .for_each(|p| *p = ((*p - 0.5) * contrast + 0.5 + brightness).clamp(0.0, 1.0));
        }
        if self.noise > 0.0 {
            let amount = self.noise * rng.random::<f32>();
            for p in image.iter_mut() {
                *p = (*p + amount * rng.random_range(-1.0f32..=1.0)).clamp(0.0, 1.0);
            }
        }
        if self.invert > 0.0 && rng.random::<f32>() < self.invert {
            image.iter_mut().for_each(|p| *p = 1.0 - *p);
        }
        if self.flip > 0.0 && rng.random::<f32>() < self.flip {
            image.chunks_exact_mut(IMAGE_SIDE).for_each(|row| row.reverse());
        }
    }
}

/// The source at (x, y), interpolated between its four neighbours; 0
/// outside the image.
fn bilinear(src: &[f32], x: f32, y: f32) -> f32 {
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let at = |xi: f32, yi: f32| -> f32 {
        if xi < 0.0 || yi < 0.0 || xi >= IMAGE_SIDE as f32 || yi >= IMAGE_SIDE as f32 {
            0.0
        } else {
            src[yi as usize * IMAGE_SIDE + xi as usize]
        }
    };
    let top = at(x0, y0) * (1.0 - fx) + at(x0 + 1.0, y0) * fx;
    let bottom = at(x0, y0 + 1.0) * (1.0 - fx) + at(x0 + 1.0, y0 + 1.0) * fx;
    (top * (1.0 - fy) + bottom * fy).clamp(0.0, 1.0)
}

/// `dst = src + share (morph(src) - src)`, where morph is the maximum
/// (dilation) or minimum (erosion) over each pixel and its four neighbours,
/// pixels outside the image being background (0).
fn thicken(src: &[f32], dst: &mut [f32], dilate: bool, share: f32) {
    let n = IMAGE_SIDE;
    for y in 0..n {
        for x in 0..n {
            let at = |xi: usize, yi: usize| src[yi * n + xi];
            let centre = at(x, y);
            let neighbours = [
                if x > 0 { at(x - 1, y) } else { 0.0 },
                if x + 1 < n { at(x + 1, y) } else { 0.0 },
                if y > 0 { at(x, y - 1) } else { 0.0 },
                if y + 1 < n { at(x, y + 1) } else { 0.0 },
            ];
            let morph = neighbours
                .into_iter()
                .fold(centre, |acc, v| if dilate { acc.max(v) } else { acc.min(v) });
            dst[y * n + x] = centre + share * (morph - centre);
        }
    }
}

/// Gaussian smoothing of a 28 x 28 field in place (separable, edges
/// clamped), as Simard et al. smooth their displacement fields.
fn smooth(field: &mut [f32], sigma: f32) {
    if sigma <= 0.0 {
        return;
    }
    let radius = (3.0 * sigma).ceil() as isize;
    let kernel: Vec<f32> = (-radius..=radius)
        .map(|i| kernels::math::exp(-(i * i) as f32 / (2.0 * sigma * sigma)))
        .collect();
    let total: f32 = kernel.iter().sum();
    let n = IMAGE_SIDE as isize;
    // One pass along rows (dx = 1) or columns (dx = 0), src to dst.
    let pass = |src: &[f32], dst: &mut [f32], along_rows: bool| {
        for y in 0..n {
            for x in 0..n {
                let mut acc = 0.0;
                for (k, w) in kernel.iter().enumerate() {
                    let o = k as isize - radius;
                    let (sx, sy) = if along_rows {
                        ((x + o).clamp(0, n - 1), y)
                    } else {
                        (x, (y + o).clamp(0, n - 1))
                    };
                    acc += w * src[(sy * n + sx) as usize];
                }
                dst[(y * n + x) as usize] = acc / total;
            }
        }
    };
    let mut tmp = [0.0f32; IMAGE_PIXELS];
    pass(field, &mut tmp, true);
    pass(&tmp, field, false);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digit() -> Vec<f32> {
        // A bar and a blob, asymmetric so that flips and rotations show.
        let mut img = vec![0.0f32; IMAGE_PIXELS];
        for y in 6..22 {
            img[y * IMAGE_SIDE + 9] = 1.0;
            img[y * IMAGE_SIDE + 10] = 0.8;
        }
        for x in 10..20 {
            img[6 * IMAGE_SIDE + x] = 0.6;
        }
        img
    }

    fn everything() -> Augment {
        Augment {
            rotate_degrees: 15.0,
            shift_pixels: 2.0,
            scale: 0.1,
            shear_degrees: 10.0,
            elastic: Some(Elastic {
                alpha: 34.0,
                sigma: 4.0,
            }),
            brightness: 0.1,
            contrast: 0.2,
            invert: 0.5,
            flip: 0.5,
            thickness: 0.5,
            blur: 1.0,
            noise: 0.1,
        }
    }

    #[test]
    fn zero_transform_is_the_identity() {
        let mut batch: Vec<f32> = (0..3).flat_map(|_| digit()).collect();
        let before = batch.clone();
        Augment::default().apply(&mut batch, 5);
        assert_eq!(batch, before);
        // An explicitly zero affine transform through the sampling path too.
        let tiny = Augment {
            contrast: 0.0,
            ..Augment::default()
        };
        tiny.apply(&mut batch, 5);
        assert_eq!(batch, before);
    }

    #[test]
    fn keeps_shape_and_range_and_changes_the_image() {
        let mut batch: Vec<f32> = (0..16).flat_map(|_| digit()).collect();
        everything().apply(&mut batch, 11);
        assert_eq!(batch.len(), 16 * IMAGE_PIXELS);
        assert!(batch.iter().all(|p| (0.0..=1.0).contains(p)));
        let d = digit();
        assert!(batch.chunks(IMAGE_PIXELS).all(|img| img != &d[..]));
    }

    /// Each transform alone keeps the shape and the 0..1 range, and changes
    /// the image.
    #[test]
    fn each_transform_alone_keeps_shape_and_range() {
        let off = Augment::default();
        let singles = [
            Augment {
                rotate_degrees: 20.0,
                ..off
            },
            Augment {
                shift_pixels: 3.0,
                ..off
            },
            Augment { scale: 0.2, ..off },
            Augment {
                shear_degrees: 15.0,
                ..off
            },
            Augment {
                elastic: Some(Elastic {
                    alpha: 34.0,
                    sigma: 4.0,
                }),
                ..off
            },
            Augment { brightness: 0.3, ..off },
            Augment { contrast: 0.5, ..off },
            Augment { invert: 1.0, ..off },
            Augment { flip: 1.0, ..off },
            Augment { thickness: 1.0, ..off },
            Augment { blur: 1.5, ..off },
            Augment { noise: 0.2, ..off },
        ];
        for aug in singles {
            let mut batch: Vec<f32> = (0..4).flat_map(|_| digit()).collect();
            aug.apply(&mut batch, 21);
            assert_eq!(batch.len(), 4 * IMAGE_PIXELS, "{aug:?}");
            assert!(batch.iter().all(|p| (0.0..=1.0).contains(p)), "{aug:?}");
            assert!(
                batch.chunks(IMAGE_PIXELS).any(|img| img != &digit()[..]),
                "{aug:?} changed nothing"
            );
        }
    }

    #[test]
    fn same_seed_same_batch_whatever_the_threads() {
        let base: Vec<f32> = (0..8).flat_map(|_| digit()).collect();
        let run = |threads: usize, seed: u64| {
            let mut b = base.clone();
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| everything().apply(&mut b, seed));
            b
        };
        assert_eq!(run(1, 3), run(4, 3));
        assert_ne!(run(1, 3), run(1, 4));
    }

    /// Dilation thickens the strokes, erosion thins them, and a share of 0
    /// changes nothing; blur keeps the ink but spreads it.
    #[test]
    fn thickness_and_blur_do_what_they_say() {
        let d = digit();
        let ink = |im: &[f32]| im.iter().sum::<f32>();
        let mut out = vec![0.0; IMAGE_PIXELS];
        thicken(&d, &mut out, true, 1.0);
        assert!(ink(&out) > 1.5 * ink(&d));
        thicken(&d, &mut out, false, 1.0);
        assert!(ink(&out) < 0.5 * ink(&d));
        thicken(&d, &mut out, true, 0.0);
        assert_eq!(out, d);
        let mut blurred = d.clone();
        smooth(&mut blurred, 1.0);
        assert!((ink(&blurred) - ink(&d)).abs() < 0.05 * ink(&d));
        let lit = |im: &[f32]| im.iter().filter(|&&p| p > 0.01).count();
        assert!(lit(&blurred) > 2 * lit(&d));
    }

    #[test]
    fn a_shift_moves_the_ink() {
        let aug = Augment {
            shift_pixels: 3.0,
            ..Augment::default()
        };
        let mut img = digit();
        aug.apply(&mut img, 1);
        let centre_x = |im: &[f32]| {
            let total: f32 = im.iter().sum();
            im.iter()
                .enumerate()
                .map(|(i, &p)| (i % IMAGE_SIDE) as f32 * p)
                .sum::<f32>()
                / total
        };
        let moved = (centre_x(&img) - centre_x(&digit())).abs();
        assert!(moved > 0.01 && moved <= 3.5, "moved {moved}");
    }
}
