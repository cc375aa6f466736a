//! Initialisers: how a parameter tensor is filled before training, as the
//! tutorials' libraries define them. `fan_in` and `fan_out` are the numbers
//! of inputs and outputs of the unit (for a Dense layer, its input and
//! output widths).

use rand::{Rng, RngExt};

/// The standard deviation of a standard normal truncated at ±2: Keras
/// divides by it so that the truncated draw keeps the intended deviation.
pub const TRUNCATED_STD: f32 = 0.879_625_7;

/// How to fill a parameter tensor before training.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// All zeros.
    Zeros,
    /// Every value the same (the CNN tutorial's biases of 0.1).
    Constant(f32),
    /// Normal with the given mean and standard deviation (TensorFlow's
    /// `random_normal`).
    Normal {
        /// Mean.
        mean: f32,
        /// Standard deviation.
        std: f32,
    },
    /// Normal with the given mean and deviation, values beyond two
    /// deviations from the mean redrawn (TensorFlow's `truncated_normal`; no
    /// rescaling, so the result's deviation is about 0.88 `std`).
    TruncatedNormal {
        /// Mean.
        mean: f32,
        /// Standard deviation before truncation.
        std: f32,
    },
    /// Uniform on `[low, high)`.
    Uniform {
        /// Lower bound.
        low: f32,
        /// Upper bound.
        high: f32,
    },
    /// Glorot / Xavier uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out)).
    XavierUniform,
    /// Glorot / Xavier normal as Keras draws it: truncated at two deviations,
    /// with deviation sqrt(2 / (fan_in + fan_out)) after truncation.
    XavierNormal,
    /// He normal as PyTorch's `kaiming_normal_`: N(0, 2 / fan_in).
    HeNormal,
    /// He normal as Keras' `he_normal`: truncated at two deviations, with
    /// deviation sqrt(2 / fan_in) after truncation (drawn with
    /// sqrt(2 / fan_in) / 0.87962566).
    HeTruncated,
    /// He uniform: U(-a, a), a = sqrt(6 / fan_in).
    HeUniform,
    /// LeCun normal as Keras draws it: truncated, deviation sqrt(1 / fan_in)
    /// after truncation.
    LeCunNormal,
}

impl Init {
    /// Fills `values` for a unit with `fan_in` inputs and `fan_out` outputs,
    /// drawing from `rng` in order.
    ///
    /// # Panics
    /// If a deviation is negative or not finite, or `low > high`.
    pub fn fill<R: Rng + ?Sized>(&self, values: &mut [f32], fan_in: usize, fan_out: usize, rng: &mut R) {
        let (fan_in, fan_sum) = (fan_in.max(1) as f32, (fan_in + fan_out).max(1) as f32);
        match *self {
            Init::Zeros => values.fill(0.0),
            Init::Constant(c) => values.fill(c),
            Init::Normal { mean, std } => normal(values, mean, std, rng),
            Init::TruncatedNormal { mean, std } => truncated(values, mean, std, rng),
            Init::Uniform { low, high } => uniform(values, low, high, rng),
            Init::XavierUniform => {
                let a = (6.0 / fan_sum).sqrt();
                uniform(values, -a, a, rng)
            }
            Init::XavierNormal => truncated(values, 0.0, (2.0 / fan_sum).sqrt() / TRUNCATED_STD, rng),
            Init::HeNormal => normal(values, 0.0, (2.0 / fan_in).sqrt(), rng),
            Init::HeTruncated => truncated(values, 0.0, (2.0 / fan_in).sqrt() / TRUNCATED_STD, rng),
            Init::HeUniform => {
                let a = (6.0 / fan_in).sqrt();
                uniform(values, -a, a, rng)
            }
            Init::LeCunNormal => truncated(values, 0.0, (1.0 / fan_in).sqrt() / TRUNCATED_STD, rng),
        }
    }
}

/// Standard normal draws by Marsaglia's polar method, two at a time, in
/// `f64` with our own logarithm (`kernels::math::ln_f64`) and IEEE square
/// roots: the same draws on every machine. (rand_distr's ziggurat calls
/// libm's `exp` and `ln`, whose last bits differ between C libraries.)
struct StandardNormal {
    spare: Option<f64>,
}

impl StandardNormal {
    fn new() -> Self {
        StandardNormal { spare: None }
    }

    fn sample<R: Rng + ?Sized>(&mut self, rng: &mut R) -> f32 {
        if let Some(z) = self.spare.take() {
            return z as f32;
        }
        loop {
            let u = 2.0 * rng.random::<f64>() - 1.0;
            let v = 2.0 * rng.random::<f64>() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                let f = (-2.0 * kernels::math::ln_f64(s) / s).sqrt();
                self.spare = Some(v * f);
                return (u * f) as f32;
            }
        }
    }
}

fn normal<R: Rng + ?Sized>(values: &mut [f32], mean: f32, std: f32, rng: &mut R) {
    assert!(std.is_finite() && std >= 0.0, "a finite, non-negative std");
    let mut dist = StandardNormal::new();
    values.iter_mut().for_each(|v| *v = mean + std * dist.sample(rng));
}

fn truncated<R: Rng + ?Sized>(values: &mut [f32], mean: f32, std: f32, rng: &mut R) {
    let mut dist = StandardNormal::new();
    assert!(std.is_finite() && std >= 0.0, "a finite, non-negative std");
    for v in values.iter_mut() {
        // Redraw until within two deviations: 95.4% of draws are kept.
        let z = loop {
            let z = dist.sample(rng);
            if z.abs() <= 2.0 {
                break z;
            }
        };
        *v = mean + std * z;
    }
}

fn uniform<R: Rng + ?Sized>(values: &mut [f32], low: f32, high: f32, rng: &mut R) {
    assert!(low <= high, "uniform needs low <= high");
    if low == high {
        return values.fill(low);
    }
    values.iter_mut().for_each(|v| *v = rng.random_range(low..high));
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn stats(init: Init, fan_in: usize, fan_out: usize) -> (f64, f64, f32, f32) {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(1);
        let mut v = vec![0.0f32; 200_000];
        init.fill(&mut v, fan_in, fan_out, &mut rng);
        let n = v.len() as f64;
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
        let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
        let (lo, hi) = v.iter().fold((f32::MAX, f32::MIN), |(l, h), &x| (l.min(x), h.max(x)));
        (mean, var.sqrt(), lo, hi)
    }

    /// Mean within 5 standard errors of the expected value, deviation within
    /// 2% (its standard error on 200,000 draws is about 0.16%).
    fn check(init: Init, fan_in: usize, fan_out: usize, mean: f64, std: f64, bound: Option<f32>) {
        let (m, s, lo, hi) = stats(init, fan_in, fan_out);
        assert!(
            (m - mean).abs() < 5.0 * std / (200_000f64).sqrt() + 1e-9,
            "{init:?}: mean {m}, want {mean}"
        );
        assert!((s - std).abs() < 0.02 * std + 1e-9, "{init:?}: std {s}, want {std}");
        if let Some(b) = bound {
            assert!(
                lo >= mean as f32 - b && hi <= mean as f32 + b,
                "{init:?}: [{lo}, {hi}] beyond ±{b}"
            );
            // The draws reach close to the bound: the bound is not loose.
            assert!(hi > mean as f32 + 0.95 * b, "{init:?}: max {hi} far below {b}");
        }
    }

    #[test]
    fn each_initialiser_has_its_mean_deviation_and_bounds() {
        let (fi, fo) = (784usize, 256usize);
        let trunc = TRUNCATED_STD as f64;
        check(Init::Normal { mean: 1.0, std: 2.0 }, fi, fo, 1.0, 2.0, None);
        check(
            Init::TruncatedNormal { mean: 0.5, std: 0.1 },
            fi,
            fo,
            0.5,
            0.1 * trunc,
            Some(0.2),
        );
        // U(a, b) has deviation (b - a) / sqrt(12).
        check(
            Init::Uniform { low: -1.0, high: 3.0 },
            fi,
            fo,
            1.0,
            4.0 / 12f64.sqrt(),
            Some(2.0),
        );
        let a = (6.0 / (fi + fo) as f64).sqrt();
        check(Init::XavierUniform, fi, fo, 0.0, a / 3f64.sqrt(), Some(a as f32));
        let s = (2.0 / (fi + fo) as f64).sqrt();
        check(
            Init::XavierNormal,
            fi,
            fo,
            0.0,
            s,
            Some((2.0 * s / trunc) as f32 * 1.0001),
        );
        let s = (2.0 / fi as f64).sqrt();
        check(Init::HeNormal, fi, fo, 0.0, s, None);
        check(
            Init::HeTruncated,
            fi,
            fo,
            0.0,
            s,
            Some((2.0 * s / trunc) as f32 * 1.0001),
        );
        let a = (6.0 / fi as f64).sqrt();
        check(Init::HeUniform, fi, fo, 0.0, a / 3f64.sqrt(), Some(a as f32));
        let s = (1.0 / fi as f64).sqrt();
        check(
            Init::LeCunNormal,
            fi,
            fo,
            0.0,
            s,
            Some((2.0 * s / trunc) as f32 * 1.0001),
        );
    }

    #[test]
    fn constants() {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(1);
        let mut v = [9.0f32; 4];
        Init::Zeros.fill(&mut v, 1, 1, &mut rng);
        assert_eq!(v, [0.0; 4]);
        Init::Constant(0.1).fill(&mut v, 1, 1, &mut rng);
        assert_eq!(v, [0.1; 4]);
    }
}
