//! `ladder.toml`: the rungs, the claims and the optimiser paths, as data.

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};
use train::{OptimizerSpec, RunSpec};

/// The whole file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ladder {
    /// The experiments, in the order they run.
    #[serde(rename = "rung")]
    pub rungs: Vec<Rung>,
    /// Qualitative claims of the tutorials, checked on the results.
    #[serde(default, rename = "claim")]
    pub claims: Vec<Claim>,
    /// Optimisers drawn on the NumPy course's surface.
    #[serde(default, rename = "trajectory")]
    pub trajectories: Vec<Trajectory>,
}

/// Which examples a rung learns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DataKind {
    /// MNIST.
    #[default]
    Mnist,
    /// The four points of XOR, which are also its test set.
    Xor,
}

/// What the tutorial claims, and so how a rung is judged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClaimKind {
    /// A figure: reproduced within max(1 point, 3 standard deviations).
    #[default]
    Value,
    /// At least the figure.
    Above,
    /// Training fails: test below 0.5, or (XOR) most seeds short of 1.0.
    Fails,
    /// XOR: most seeds reach accuracy 1.0.
    Succeeds,
    /// Nothing published.
    None,
}

/// The published figures of a rung.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Published {
    /// Test accuracy.
    pub test: Option<f64>,
    /// A range instead of one figure ("about 0.95-0.96").
    pub test_range: Option<[f64; 2]>,
    /// Train accuracy.
    pub train: Option<f64>,
    /// How to judge.
    #[serde(default)]
    pub claim: ClaimKind,
    /// The tutorial's words.
    #[serde(default)]
    pub note: String,
}

/// One experiment: what it is, and the run it makes (a [`RunSpec`] at the
/// rung's top level, as `mnist train`'s flags are: `epochs`, `batch_size`,
/// `model = {...}`, `optimizer = {...}`, ...). Each seed of 1..=`seeds`
/// runs it with that seed.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Rung {
    /// Short name, e.g. `A3`.
    pub id: String,
    /// What it shows.
    pub title: String,
    /// Which tutorial.
    pub source: String,
    /// The setting in a few words.
    pub brief: String,
    /// The examples.
    #[serde(default)]
    pub data: DataKind,
    /// Steps under `--quick` [default: steps / 20].
    pub quick_steps: Option<usize>,
    /// Seeds 1..=seeds.
    #[serde(default = "default_seeds")]
    pub seeds: u64,
    /// What the tutorial reported.
    pub published: Published,
    /// Why the rung does not reproduce, found by investigation; shown only
    /// when it does not.
    #[serde(default)]
    pub explanation: String,
    /// The run (its seed is each of 1..=seeds in turn).
    #[serde(flatten)]
    pub run: RunSpec,
}

fn default_seeds() -> u64 {
    3
}

/// A qualitative claim: `left op right`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// The claim in words.
    pub text: String,
    /// `ID.test`, `ID.train`, `ID.gap`, `ID.success` or a number.
    pub left: String,
    /// `<`, `<=`, `>`, `>=`.
    pub op: String,
    /// As `left`.
    pub right: String,
}

/// An optimiser's path on z = x²/20 + y².
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Trajectory {
    /// The optimiser and its learning rate.
    pub optimizer: OptimizerSpec,
}

impl Ladder {
    /// Reads and checks `path`.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let ladder: Ladder = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        ladder.check().map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(ladder)
    }

    fn check(&self) -> Result<(), String> {
        let mut ids = HashSet::new();
        for rung in &self.rungs {
            if !ids.insert(rung.id.as_str()) {
                return Err(format!("rung {} appears twice", rung.id));
            }
            let fail = |what: String| format!("rung {}: {what}", rung.id);
            let fit = &rung.run.fit;
            if fit.epochs.is_none() && fit.steps.is_none() {
                return Err(fail("give epochs or steps".into()));
            }
            if rung.seeds == 0 {
                return Err(fail("seeds must be at least 1".into()));
            }
            if rung.run.seed != RunSpec::default().seed {
                return Err(fail("a rung runs seeds 1..=seeds: give seeds, not seed".into()));
            }
            rung.run.validate().map_err(|e| fail(e.to_string()))?;
            let p = &rung.published;
            let needs_test = matches!(p.claim, ClaimKind::Value | ClaimKind::Above);
            if needs_test && p.test.is_none() && p.test_range.is_none() {
                return Err(fail("published needs test or test_range for this claim".into()));
            }
        }
        for claim in &self.claims {
            for side in [&claim.left, &claim.right] {
                if side.parse::<f64>().is_ok() {
                    continue;
                }
                let (id, metric) = side
                    .split_once('.')
                    .ok_or_else(|| format!("claim {:?}: {side:?} is neither ID.metric nor a number", claim.text))?;
                if !ids.contains(id) {
                    return Err(format!("claim {:?}: no rung {id}", claim.text));
                }
                if !["test", "train", "gap", "success"].contains(&metric) {
                    return Err(format!(
                        "claim {:?}: {metric:?} is not test, train, gap or success",
                        claim.text
                    ));
                }
            }
            if !["<", "<=", ">", ">="].contains(&claim.op.as_str()) {
                return Err(format!(
                    "claim {:?}: op {:?} is not <, <=, > or >=",
                    claim.text, claim.op
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ladder() -> Ladder {
        Ladder::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../ladder.toml"))).unwrap()
    }

    /// `mnist train --recipe NAME` and its rung run the same settings:
    /// the recipe's run specification is the rung's, field for field.
    #[test]
    fn every_recipe_is_a_rung_with_the_same_settings() {
        let ladder = ladder();
        for recipe in train::Recipe::ALL {
            let id = recipe.rung();
            let rung = ladder
                .rungs
                .iter()
                .find(|r| r.id == id)
                .unwrap_or_else(|| panic!("no rung {id}"));
            let spec = recipe.spec().unwrap();
            assert_eq!(
                serde_json::to_value(&spec).unwrap(),
                serde_json::to_value(&rung.run).unwrap(),
                "recipe {} and rung {id} differ",
                recipe.name()
            );
        }
    }

    #[test]
    fn every_rung_of_ladder_md_is_in_ladder_toml() {
        let ladder = ladder();
        let ids: Vec<&str> = ladder.rungs.iter().map(|r| r.id.as_str()).collect();
        for id in [
            "A0", "A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8", "B1", "C1", "C2", "C3", "D1", "D2", "D3", "D4", "D5",
            "D6", "D7", "D8", "E1", "E2", "E3", "F",
        ] {
            assert!(ids.contains(&id), "{id} is missing");
        }
        assert!(
            ladder
                .rungs
                .iter()
                .filter(|r| r.data == DataKind::Xor)
                .all(|r| r.seeds == 20)
        );
        assert_eq!(ladder.trajectories.len(), 4);
    }

    #[test]
    fn the_b1_model_has_the_keras_parameter_count() {
        let ladder = ladder();
        let b1 = ladder.rungs.iter().find(|r| r.id == "B1").unwrap();
        let mut rng = <rand_xoshiro::Xoshiro256PlusPlus as rand::SeedableRng>::seed_from_u64(0);
        assert_eq!(b1.run.model.build(&mut rng).unwrap().param_count(), 1_195_018);
    }

    #[test]
    fn mistakes_in_the_file_are_errors_that_say_where() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ladder.toml");
        let text = std::fs::read_to_string(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../ladder.toml"))).unwrap();
        for (from, to, expected) in [
            ("id = \"A1\"", "id = \"A0\"", "rung A0 appears twice"),
            (
                "epochs = 15\nmodel = { model = \"softmax\" }",
                "model = { model = \"softmax\" }",
                "rung A0: give epochs or steps",
            ),
            ("lr = 0.1 }", "lr = -0.1 }", "rung A0: lr must be a positive number"),
            ("left = \"A3.test\"", "left = \"Z9.test\"", "no rung Z9"),
            (
                "hidden = [256, 256] }",
                "hidden = [256, 256], hiden = 3 }",
                "unknown field `hiden`",
            ),
            (
                "epochs = 15\nmodel",
                "epochs = 15\nepoch = 3\nmodel",
                "rung A0: unknown setting `epoch`",
            ),
            (
                "epochs = 15\nmodel",
                "epochs = 15\nsteps = 3\nmodel",
                "rung A0: give epochs or steps, not both",
            ),
        ] {
            assert!(text.contains(from), "{from}");
            std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
            let e = Ladder::load(&path).unwrap_err();
            assert!(e.contains(expected) && e.contains("ladder.toml"), "{e}");
        }
    }

    /// Results written before the run specification (with `monitor_train`,
    /// `steps = null`, no schedule) may still sit in someone's results
    /// folder, and a partial rerun keeps them: they must still read as the
    /// rungs they ran.
    #[test]
    fn results_written_before_the_run_specification_still_load() {
        #[derive(Deserialize)]
        struct Saved {
            rungs: Vec<super::super::RungResult>,
        }
        // Three rungs (one run each) of results/ladder.json as 841d4c0
        // committed it, before a partial rerun rewrote the file.
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/ladder-before-run-spec.json"
        ));
        let saved: Saved = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let ladder = ladder();
        assert_eq!(saved.rungs.len(), 3);
        for result in &saved.rungs {
            let rung = &result.rung;
            rung.run.validate().unwrap_or_else(|e| panic!("{}: {e}", rung.id));
            let now = ladder.rungs.iter().find(|r| r.id == rung.id).unwrap();
            assert_eq!(rung.run, now.run, "{} ran as the ladder says today", rung.id);
        }
        let d1 = saved.rungs.iter().find(|r| r.rung.id == "D1").unwrap();
        assert!(d1.rung.run.fit.report_train, "monitor_train read as report_train");
    }
}
