//! Adam (Kingma & Ba, 2015).
//!
//! With gradient `g` at step `t` (from 1):
//!
//! ```text
//! m <- beta1 m + (1 - beta1) g
//! v <- beta2 v + (1 - beta2) g²
//! ```
//!
//! then, as TensorFlow (and the NumPy course) compute it, with the bias
//! correction folded into the step size and epsilon added to `sqrt(v)`:
//!
//! ```text
//! lr_t = lr sqrt(1 - beta2^t) / (1 - beta1^t)
//! w <- w - lr_t m / (sqrt(v) + epsilon)
//! ```
//!
//! or, as the paper's Algorithm 1 writes it, with corrected moments:
//!
//! ```text
//! w <- w - lr m̂ / (sqrt(v̂) + epsilon),   m̂ = m / (1 - beta1^t),  v̂ = v / (1 - beta2^t)
//! ```
//!
//! The two differ only in where epsilon sits: TensorFlow's epsilon is the
//! paper's epsilon times `sqrt(1 - beta2^t)`.
//!
//! AdamW (`weight_decay > 0`) first shrinks every weight, `w <- w - lr λ w`,
//! then takes the Adam step: the decay does not pass through the moments.

use crate::Optimizer;

/// Where the bias correction is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum BiasCorrection {
    /// In the step size, epsilon added to `sqrt(v)` (TensorFlow, the course).
    #[default]
    StepSize,
    /// On the moments, as the paper's Algorithm 1.
    Moments,
}

/// Adam's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    /// Learning rate.
    pub lr: f32,
    /// Decay of the first moment.
    pub beta1: f32,
    /// Decay of the second moment.
    pub beta2: f32,
    /// Added to the root of the second moment.
    pub epsilon: f32,
    /// Where the bias correction goes.
    pub correction: BiasCorrection,
    /// Decoupled weight decay (AdamW, Loshchilov & Hutter 2019): before each
    /// step, `w <- w - lr * weight_decay * w`. 0 for plain Adam.
    pub weight_decay: f32,
}

impl AdamConfig {
    /// TensorFlow's defaults (beta1 0.9, beta2 0.999, epsilon 1e-8) with the
    /// given learning rate.
    pub fn tensorflow(lr: f32) -> Self {
        Self {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            correction: BiasCorrection::StepSize,
            weight_decay: 0.0,
        }
    }

    /// AdamW: TensorFlow's defaults with decoupled weight decay.
    pub fn adamw(lr: f32, weight_decay: f32) -> Self {
        Self {
            weight_decay,
            ..Self::tensorflow(lr)
        }
    }
}

/// The Adam optimiser: one pair of moment buffers per parameter slot.
#[derive(Clone, Debug)]
pub struct Adam {
    config: AdamConfig,
    step: i32,
    moments: Vec<(Vec<f32>, Vec<f32>)>,
}

impl Adam {
    /// Adam with `config`.
    pub fn new(config: AdamConfig) -> Self {
        Self {
            config,
            step: 0,
            moments: Vec::new(),
        }
    }

    /// Steps taken so far.
    pub fn steps(&self) -> i32 {
        self.step
    }
}

impl Optimizer for Adam {
    fn begin_step(&mut self) {
        self.step += 1;
    }

    fn save_state(&self) -> crate::NamedState {
        // The step count as a float is exact up to 2^24 steps.
        let mut out = vec![("adam.step".to_string(), vec![self.step as f32])];
        for (slot, (m, v)) in self.moments.iter().enumerate() {
            out.push((format!("adam.{slot}.m"), m.clone()));
            out.push((format!("adam.{slot}.v"), v.clone()));
        }
        out
    }

    fn load_state(&mut self, state: &crate::NamedState) -> Result<(), String> {
        let mut step = None;
        let mut moments: Vec<(Vec<f32>, Vec<f32>)> = Vec::new();
        for (name, values) in state {
            if name == "adam.step" {
                step = values.first().map(|&s| s as i32);
                continue;
            }
            let parsed = name
                .strip_prefix("adam.")
                .and_then(|rest| rest.split_once('.'))
                .and_then(|(slot, which)| Some((slot.parse::<usize>().ok()?, which)));
            match parsed {
                Some((slot, which @ ("m" | "v"))) => {
                    if moments.len() <= slot {
                        moments.resize_with(slot + 1, Default::default);
                    }
                    let target = if which == "m" {
                        &mut moments[slot].0
                    } else {
                        &mut moments[slot].1
                    };
                    *target = values.clone();
                }
                _ => {
                    return Err(format!(
                        "{name:?} is not state of Adam (adam.step, adam.SLOT.m, adam.SLOT.v)"
                    ));
                }
            }
        }
        self.step = step.ok_or("Adam's state lacks adam.step")?;
        self.moments = moments;
        Ok(())
    }

    fn update(&mut self, slot: usize, value: &mut [f32], grad: &[f32]) {
        assert_eq!(value.len(), grad.len(), "parameter and gradient lengths differ");
        assert!(self.step > 0, "begin_step must come before update");
        if self.moments.len() <= slot {
            self.moments.resize_with(slot + 1, Default::default);
        }
        let (m, v) = &mut self.moments[slot];
        if m.len() != value.len() {
            *m = vec![0.0; value.len()];
            *v = vec![0.0; value.len()];
        }
        let AdamConfig {
            lr,
            beta1,
            beta2,
            epsilon,
            correction,
            weight_decay,
        } = self.config;
        if weight_decay != 0.0 {
            let shrink = 1.0 - lr * weight_decay;
            value.iter_mut().for_each(|w| *w *= shrink);
        }
        // Bias corrections in f64: beta^t for large t underflows gracefully.
        let c1 = 1.0 - crate::pow::powi(beta1 as f64, self.step);
        let c2 = 1.0 - crate::pow::powi(beta2 as f64, self.step);
        let (step_size, eps) = match correction {
            BiasCorrection::StepSize => ((lr as f64 * c2.sqrt() / c1) as f32, epsilon),
            // lr m̂ / (sqrt(v̂) + eps) = (lr sqrt(c2) / c1) m / (sqrt(v) + eps sqrt(c2))
            BiasCorrection::Moments => ((lr as f64 * c2.sqrt() / c1) as f32, (epsilon as f64 * c2.sqrt()) as f32),
        };
        crate::parallel::for_each_chunk4(value, grad, m, v, |w, g, m, v| {
            update_chunk(w, g, m, v, beta1, beta2, step_size, eps)
        });
    }

    fn learning_rate(&self) -> f32 {
        self.config.lr
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.config.lr = lr;
    }
}

kernels::wide_fn! {
    /// One chunk of Adam's update, element by element, compiled for AVX2
    /// where the kernel in use has it.
    fn update_chunk(
        value: &mut [f32],
        grad: &[f32],
        m: &mut [f32],
        v: &mut [f32],
        beta1: f32,
        beta2: f32,
        step_size: f32,
        eps: f32,
    ) {
        for (((w, &g), m), v) in value.iter_mut().zip(grad).zip(m.iter_mut()).zip(v.iter_mut()) {
            *m = beta1 * *m + (1.0 - beta1) * g;
            *v = beta2 * *v + (1.0 - beta2) * g * g;
            *w -= step_size * *m / (v.sqrt() + eps);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two steps from w = 1 with gradients 0.5 then -1, lr 0.1, computed by
    /// hand (in f64) from the rules in the module docs:
    /// step 1: m = 0.05, v = 0.00025, lr_1 = 0.1 sqrt(0.001) / 0.1,
    ///         w = 1 - lr_1 * 0.05 / (sqrt(0.00025) + 1e-8) = 0.90000006324551
    /// step 2: m = -0.055, v = 0.00124975, lr_2 = 0.1 sqrt(0.001999) / 0.19,
    ///         w = 0.93661040559309
    /// and with the paper's placement of epsilon: 0.900000002, 0.93661035424057.
    ///
    /// With epsilon = 0.1 the two placements part clearly:
    /// TensorFlow's gives 0.98634729405042, 0.99590935349315 (epsilon is
    /// large next to sqrt(v) = 0.0158), the paper's 0.91666666666667,
    /// 0.94916667426485 (next to sqrt(v̂) = 0.5).
    #[test]
    fn two_steps_by_hand() {
        for (correction, epsilon, want) in [
            (
                BiasCorrection::StepSize,
                1e-8,
                [0.900_000_063_245_513_2, 0.936_610_405_593_093_3],
            ),
            (BiasCorrection::Moments, 1e-8, [0.900_000_002, 0.936_610_354_240_565_4]),
            (
                BiasCorrection::StepSize,
                0.1,
                [0.986_347_294_050_418_5, 0.995_909_353_493_153_8],
            ),
            (
                BiasCorrection::Moments,
                0.1,
                [0.916_666_666_666_666_6, 0.949_166_674_264_845_2],
            ),
        ] {
            let mut adam = Adam::new(AdamConfig {
                correction,
                epsilon,
                ..AdamConfig::tensorflow(0.1)
            });
            let mut w = [1.0f32];
            for (g, want) in [0.5f32, -1.0].into_iter().zip(want) {
                adam.begin_step();
                adam.update(0, &mut w, &[g]);
                assert!((w[0] as f64 - want).abs() < 1e-6, "{correction:?}: {} vs {want}", w[0]);
            }
        }
    }
}
