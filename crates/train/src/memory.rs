//! Whether a network fits in this machine's memory, decided from its plan
//! before anything is allocated: a typo of a few zeros in `--arch` is an
//! error with the figures, not an abort in the allocator.

use nn::LayerPlan;
use nn::plan::counts;

use crate::SpecError;

/// Bytes of a network's parameters with their gradients and its untrained
/// state (f32 each); `None` past `u128`, which no plan reaches.
pub fn model_bytes(plan: &[LayerPlan]) -> Option<u128> {
    let (params, frozen) = counts(plan)?;
    Some((params as u128 * 2 + frozen as u128) * 4)
}

/// This machine's memory available to a new allocation, in bytes, as Linux
/// reports it (`MemAvailable` in `/proc/meminfo`); `None` elsewhere.
pub fn available_memory() -> Option<u128> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u128 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Refuses a plan whose parameters and gradients need more than `free`
/// bytes, with both figures.
pub fn check_fits(plan: &[LayerPlan], free: Option<u128>) -> Result<(), SpecError> {
    let Some((params, _)) = counts(plan) else {
        return Err(SpecError(
            "the network has more parameters than this machine can count".into(),
        ));
    };
    let needed = model_bytes(plan).unwrap_or(u128::MAX);
    match free {
        Some(free) if needed > free => Err(SpecError(format!(
            "the network has {} parameters: with their gradients they need {}, more than the {} of memory this machine has free",
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
        let err = check_fits(&plan, Some(24 << 30)).unwrap_err().to_string();
        assert!(
            err.contains("795,000,000,010 parameters") && err.contains("6.4 TB") && err.contains("25.8 GB"),
            "{err}"
        );
        assert!(check_fits(&plan, None).is_ok(), "no figure for free memory: no refusal");
        assert!(check_fits(&[dense(10, 7_850)], Some(24 << 30)).is_ok());
    }
}
