//! Judging the runs against the published figures, and writing
//! `ladder.md` and `ladder.json`.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::config::{Claim, ClaimKind, DataKind, Rung};
use super::runner::RungResult;

/// Mean, sample standard deviation, min and max.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct Spread {
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (n - 1); 0 for one value.
    pub std: f64,
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
}

impl Spread {
    /// Of `values` (not empty).
    pub fn of(values: &[f64]) -> Self {
        let n = values.len().max(1) as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = if values.len() > 1 {
            values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
        } else {
            0.0
        };
        Spread {
            mean,
            std: var.sqrt(),
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }
}

/// Whether the published figure came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// By LADDER.md's rule.
    Reproduced,
    /// Not by the rule.
    NotReproduced,
    /// Nothing published to compare with.
    NoFigure,
}

impl RungResult {
    /// Test accuracy over seeds.
    pub fn test(&self) -> Spread {
        Spread::of(&self.runs.iter().map(|r| r.test.accuracy).collect::<Vec<_>>())
    }

    /// Train accuracy over seeds.
    pub fn train(&self) -> Spread {
        Spread::of(&self.runs.iter().map(|r| r.train.accuracy).collect::<Vec<_>>())
    }

    /// Fraction of seeds that classify every test example right (XOR's success).
    pub fn success(&self) -> f64 {
        let n = self.runs.iter().filter(|r| r.test.accuracy >= 1.0).count();
        n as f64 / self.runs.len().max(1) as f64
    }

    /// Mean of train minus test accuracy.
    pub fn gap(&self) -> f64 {
        self.train().mean - self.test().mean
    }

    /// Wall time of all seeds, seconds.
    pub fn seconds(&self) -> f64 {
        self.runs.iter().map(|r| r.seconds).sum()
    }

    /// LADDER.md's rule: the published figure within max(1 percentage
    /// point, 3 standard deviations) of our mean; for "fails" and "above"
    /// figures, ours showing the same thing.
    pub fn verdict(&self) -> Verdict {
        let p = &self.rung.published;
        let test = self.test();
        let tolerance = 0.01f64.max(3.0 * test.std);
        let xor = self.rung.data == DataKind::Xor;
        let holds = match p.claim {
            ClaimKind::None => return Verdict::NoFigure,
            ClaimKind::Value => match (p.test_range, p.test) {
                (Some([low, high]), _) => test.mean >= low - tolerance && test.mean <= high + tolerance,
                (None, Some(figure)) => (figure - test.mean).abs() <= tolerance,
                (None, None) => return Verdict::NoFigure,
            },
            ClaimKind::Above => test.mean >= p.test.unwrap_or(0.0),
            ClaimKind::Fails if xor => self.success() < 0.5,
            ClaimKind::Fails => test.mean < 0.5,
            ClaimKind::Succeeds => self.success() >= 0.5,
        };
        if holds {
            Verdict::Reproduced
        } else {
            Verdict::NotReproduced
        }
    }

    /// A metric by the name claims use.
    pub fn metric(&self, name: &str) -> Option<f64> {
        Some(match name {
            "test" => self.test().mean,
            "train" => self.train().mean,
            "gap" => self.gap(),
            "success" => self.success(),
            _ => return None,
        })
    }
}

/// A claim's two sides worked out, and whether it holds; None where a rung
/// it needs was not run.
pub fn judge(claim: &Claim, results: &[RungResult]) -> Option<(f64, f64, bool)> {
    let value = |side: &str| -> Option<f64> {
        if let Ok(x) = side.parse::<f64>() {
            return Some(x);
        }
        let (id, metric) = side.split_once('.')?;
        results.iter().find(|r| r.rung.id == id)?.metric(metric)
    };
    let (l, r) = (value(&claim.left)?, value(&claim.right)?);
    let holds = match claim.op.as_str() {
        "<" => l < r,
        "<=" => l <= r,
        ">" => l > r,
        _ => l >= r,
    };
    Some((l, r, holds))
}

/// The published figure in words.
fn published_text(rung: &Rung) -> String {
    let p = &rung.published;
    let mut text = match (p.claim, p.test_range, p.test) {
        (ClaimKind::None, ..) => "none".to_string(),
        (_, Some([low, high]), _) => format!("{low:.2}-{high:.2}"),
        (ClaimKind::Above, _, Some(t)) => format!("above {t}"),
        (ClaimKind::Succeeds, ..) => "1.0".to_string(),
        (_, _, Some(t)) => format!("{t:.4}"),
        _ => "-".to_string(),
    };
    if let Some(train) = p.train {
        let _ = write!(text, " (train {train:.4})");
    }
    if !p.note.is_empty() {
        let _ = write!(text, ": {}", p.note);
    }
    text
}

/// One row of the table, for the terminal and the Markdown alike.
pub fn row(r: &RungResult) -> [String; 8] {
    let test = r.test();
    let train = r.train();
    let ours = if r.rung.data == DataKind::Xor {
        format!(
            "{} of {} seeds reach 1.0 (mean {:.3})",
            (r.success() * r.runs.len() as f64).round(),
            r.runs.len(),
            test.mean
        )
    } else {
        format!(
            "{:.4} ± {:.4} ({:.4} to {:.4})",
            test.mean, test.std, test.min, test.max
        )
    };
    let diverged: Vec<usize> = r
        .runs
        .iter()
        .filter_map(|run| run.history.diverged)
        .map(|d| d.step)
        .collect();
    let ours = match diverged[..] {
        [] => ours,
        [step] => format!("{ours}; diverged at step {step} (1 of {} seeds)", r.runs.len()),
        _ => format!(
            "{ours}; diverged at steps {} ({} of {} seeds)",
            diverged.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", "),
            diverged.len(),
            r.runs.len()
        ),
    };
    let verdict = match r.verdict() {
        Verdict::Reproduced => "reproduced",
        Verdict::NotReproduced => "not reproduced",
        Verdict::NoFigure => "no figure",
    };
    [
        r.rung.id.clone(),
        r.rung.brief.clone(),
        published_text(&r.rung),
        ours,
        format!("{:.4}", train.mean),
        format!("{:.0} s", r.seconds()),
        verdict.to_string(),
        format!("{}", r.runs.len()),
    ]
}

/// `ladder.md`: the table, the explanations, the claims, the plots.
pub fn markdown(results: &[RungResult], claims: &[Claim], command: &str, total_seconds: f64) -> String {
    let mut md = String::new();
    let quick = results.iter().any(|r| r.quick);
    let _ = writeln!(md, "# The ladder: published figures and ours\n");
    let _ = writeln!(
        md,
        "Written by `{command}` ({}; {:.1} minutes of runs on this machine). \
         Test accuracy is on the 10,000 test images; ours is the mean ± sample \
         standard deviation over seeds, with the range. A rung is reproduced when \
         the published figure lies within max(1 percentage point, 3 standard \
         deviations) of our mean, or, for \"fails\" and \"above\" figures, when ours \
         shows the same thing (LADDER.md). Same seeds give the same figures, bit for \
         bit, on any x86-64 CPU with FMA, whichever kernel runs, and on any number \
         of threads.\n",
        if quick {
            "QUICK: reduced runs that exercise every rung, not the figures"
        } else {
            "full runs"
        },
        total_seconds / 60.0
    );
    let _ = writeln!(
        md,
        "| rung | setting | published test | ours: test | ours: train | time | verdict | seeds |"
    );
    let _ = writeln!(md, "| --- | --- | --- | --- | --- | --- | --- | --- |");
    for r in results {
        let cells = row(r);
        let _ = writeln!(md, "| {} |", cells.join(" | "));
    }
    let unexplained: Vec<&RungResult> = results
        .iter()
        .filter(|r| r.verdict() == Verdict::NotReproduced)
        .collect();
    if !unexplained.is_empty() {
        let _ = writeln!(md, "\n## Rungs that do not reproduce\n");
        for r in unexplained {
            let why = if r.rung.explanation.is_empty() {
                "Not investigated yet."
            } else {
                r.rung.explanation.as_str()
            };
            let _ = writeln!(md, "- **{}** ({}): {}", r.rung.id, r.rung.title, why);
        }
    }
    let _ = writeln!(md, "\n## The tutorials' claims, in our runs\n");
    let _ = writeln!(md, "| claim | left | right | holds |");
    let _ = writeln!(md, "| --- | --- | --- | --- |");
    for claim in claims {
        match judge(claim, results) {
            Some((l, r, holds)) => {
                let _ = writeln!(
                    md,
                    "| {} | {} = {l:.4} | {} = {r:.4} | {} |",
                    claim.text,
                    claim.left,
                    claim.right,
                    if holds { "yes" } else { "**no**" }
                );
            }
            None => {
                let _ = writeln!(md, "| {} | | | not run |", claim.text);
            }
        }
    }
    let _ = writeln!(md, "\n## Plots\n");
    for (file, what) in super::plots::FILES {
        let _ = writeln!(md, "- {what}: ![{what}](plots/{file})");
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ladder::config::{Ladder, Published};
    use train::{History, Metrics};

    fn result(claim: ClaimKind, test: Option<f64>, accuracies: &[f64], xor: bool) -> RungResult {
        let ladder = Ladder::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../ladder.toml"
        )))
        .unwrap();
        let mut rung = ladder.rungs[0].clone();
        rung.published = Published {
            test,
            claim,
            ..Published::default()
        };
        if xor {
            rung.data = DataKind::Xor;
        }
        let m = |accuracy| Metrics { loss: 0.0, accuracy };
        RungResult {
            rung,
            quick: false,
            runs: accuracies
                .iter()
                .enumerate()
                .map(|(i, &a)| crate::ladder::runner::Run {
                    seed: i as u64 + 1,
                    train: m(a + 0.01),
                    test: m(a),
                    validation: None,
                    seconds: 1.0,
                    threads: 1,
                    history: History::default(),
                })
                .collect(),
        }
    }

    /// The table says where runs diverged, and says nothing when none did.
    #[test]
    fn the_table_says_where_runs_diverged() {
        let mut r = result(ClaimKind::Fails, Some(0.2), &[0.1, 0.1, 0.1], false);
        assert!(!row(&r)[3].contains("diverged"), "{}", row(&r)[3]);
        r.runs[0].history.diverged = Some(train::Divergence { step: 33, epoch: 1 });
        assert!(
            row(&r)[3].ends_with("; diverged at step 33 (1 of 3 seeds)"),
            "{}",
            row(&r)[3]
        );
        r.runs[2].history.diverged = Some(train::Divergence { step: 40, epoch: 1 });
        assert!(
            row(&r)[3].ends_with("; diverged at steps 33, 40 (2 of 3 seeds)"),
            "{}",
            row(&r)[3]
        );
    }

    #[test]
    fn spread_is_the_sample_deviation() {
        let s = Spread::of(&[1.0, 2.0, 3.0]);
        assert_eq!((s.mean, s.std, s.min, s.max), (2.0, 1.0, 1.0, 3.0));
        assert_eq!(Spread::of(&[0.5]).std, 0.0);
    }

    #[test]
    fn a_value_reproduces_within_one_point_or_three_deviations() {
        let close = result(ClaimKind::Value, Some(0.97), &[0.961, 0.961, 0.961], false);
        assert_eq!(close.verdict(), Verdict::Reproduced);
        let far = result(ClaimKind::Value, Some(0.97), &[0.955, 0.955, 0.955], false);
        assert_eq!(far.verdict(), Verdict::NotReproduced);
        // Spread widens the window: std 0.01 allows 0.03.
        let noisy = result(ClaimKind::Value, Some(0.97), &[0.94, 0.95, 0.96], false);
        assert_eq!(noisy.verdict(), Verdict::Reproduced);
    }

    #[test]
    fn fails_above_and_xor_claims() {
        assert_eq!(
            result(ClaimKind::Fails, Some(0.2), &[0.1, 0.11], false).verdict(),
            Verdict::Reproduced
        );
        assert_eq!(
            result(ClaimKind::Fails, Some(0.2), &[0.9, 0.91], false).verdict(),
            Verdict::NotReproduced
        );
        assert_eq!(
            result(ClaimKind::Above, Some(0.99), &[0.991, 0.989], false).verdict(),
            Verdict::Reproduced
        );
        assert_eq!(
            result(ClaimKind::Above, Some(0.99), &[0.990, 0.988], false).verdict(),
            Verdict::NotReproduced
        );
        let xor = result(ClaimKind::Succeeds, Some(1.0), &[1.0, 1.0, 0.75], true);
        assert_eq!(xor.success(), 2.0 / 3.0);
        assert_eq!(xor.verdict(), Verdict::Reproduced);
        assert_eq!(
            result(ClaimKind::Fails, Some(0.5), &[1.0, 0.5, 0.75], true).verdict(),
            Verdict::Reproduced
        );
        assert_eq!(
            result(ClaimKind::None, None, &[0.5], false).verdict(),
            Verdict::NoFigure
        );
    }

    #[test]
    fn claims_compare_metrics_of_rungs() {
        let mut a = result(ClaimKind::Value, Some(0.9), &[0.9], false);
        a.rung.id = "X".into();
        let mut b = result(ClaimKind::Value, Some(0.9), &[0.8], false);
        b.rung.id = "Y".into();
        let claim = Claim {
            text: String::new(),
            left: "X.test".into(),
            op: ">".into(),
            right: "Y.test".into(),
        };
        assert_eq!(judge(&claim, &[a.clone(), b.clone()]), Some((0.9, 0.8, true)));
        let gap = Claim {
            left: "X.gap".into(),
            op: "<".into(),
            right: "0.005".into(),
            ..claim.clone()
        };
        let (l, _, holds) = judge(&gap, &[a.clone()]).unwrap();
        assert!((l - 0.01).abs() < 1e-12 && !holds);
        assert_eq!(judge(&claim, &[a]), None, "Y was not run");
    }
}
