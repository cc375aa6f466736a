//! Splitting the ladder's runs over machines (`--shard I/N`) and putting
//! the parts back together (`--merge DIR...`).
//!
//! Every run (a rung and a seed) gives the same bits wherever it runs (one
//! arithmetic on every CPU with FMA, any number of threads), so a part run
//! on another machine is as good as one run here. Each shard works out the
//! same assignment from the ladder alone: runs are dealt out by their
//! estimated work, largest first, each to the shard with the least work so
//! far, so the parts take about equally long.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::config::Rung;
use super::runner::Run;
use super::runner::RungResult;

/// `I/N`: the I-th (from 1) of N parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// Which part, 1..=of.
    pub index: usize,
    /// How many parts.
    pub of: usize,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("--shard {s:?}: expected I/N with 1 <= I <= N, e.g. 2/3");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, of) = (
            i.trim().parse::<usize>().map_err(|_| bad())?,
            n.trim().parse::<usize>().map_err(|_| bad())?,
        );
        if index == 0 || index > of {
            return Err(bad());
        }
        Ok(Shard { index, of })
    }
}

impl Shard {
    /// The name of this part's file.
    pub fn file_name(&self) -> String {
        format!("part-{}-of-{}.json", self.index, self.of)
    }
}

/// Which of `shards` parts each run belongs to (0-based), given each run's
/// estimated work: largest first (ties in ladder order), each to the part
/// with the least work so far (ties to the lowest part).
pub fn assign(work: &[f64], shards: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..work.len()).collect();
    order.sort_by(|&a, &b| work[b].total_cmp(&work[a]).then(a.cmp(&b)));
    let mut load = vec![0.0f64; shards];
    let mut part = vec![0; work.len()];
    for i in order {
        let lightest = (0..shards)
            .min_by(|&a, &b| load[a].total_cmp(&load[b]).then(a.cmp(&b)))
            .expect("at least one shard");
        part[i] = lightest;
        load[lightest] += work[i];
    }
    part
}

/// One run of a part, with the rung it belongs to.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PartRun {
    /// The rung's settings as it ran.
    pub rung: Rung,
    /// The outcome.
    pub run: Run,
}

/// The file a shard writes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Part {
    /// Which part.
    pub shard: usize,
    /// Of how many.
    pub of: usize,
    /// Reduced runs (`--quick`).
    pub quick: bool,
    /// Every run of the whole (all parts): rung id and seed count, in
    /// ladder order. The parts of one whole agree on it.
    pub plan: Vec<(String, u64)>,
    /// This part's runs.
    pub runs: Vec<PartRun>,
}

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The parts in `dirs` (folders holding `part-*-of-*.json`, or such files),
/// checked to be every part of one whole exactly once: the rungs' results,
/// in ladder order, each rung's runs in seed order.
pub fn read_parts(dirs: &[PathBuf]) -> Result<Vec<RungResult>, Error> {
    let mut files = Vec::new();
    for dir in dirs {
        if dir.is_file() {
            files.push(dir.clone());
            continue;
        }
        let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.starts_with("part-") && name.ends_with(".json") {
                files.push(path);
            }
        }
    }
    if files.is_empty() {
        return Err(format!("--merge: no part-*-of-*.json in {}", list(dirs)).into());
    }
    files.sort();
    let mut parts: BTreeMap<usize, (PathBuf, Part)> = BTreeMap::new();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let part: Part =
            serde_json::from_str(&text).map_err(|e| format!("{}: not a ladder part: {e}", file.display()))?;
        if let Some((first, p0)) = parts.values().next()
            && (part.of, part.quick, &part.plan) != (p0.of, p0.quick, &p0.plan)
        {
            return Err(format!(
                "{} and {} are parts of different runs (parts, --quick, rungs or seeds differ)",
                first.display(),
                file.display()
            )
            .into());
        }
        if let Some((other, _)) = parts.get(&part.shard) {
            return Err(format!(
                "{} and {} are both part {}",
                other.display(),
                file.display(),
                part.shard
            )
            .into());
        }
        parts.insert(part.shard, (file, part));
    }
    let (_, first) = parts.values().next().expect("one part");
    let (of, quick, plan) = (first.of, first.quick, first.plan.clone());
    let missing: Vec<String> = (1..=of)
        .filter(|i| !parts.contains_key(i))
        .map(|i| i.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "--merge: part {} of {of} missing from {}",
            missing.join(", "),
            list(dirs)
        )
        .into());
    }
    let mut by_rung: BTreeMap<String, (Rung, BTreeMap<u64, Run>)> = BTreeMap::new();
    for (file, part) in parts.into_values() {
        for PartRun { rung, run } in part.runs {
            let entry = by_rung
                .entry(rung.id.clone())
                .or_insert_with(|| (rung.clone(), BTreeMap::new()));
            if entry.1.insert(run.seed, run).is_some() {
                return Err(format!("{}: rung {} has a seed twice", file.display(), rung.id).into());
            }
        }
    }
    let mut out = Vec::new();
    for (id, seeds) in plan {
        let (rung, runs) = by_rung
            .remove(&id)
            .ok_or_else(|| format!("--merge: no runs of rung {id} in the parts"))?;
        if runs.keys().copied().ne(1..=seeds) {
            return Err(format!(
                "--merge: rung {id} should have seeds 1 to {seeds}, the parts have {:?}",
                runs.keys()
            )
            .into());
        }
        out.push(RungResult {
            rung,
            quick,
            runs: runs.into_values().collect(),
        });
    }
    Ok(out)
}

fn list(dirs: &[PathBuf]) -> String {
    dirs.iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Writes `part` as `dir/part-I-of-N.json`.
pub fn write_part(dir: &Path, part: &Part) -> Result<PathBuf, Error> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(
        Shard {
            index: part.shard,
            of: part.of,
        }
        .file_name(),
    );
    std::fs::write(&path, serde_json::to_string_pretty(part)?).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_refuse_nonsense() {
        assert_eq!("2/3".parse(), Ok(Shard { index: 2, of: 3 }));
        for bad in ["0/3", "4/3", "3", "a/b", "1/0"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn assignment_balances_work_and_covers_every_run() {
        let work = [10.0, 1.0, 1.0, 5.0, 5.0, 1.0, 1.0];
        let part = assign(&work, 3);
        assert_eq!(part, vec![0, 1, 2, 1, 2, 1, 2]);
        let mut load = [0.0; 3];
        for (w, p) in work.iter().zip(&part) {
            load[*p] += w;
        }
        assert_eq!(load, [10.0, 7.0, 7.0]);
        assert_eq!(assign(&work, 1), vec![0; 7]);
    }
}
