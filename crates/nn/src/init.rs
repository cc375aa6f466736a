use rand::Rng;
use rand_distr::{Distribution, Normal};

/// How to fill a parameter tensor before training.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    /// All zeros.
    Zeros,
    /// Every value the same.
    Constant(f32),
    /// Normal with the given mean and standard deviation (TensorFlow's
    /// `random_normal`).
    Normal {
        /// Mean.
        mean: f32,
        /// Standard deviation.
        std: f32,
    },
}

impl Init {
    /// Fills `values`, drawing from `rng` in order.
    ///
    /// # Panics
    /// If a standard deviation is negative or not finite.
    pub fn fill<R: Rng + ?Sized>(&self, values: &mut [f32], rng: &mut R) {
        match *self {
            Init::Zeros => values.fill(0.0),
            Init::Constant(c) => values.fill(c),
            Init::Normal { mean, std } => {
                let dist = Normal::new(mean, std).expect("a finite, non-negative std");
                values.iter_mut().for_each(|v| *v = dist.sample(rng));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn normal_has_its_mean_and_std() {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(1);
        let mut v = vec![0.0f32; 200_000];
        Init::Normal { mean: 1.0, std: 2.0 }.fill(&mut v, &mut rng);
        let n = v.len() as f64;
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
        let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
        // Standard error of the mean is 2 / sqrt(2e5) = 0.0045; allow 5 of them.
        assert!((mean - 1.0).abs() < 0.023, "mean {mean}");
        assert!((var.sqrt() - 2.0).abs() < 0.02, "std {}", var.sqrt());
    }
}
