//! `cargo xtask ladder`: reruns the tutorials' experiments (ladder.toml)
//! through the `train` crate, seed by seed, and writes the table, the JSON
//! and the plots; or one part of those runs (`--shard I/N`), or the table
//! from parts run anywhere (`--merge`).

mod config;
mod plots;
mod reference;
mod report;
mod runner;
mod shard;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use mnist_io::{Mnist, Split, Subset, Verify};
use nn::Classifier;
use rand::SeedableRng;
use train::{Callback, Control, Record};

use config::{DataKind, Ladder};
use runner::RungResult;
use train::Data;

/// Options of `cargo xtask ladder`.
#[derive(Args, Debug)]
pub struct LadderArgs {
    /// Only these rungs, comma-separated (e.g. A0,A3,F); results of the
    /// others already in --out are kept.
    #[arg(long, value_delimiter = ',')]
    rungs: Vec<String>,
    /// Seeds per rung (1..=N) [default: each rung's own: 3, 20 for XOR].
    #[arg(long)]
    seeds: Option<u64>,
    /// Reduced runs that still exercise every rung (one epoch, a twentieth
    /// of the steps, one seed; XOR unchanged), for CI.
    #[arg(long)]
    quick: bool,
    /// Where to write ladder.md, ladder.json and plots/ [default: results,
    /// or target/ladder-quick with --quick].
    #[arg(long)]
    out: Option<PathBuf>,
    /// The experiments.
    #[arg(long, default_value = "ladder.toml")]
    config: PathBuf,
    /// Folder holding the MNIST files [default: $MNIST_DATA_DIR, else data/mnist].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Run nothing: rewrite ladder.md and the plots from the results in
    /// --out, with the texts (briefs, explanations) of the current ladder.toml.
    #[arg(long)]
    report_only: bool,
    /// Run only the I-th of N parts of the runs (e.g. 2/3, one per machine
    /// or job of an array) and write them as --out/part-I-of-N.json
    /// [default --out: results/parts, or target/ladder-quick/parts].
    #[arg(long, value_name = "I/N", conflicts_with_all = ["report_only", "merge"])]
    shard: Option<shard::Shard>,
    /// Run nothing: combine the parts in these folders (or files), written
    /// by --shard with the same other flags, into --out as one whole run.
    #[arg(long, value_name = "DIR", num_args = 1.., conflicts_with_all = ["report_only", "rungs", "seeds"])]
    merge: Vec<PathBuf>,
}

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Runs the ladder.
pub fn run(args: &LadderArgs) -> Result<(), Error> {
    let ladder = Ladder::load(&args.config)?;
    for id in &args.rungs {
        if !ladder.rungs.iter().any(|r| &r.id == id) {
            let ids: Vec<&str> = ladder.rungs.iter().map(|r| r.id.as_str()).collect();
            return Err(format!("no rung {id:?} in {}: {}", args.config.display(), ids.join(", ")).into());
        }
    }
    let default_out = PathBuf::from(if args.quick { "target/ladder-quick" } else { "results" });
    if !args.merge.is_empty() {
        let results = shard::read_parts(&args.merge)?;
        let quick = results.iter().any(|r| r.quick);
        if quick != args.quick {
            return Err(format!(
                "--merge: the parts were run {} --quick; give the same flag here",
                if quick { "with" } else { "without" }
            )
            .into());
        }
        let out = args.out.clone().unwrap_or(default_out);
        return write_results(args, &ladder, &out, results);
    }
    let chosen: Vec<&config::Rung> = ladder
        .rungs
        .iter()
        .filter(|r| !args.report_only && (args.rungs.is_empty() || args.rungs.contains(&r.id)))
        .collect();
    let out = match (&args.out, args.shard) {
        (Some(out), _) => out.clone(),
        (None, Some(_)) => default_out.join("parts"),
        (None, None) => default_out,
    };
    let seeds_of = |rung: &config::Rung| -> u64 {
        match (args.seeds, args.quick, rung.data) {
            (Some(n), ..) => n,
            (None, true, DataKind::Mnist) => 1,
            (None, _, _) => rung.seeds,
        }
    };

    // The data each split needs, loaded once.
    let dir = mnist_io::data_dir(args.data_dir.as_deref());
    let mut splits: HashMap<Split, Mnist> = HashMap::new();
    for rung in &chosen {
        let split = rung.run.split;
        if rung.data == DataKind::Mnist && !splits.contains_key(&split) {
            splits.insert(split, Mnist::load(&dir, split, Verify::Checksums)?);
        }
    }
    let xor = runner::xor();
    let empty = Subset::default();
    let data_of = |rung: &config::Rung| -> Data<'_> {
        match rung.data {
            DataKind::Xor => Data {
                train: &xor,
                validation: &empty,
                test: &xor,
            },
            DataKind::Mnist => Data::of(&splits[&rung.run.split]),
        }
    };

    // Estimated work of every run, for the time left.
    let mut work: Vec<f64> = Vec::new();
    for rung in &chosen {
        let data = data_of(rung);
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(0);
        let net = match rung.data {
            DataKind::Mnist => rung.run.model.build(&mut rng)?,
            DataKind::Xor => rung.run.model.classifier_for(2, 2, &mut rng)?.model,
        };
        let spec = runner::spec(rung, 1, args.quick, data.train.len());
        let (images, reports) = match spec.fit.length(data.train.len()) {
            train::Length::Epochs(e) => ((e * data.train.len()) as f64, e),
            train::Length::Steps {
                steps, report_every, ..
            } => ((steps * spec.fit.batch_size) as f64, steps.div_ceil(report_every)),
        };
        let evaluated = (reports * (data.test.len() + if spec.fit.report_train { data.train.len() } else { 0 })
            + data.train.len()
            + data.test.len()
            + data.validation.len()) as f64;
        work.push(runner::work(&net, images, evaluated));
    }
    // Every run of the whole, in ladder order; a shard keeps its own.
    let plan: Vec<(usize, u64)> = chosen
        .iter()
        .enumerate()
        .flat_map(|(r, rung)| (1..=seeds_of(rung)).map(move |seed| (r, seed)))
        .collect();
    let plan: Vec<(usize, u64)> = match args.shard {
        None => plan,
        Some(s) => {
            let run_work: Vec<f64> = plan.iter().map(|&(r, _)| work[r]).collect();
            let part = shard::assign(&run_work, s.of);
            plan.into_iter()
                .zip(part)
                .filter(|&(_, p)| p + 1 == s.index)
                .map(|(run, _)| run)
                .collect()
        }
    };
    let total_work: f64 = plan.iter().map(|&(r, _)| work[r]).sum();

    let multi = MultiProgress::new();
    let overall = multi.add(ProgressBar::new(plan.len() as u64));
    overall.set_style(
        ProgressStyle::with_template("ladder [{bar:30}] {pos}/{len} runs, {elapsed} elapsed, {msg}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    let say = |line: String| {
        if multi.is_hidden() {
            eprintln!("{line}");
        } else {
            let _ = multi.println(line);
        }
    };
    let started = Instant::now();
    let mut finished: Vec<(usize, runner::Run)> = Vec::new();
    let mut work_done = 0.0;
    for &(r, seed) in &plan {
        let rung = chosen[r];
        let seeds = seeds_of(rung);
        let data = data_of(rung);
        let left = if work_done > 0.0 {
            let rate = work_done / started.elapsed().as_secs_f64();
            format!("about {:.0} min left", (total_work - work_done) / rate / 60.0)
        } else {
            "time left: after the first run".to_string()
        };
        overall.set_message(format!("now {} seed {seed}/{seeds}; {left}", rung.id));
        let mut progress = RunProgress::new(&multi, format!("{} seed {seed}/{seeds}", rung.id));
        let run = runner::run(rung, seed, args.quick, &data, &mut progress)?;
        progress.done();
        say(format!(
            "{} seed {seed}: test {:.4}, train {:.4} ({:.1} s)",
            rung.id, run.test.accuracy, run.train.accuracy, run.seconds
        ));
        finished.push((r, run));
        work_done += work[r];
        overall.inc(1);
    }
    overall.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    eprintln!("ran {} runs in {:.1} min", plan.len(), seconds / 60.0);

    if let Some(s) = args.shard {
        let part = shard::Part {
            shard: s.index,
            of: s.of,
            quick: args.quick,
            plan: chosen.iter().map(|r| (r.id.clone(), seeds_of(r))).collect(),
            runs: finished
                .into_iter()
                .map(|(r, run)| shard::PartRun {
                    rung: chosen[r].clone(),
                    run,
                })
                .collect(),
        };
        let path = shard::write_part(&out, &part)?;
        eprintln!(
            "wrote {}; when every part is done: cargo xtask ladder --merge DIR...",
            path.display()
        );
        return Ok(());
    }
    let mut runs: Vec<Vec<runner::Run>> = vec![Vec::new(); chosen.len()];
    for (r, run) in finished {
        runs[r].push(run);
    }
    let results = chosen
        .iter()
        .zip(runs)
        .map(|(rung, runs)| RungResult {
            rung: (*rung).clone(),
            quick: args.quick,
            runs,
        })
        .collect();
    write_results(args, &ladder, &out, results)
}

/// Writes ladder.md, ladder.json and the plots into `out` for `fresh`
/// results and those of the other rungs already there.
fn write_results(args: &LadderArgs, ladder: &Ladder, out: &Path, fresh: Vec<RungResult>) -> Result<(), Error> {
    let results = merge(out, ladder, fresh, args.quick)?;
    let command = if args.quick {
        "cargo xtask ladder --quick".to_string()
    } else {
        "cargo xtask ladder".to_string()
    };
    let total: f64 = results.iter().map(|r| r.seconds()).sum();
    print_table(&results);
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let md = report::markdown(&results, &ladder.claims, &command, total);
    write(&out.join("ladder.md"), md.as_bytes())?;
    // No thread count here: each run records its own, and none of the
    // figures depends on it.
    let json = serde_json::json!({
        "command": command,
        "quick": args.quick,
        "seconds": total,
        "rungs": results,
    });
    write(
        &out.join("ladder.json"),
        serde_json::to_string_pretty(&json)?.as_bytes(),
    )?;
    let references = plots::References {
        cnn: reference::Reference::load_beside(&args.config)?,
        fast: reference::SideBySide::load_beside(&args.config)?,
    };
    plots::write_all(&out.join("plots"), &results, &ladder.trajectories, &references).map_err(|e| e.to_string())?;
    eprintln!("wrote {}", out.join("ladder.md").display());
    Ok(())
}

/// The rungs just run, with those of an earlier run in `out/ladder.json`
/// (of the same kind, quick or full) that were not rerun, in the order of
/// the ladder.
fn merge(out: &Path, ladder: &Ladder, fresh: Vec<RungResult>, quick: bool) -> Result<Vec<RungResult>, Error> {
    let mut by_id: HashMap<String, RungResult> = HashMap::new();
    let path = out.join("ladder.json");
    if let Ok(text) = std::fs::read_to_string(&path) {
        #[derive(serde::Deserialize)]
        struct Saved {
            rungs: Vec<RungResult>,
        }
        match serde_json::from_str::<Saved>(&text) {
            Ok(saved) => {
                for r in saved.rungs.into_iter().filter(|r| r.quick == quick) {
                    by_id.insert(r.rung.id.clone(), r);
                }
            }
            Err(e) => eprintln!("note: not keeping {}: {e}", path.display()),
        }
    }
    for r in fresh {
        by_id.insert(r.rung.id.clone(), r);
    }
    Ok(ladder
        .rungs
        .iter()
        .filter_map(|rung| {
            by_id.remove(&rung.id).map(|mut r| {
                // The text of a rung (its brief, its explanation) follows the
                // current file; its settings stay those it ran with.
                r.rung.brief = rung.brief.clone();
                r.rung.explanation = rung.explanation.clone();
                r.rung.published = rung.published.clone();
                r
            })
        })
        .collect())
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()).into())
}

/// The table in the terminal.
fn print_table(results: &[RungResult]) {
    let header = [
        "rung",
        "setting",
        "published",
        "ours: test",
        "train",
        "time",
        "verdict",
        "seeds",
    ]
    .map(String::from);
    let rows: Vec<[String; 8]> = std::iter::once(header).chain(results.iter().map(report::row)).collect();
    let mut widths = [0usize; 8];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    // The published column carries the tutorial's words; keep the table narrow.
    widths[2] = widths[2].min(28);
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| {
                let cell: String = cell.chars().take(w).collect();
                format!("{cell:<w$}")
            })
            .collect();
        println!("{}", line.join("  ").trim_end());
    }
}

/// A progress bar over each stretch of one run: rung, seed, epoch, cost,
/// time left of the stretch.
struct RunProgress {
    multi: MultiProgress,
    name: String,
    bar: Option<ProgressBar>,
    sum: f64,
    last: String,
}

impl RunProgress {
    fn new(multi: &MultiProgress, name: String) -> Self {
        Self {
            multi: multi.clone(),
            name,
            bar: None,
            sum: 0.0,
            last: String::new(),
        }
    }

    fn done(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
    }
}

impl Callback for RunProgress {
    fn stretch_begin(&mut self, label: &str, batches: usize) {
        self.done();
        let bar = self.multi.add(ProgressBar::new(batches as u64));
        bar.set_style(
            ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {elapsed}<{eta} {msg}")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix(format!("{} {label}", self.name));
        bar.set_message(self.last.clone());
        self.bar = Some(bar);
        self.sum = 0.0;
    }

    fn batch_end(&mut self, cost: f32, _accuracy: f32) {
        let Some(bar) = &self.bar else { return };
        self.sum += cost as f64;
        bar.inc(1);
        let done = bar.position();
        if done.is_multiple_of(20) {
            bar.set_message(format!("cost {:.4} {}", self.sum / done as f64, self.last));
        }
    }

    fn record(&mut self, r: &Record, _net: &mut Classifier) -> Control {
        self.last = match r.test {
            Some(t) => format!("(last: cost {:.4}, test {:.4})", r.cost, t.accuracy),
            None => format!("(last: cost {:.4})", r.cost),
        };
        Control::Continue
    }
}
