//! Dropout (Srivastava et al. 2014): in training, each unit is kept with
//! probability `keep` and zeroed otherwise, a new random mask every batch.
//!
//! Shapes: any; the output has the input's shape.
//!
//! - Inverted (TensorFlow's `tf.nn.dropout`, Keras, PyTorch): kept units are
//!   scaled by `1 / keep` in training, and evaluation is the identity.
//! - Scaled at test time (the original paper, the NumPy course): kept units
//!   pass unscaled in training, and evaluation multiplies by `keep`.
//!
//! Both give the same expected activation. Backward multiplies by the same
//! mask (and scale) as forward.

use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use tensor::Tensor;

use crate::{Layer, Mode};

/// Where dropout puts its scaling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DropoutKind {
    /// Scale kept units by `1 / keep` in training; identity at test time.
    #[default]
    Inverted,
    /// Keep units unscaled in training; multiply by `keep` at test time.
    ScaledAtTest,
}

/// The dropout layer.
#[derive(Clone, Debug)]
pub struct Dropout {
    keep: f32,
    kind: DropoutKind,
    rng: Xoshiro256PlusPlus,
    /// The multiplier of each unit in the last training pass: 0 or the scale.
    mask: Vec<f32>,
    /// A fixed mask set for gradient checks, used instead of drawing one.
    fixed: bool,
}

impl Dropout {
    /// Dropout keeping each unit with probability `keep` (in `(0, 1]`),
    /// drawing its masks from a generator seeded with `seed`.
    ///
    /// # Panics
    /// If `keep` is not in `(0, 1]`.
    pub fn new(keep: f32, kind: DropoutKind, seed: u64) -> Self {
        assert!(
            keep > 0.0 && keep <= 1.0,
            "dropout keeps a fraction in (0, 1], got {keep}"
        );
        Self {
            keep,
            kind,
            rng: Xoshiro256PlusPlus::seed_from_u64(seed),
            mask: Vec::new(),
            fixed: false,
        }
    }

    /// The probability of keeping a unit.
    pub fn keep(&self) -> f32 {
        self.keep
    }

    /// Uses `keep_units` (true = kept) as the mask of every following
    /// training pass instead of random draws: for gradient checks, which
    /// need the same mask in every forward pass.
    pub fn fix_mask(&mut self, keep_units: &[bool]) {
        let scale = self.train_scale();
        self.mask = keep_units.iter().map(|&k| if k { scale } else { 0.0 }).collect();
        self.fixed = true;
    }

    fn train_scale(&self) -> f32 {
        match self.kind {
            DropoutKind::Inverted => 1.0 / self.keep,
            DropoutKind::ScaledAtTest => 1.0,
        }
    }
}

impl Layer for Dropout {
    fn kind(&self) -> &'static str {
        "Dropout"
    }

    fn output_shape(&self, input: &[usize]) -> Result<Vec<usize>, String> {
        Ok(input.to_vec())
    }

    fn forward(&mut self, input: &Tensor, output: &mut Tensor, mode: Mode) {
        output.set_dims(input.shape().dims());
        match mode {
            Mode::Train => {
                if !self.fixed {
                    let (keep, scale) = (self.keep, self.train_scale());
                    self.mask.resize(input.len(), 0.0);
                    for m in self.mask.iter_mut() {
                        // A uniform in [0, 1) below keep: kept.
                        *m = if self.rng.random::<f32>() < keep { scale } else { 0.0 };
                    }
                }
                assert_eq!(self.mask.len(), input.len(), "the fixed mask must match the input");
                for ((y, &x), &m) in output.data_mut().iter_mut().zip(input.data()).zip(&self.mask) {
                    *y = x * m;
                }
            }
            Mode::Eval => {
                let scale = match self.kind {
                    DropoutKind::Inverted => 1.0,
                    DropoutKind::ScaledAtTest => self.keep,
                };
                for (y, &x) in output.data_mut().iter_mut().zip(input.data()) {
                    *y = x * scale;
                }
            }
        }
    }

    fn backward(&mut self, _input: &Tensor, output: &Tensor, grad_output: &Tensor, grad_input: Option<&mut Tensor>) {
        if let Some(dx) = grad_input {
            dx.set_dims(output.shape().dims());
            for ((d, &dy), &m) in dx.data_mut().iter_mut().zip(grad_output.data()).zip(&self.mask) {
                *d = dy * m;
            }
        }
    }

    fn visit_rng(&mut self, f: &mut dyn FnMut(&mut Xoshiro256PlusPlus)) {
        f(&mut self.rng);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tensor::Shape;

    #[test]
    fn keeps_about_keep_and_preserves_the_mean() {
        for kind in [DropoutKind::Inverted, DropoutKind::ScaledAtTest] {
            let mut d = Dropout::new(0.7, kind, 3);
            let x = Tensor::full(Shape::new(&[100, 1000]), 1.0);
            let mut train = Tensor::default();
            let mut eval = Tensor::default();
            d.forward(&x, &mut train, Mode::Train);
            d.forward(&x, &mut eval, Mode::Eval);
            let kept = train.data().iter().filter(|&&v| v != 0.0).count() as f64 / x.len() as f64;
            // 100,000 Bernoulli(0.7): standard error 0.0014.
            assert!((kept - 0.7).abs() < 0.007, "{kind:?}: kept {kept}");
            let mean_train = train.data().iter().map(|&v| v as f64).sum::<f64>() / x.len() as f64;
            let mean_eval = eval.data().iter().map(|&v| v as f64).sum::<f64>() / x.len() as f64;
            assert!(
                (mean_train - mean_eval).abs() < 0.01,
                "{kind:?}: {mean_train} vs {mean_eval}"
            );
        }
    }

    #[test]
    fn same_seed_same_masks_and_new_mask_each_batch() {
        let x = Tensor::full(Shape::new(&[4, 50]), 1.0);
        let (mut a, mut b) = (
            Dropout::new(0.5, DropoutKind::Inverted, 9),
            Dropout::new(0.5, DropoutKind::Inverted, 9),
        );
        let (mut ya, mut yb, mut ya2) = (Tensor::default(), Tensor::default(), Tensor::default());
        a.forward(&x, &mut ya, Mode::Train);
        b.forward(&x, &mut yb, Mode::Train);
        a.forward(&x, &mut ya2, Mode::Train);
        assert_eq!(ya, yb);
        assert_ne!(ya, ya2);
    }
}
