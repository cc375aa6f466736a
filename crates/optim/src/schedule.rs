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
    /// One cycle, by step rather than by epoch: a linear rise from 0 to
    /// `lr` over the first `warmup` fraction of the run's steps, then a
    /// linear fall to 0 at its last step (the shape of fast short runs,
    /// where an epoch is too coarse a unit).
    OneCycle {
        /// Fraction of the steps spent rising, in [0, 1).
        warmup: f32,
    },
}

impl Schedule {
    /// The learning rate at epoch `t` (from 0) for base rate `lr`; `lr` for
    /// a schedule by step ([`Schedule::by_step`]), whose rates come from
    /// [`Schedule::step_rate`].
    pub fn rate(&self, lr: f32, t: usize) -> f32 {
        match *self {
            Schedule::OneCycle { .. } => lr,
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

impl Schedule {
    /// True when the rate changes every step rather than every epoch.
    pub fn by_step(&self) -> bool {
        matches!(self, Schedule::OneCycle { .. })
    }

    /// The rate at step `step` (from 0) of a run of `total` steps, for a
    /// schedule by step; `None` for a schedule by epoch. The fraction is
    /// formed in f64 and rounded once, so the rate has the same bits
    /// everywhere.
    pub fn step_rate(&self, lr: f32, step: usize, total: usize) -> Option<f32> {
        let Schedule::OneCycle { warmup } = *self else {
            return None;
        };
        let total = total.max(1) as f64;
        let rise = (warmup as f64 * total).round();
        let t = step as f64;
        let share = if t < rise {
            (t + 1.0) / rise
        } else {
            (total - t) / (total - rise)
        };
        Some((lr as f64 * share.clamp(0.0, 1.0)) as f32)
    }
}

/// What the text form takes, for help texts and errors.
pub const SCHEDULE_HELP: &str = "constant, step:EVERY:GAMMA (times GAMMA every EVERY epochs), \
exp:GAMMA (times GAMMA each epoch), cosine (to 0 over the run; cosine:TOTAL:MIN for another span \
and floor), warmup:N (linear over the first N epochs), onecycle:W (by step: up from 0 over the first \
fraction W of the steps, then down to 0 at the last)";

impl std::str::FromStr for Schedule {
    type Err = String;

    /// Parses the text form: `constant`, `step:EVERY:GAMMA`, `exp:GAMMA`,
    /// `cosine` (a total of 0, which a training loop takes as its whole
    /// run, down to 0) or `cosine:TOTAL:MIN`, `warmup:N`, `onecycle:W`.
    fn from_str(text: &str) -> Result<Self, String> {
        let parts: Vec<&str> = text.split(':').collect();
        let arity = |n: usize| {
            if parts.len() == n + 1 {
                Ok(())
            } else {
                Err(format!("{text:?}: {} takes {n} number(s); {SCHEDULE_HELP}", parts[0]))
            }
        };
        let float = |i: usize| -> Result<f32, String> {
            let x: f32 = parts[i].parse().map_err(|e| format!("{text:?}: {e}"))?;
            if x.is_finite() && x >= 0.0 {
                Ok(x)
            } else {
                Err(format!("{text:?}: {x} must be a non-negative number"))
            }
        };
        let count = |i: usize| -> Result<usize, String> { parts[i].parse().map_err(|e| format!("{text:?}: {e}")) };
        let schedule = match parts[0] {
            "constant" => {
                arity(0)?;
                Schedule::Constant
            }
            "step" => {
                arity(2)?;
                Schedule::Step {
                    every: count(1)?,
                    gamma: float(2)?,
                }
            }
            "exp" => {
                arity(1)?;
                Schedule::Exponential { gamma: float(1)? }
            }
            "cosine" if parts.len() == 1 => Schedule::Cosine { total: 0, min: 0.0 },
            "cosine" => {
                arity(2)?;
                Schedule::Cosine {
                    total: count(1)?,
                    min: float(2)?,
                }
            }
            "warmup" => {
                arity(1)?;
                Schedule::Warmup { warmup: count(1)? }
            }
            "onecycle" => {
                arity(1)?;
                let warmup = float(1)?;
                if warmup >= 1.0 {
                    return Err(format!("{text:?}: the warm-up is a fraction of the run, under 1"));
                }
                Schedule::OneCycle { warmup }
            }
            other => return Err(format!("{other:?} is not a schedule: {SCHEDULE_HELP}")),
        };
        Ok(schedule)
    }
}

impl std::fmt::Display for Schedule {
    /// The text form, which `FromStr` reads back as the same schedule.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Schedule::Constant => write!(f, "constant"),
            Schedule::Step { every, gamma } => write!(f, "step:{every}:{gamma}"),
            Schedule::Exponential { gamma } => write!(f, "exp:{gamma}"),
            Schedule::Cosine { total: 0, min: 0.0 } => write!(f, "cosine"),
            Schedule::Cosine { total, min } => write!(f, "cosine:{total}:{min}"),
            Schedule::Warmup { warmup } => write!(f, "warmup:{warmup}"),
            Schedule::OneCycle { warmup } => write!(f, "onecycle:{warmup}"),
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

    /// One cycle over 10 steps with 2 rising: 0.05, 0.1, then down by
    /// eighths to 0.0125 at the last step; a schedule by epoch has no rate
    /// by step.
    #[test]
    fn one_cycle_by_hand() {
        let cycle = Schedule::OneCycle { warmup: 0.2 };
        assert!(cycle.by_step() && !Schedule::Constant.by_step());
        let rates: Vec<f32> = (0..10).map(|s| cycle.step_rate(0.1, s, 10).unwrap()).collect();
        let expected = [0.05, 0.1, 0.1, 0.0875, 0.075, 0.0625, 0.05, 0.0375, 0.025, 0.0125];
        for (got, want) in rates.iter().zip(expected) {
            assert!((got - want).abs() < 1e-7, "{rates:?}");
        }
        assert_eq!(Schedule::Constant.step_rate(0.1, 3, 10), None);
        assert_eq!(Schedule::OneCycle { warmup: 0.0 }.step_rate(0.1, 0, 4), Some(0.1));
    }

    #[test]
    fn the_text_form_reads_back() {
        for text in [
            "constant",
            "step:5:0.5",
            "exp:0.9",
            "cosine",
            "cosine:20:0.001",
            "warmup:3",
            "onecycle:0.2",
        ] {
            let schedule: Schedule = text.parse().unwrap();
            assert_eq!(schedule.to_string(), text);
        }
        for bad in [
            "",
            "linear",
            "step:5",
            "step:x:0.5",
            "exp:-1",
            "warmup:2:3",
            "constant:1",
            "onecycle:1",
            "onecycle",
        ] {
            assert!(bad.parse::<Schedule>().is_err(), "{bad}");
        }
    }
}
