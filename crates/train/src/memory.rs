//! Whether a network fits in this machine's memory, decided from its plan
//! before anything is allocated: a typo of a few zeros in `--arch` is an
//! error with the figures, not an abort in the allocator.

use nn::LayerPlan;
use nn::plan::counts;

use crate::SpecError;

/// What a run keeps besides the network's parameters and gradients.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Needs {
    /// The optimiser's buffers per parameter (Adam: 2).
    pub state_per_param: u32,
    /// Examples per training batch: each layer keeps its output for the
    /// backward pass, and the backward pass a gradient of that size.
    pub batch: usize,
}

impl Needs {
    /// A run with `optimizer` on batches of `batch`.
    pub fn of(optimizer: &crate::OptimizerSpec, batch: usize) -> Self {
        Self {
            state_per_param: optimizer.state_per_param(),
            batch,
        }
    }
}

/// Bytes a run needs at least (`None` past `u128`, which no plan reaches): the parameters, their gradients and the
/// optimiser's state, the untrained state, and per example of a batch
/// every layer's output with its gradient (f32 each). Scratch buffers
/// (im2col's) come on top.
pub fn run_bytes(plan: &[LayerPlan], needs: &Needs) -> Option<u128> {
    let (params, frozen) = counts(plan)?;
    let activations: u128 = plan
        .iter()
        .map(|l| l.output.iter().map(|&d| d as u128).product::<u128>())
        .sum();
    let per_param = 2 + needs.state_per_param as u128;
    Some((params as u128 * per_param + frozen as u128 + activations * 2 * needs.batch as u128) * 4)
}

/// This machine's memory available to a new allocation, in bytes, as Linux
/// reports it (`MemAvailable` in `/proc/meminfo`); `None` elsewhere.
pub fn available_memory() -> Option<u128> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u128 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Refuses a run of `plan` that needs more than `free` bytes
/// ([`run_bytes`]), with both figures.
pub fn check_fits(plan: &[LayerPlan], needs: &Needs, free: Option<u128>) -> Result<(), SpecError> {
    let Some((params, _)) = counts(plan) else {
        return Err(SpecError(
            "the network has more parameters than this machine can count".into(),
        ));
    };
    let needed = run_bytes(plan, needs).unwrap_or(u128::MAX);
    let what = match (needs.state_per_param, needs.batch) {
        (0, 0) => "with their gradients",
        (_, 0) => "with their gradients and the optimiser's state",
        (0, _) => "with their gradients and a batch's activations",
        _ => "with their gradients, the optimiser's state and a batch's activations",
    };
    match free {
        Some(free) if needed > free => Err(SpecError(format!(
            "the network has {} parameters: {what} they need {}, more than the {} of memory this machine has free",
            nn::with_commas(params),
            size(needed),
            size(free)
        ))),
        _ => Ok(()),
    }
}

/// Bytes in the largest unit that keeps a whole number before the point.
fn size(bytes: u128) -> String {
    const UNITS: [&str; 5] = ["bytes", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dense(units: usize, params: usize) -> LayerPlan {
        LayerPlan {
            kind: "Dense",
            output: vec![units],
            params,
            non_trainable: 0,
        }
    }

    #[test]
    fn a_model_too_big_is_refused_with_the_figures() {
        let plan = [dense(1_000_000_000, 785_000_000_000), dense(10, 10_000_000_010)];
        let none = Needs::default();
        let err = check_fits(&plan, &none, Some(24 << 30)).unwrap_err().to_string();
        assert!(
            err.contains("795,000,000,010 parameters") && err.contains("6.4 TB") && err.contains("25.8 GB"),
            "{err}"
        );
        assert!(
            check_fits(&plan, &none, None).is_ok(),
            "no figure for free memory: no refusal"
        );
        assert!(check_fits(&[dense(10, 7_850)], &none, Some(24 << 30)).is_ok());
    }

    /// Adam's two moments and the activations count: a model whose
    /// parameters and gradients fit can still be refused for them.
    #[test]
    fn the_optimiser_state_and_the_activations_count() {
        // 1,000,000,000 parameters: 8 GB with gradients, 16 GB with Adam's moments.
        let plan = [dense(1_000, 1_000_000_000)];
        let free = Some(10_000_000_000);
        let sgd = Needs {
            state_per_param: 0,
            batch: 100,
        };
        let adam = Needs {
            state_per_param: 2,
            batch: 100,
        };
        assert!(check_fits(&plan, &sgd, free).is_ok());
        let err = check_fits(&plan, &adam, free).unwrap_err().to_string();
        assert!(
            err.contains("the optimiser's state") && err.contains("16.0 GB"),
            "{err}"
        );
        // Wide activations: 10^8 outputs per example, a batch of 10 with
        // gradients, 8 GB; the 400 parameters are nothing.
        let wide = [dense(100_000_000, 400)];
        assert_eq!(run_bytes(&wide, &sgd), Some((400 * 2 + 100_000_000 * 2 * 100) * 4));
        assert!(check_fits(&wide, &sgd, free).is_err());
    }
}
