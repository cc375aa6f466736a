//! Learning-rate schedules: the rate as a function of the epoch (or step)
//! `t`, counted from 0. A training loop calls
//! [`Optimizer::set_learning_rate`](crate::Optimizer::set_learning_rate) with
//! [`Schedule::rate`] before each epoch.

/// A learning-rate schedule from a base rate `lr`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Schedule {
    /// `lr` throughout.
    Constant,
    /// `lr * gamma^floor(t / every)`: multiplied by `gamma` every `every` epochs.
    Step {
        /// Epochs between drops.
        every: usize,
        /// Factor of each drop.
        gamma: f32,
    },
    /// `lr * gamma^t`.
    Exponential {
        /// Factor per epoch.
        gamma: f32,
    },
    /// Cosine annealing from `lr` to `min` over `total` epochs:
    /// `min + (lr - min) (1 + cos(pi t / total)) / 2`, then `min`.
    Cosine {
        /// Epochs of the whole schedule.
        total: usize,
        /// The final rate.
        min: f32,
    },
    /// Linear warm-up from `lr / warmup` to `lr` over the first `warmup`
    /// epochs, then `lr`.
    Warmup {
        /// Epochs of warm-up.
        warmup: usize,
    },
}

impl Schedule {
    /// The learning rate at epoch `t` (from 0) for base rate `lr`.
    pub fn rate(&self, lr: f32, t: usize) -> f32 {
        match *self {
            Schedule::Constant => lr,
            Schedule::Step { every, gamma } => lr * crate::pow::powi(gamma, (t / every.max(1)) as i32),
            Schedule::Exponential { gamma } => lr * crate::pow::powi(gamma, t as i32),
            Schedule::Cosine { total, min } => {
                if t >= total {
                    min
                } else {
                    let progress = t as f32 / total.max(1) as f32;
                    // Our own cosine, not libm's, so the rate has the same bits everywhere.
                    let cos = kernels::math::sin_cos((std::f32::consts::PI * progress) as f64).1 as f32;
                    min + (lr - min) * 0.5 * (1.0 + cos)
                }
            }
            Schedule::Warmup { warmup } => {
                if t >= warmup {
                    lr
                } else {
                    lr * (t + 1) as f32 / warmup as f32
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_by_hand() {
        let close = |a: f32, b: f32| (a - b).abs() < 1e-7;
        assert_eq!(Schedule::Constant.rate(0.1, 7), 0.1);
        let step = Schedule::Step { every: 5, gamma: 0.5 };
        assert!(close(step.rate(0.1, 4), 0.1) && close(step.rate(0.1, 5), 0.05) && close(step.rate(0.1, 10), 0.025));
        assert!(close(Schedule::Exponential { gamma: 0.9 }.rate(0.1, 2), 0.081));
        let cos = Schedule::Cosine { total: 10, min: 0.0 };
        assert!(close(cos.rate(0.1, 0), 0.1) && close(cos.rate(0.1, 5), 0.05) && close(cos.rate(0.1, 10), 0.0));
        let warm = Schedule::Warmup { warmup: 4 };
        assert!(close(warm.rate(0.1, 0), 0.025) && close(warm.rate(0.1, 3), 0.1) && close(warm.rate(0.1, 9), 0.1));
    }
}
