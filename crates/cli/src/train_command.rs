//! `mnist train`: the classic tutorials' training loop and report, through
//! the `train` crate's `fit`.

use std::error::Error;
use std::path::PathBuf;

use clap::Args;
use cli::tensorboard::EventWriter;
use indicatif::{ProgressBar, ProgressStyle};
use mnist_io::{Mnist, Verify};
use rand::RngExt;
use train::{Batch, Callback, Control, Data, Length, ModelSpec, Progress, Record, Run, RunSpec, evaluate, fit_from};

use store::{Checkpoint, Checkpointer};

/// `mnist train`'s flags: the run (every setting that decides what it
/// computes, [`RunSpec`], flattened) and what this front end does around
/// it (where the data is, what it writes, how it reports).
#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Start from a recipe, a run chosen by experiment for one purpose;
    /// flags given beside it override its settings. robust: the tutorial's
    /// CNN trained with augmentation to read photos and drawings (12,000
    /// steps; the ladder's rung R). fast: a small batch-normalised CNN for
    /// one epoch in one learning-rate cycle, 99% in seconds (rung G).
    #[arg(long, value_enum)]
    recipe: Option<train::Recipe>,
    #[command(flatten)]
    run: RunSpec,
    /// End the run with an error (exit code 1) after the epoch (or report)
    /// in which the cost first becomes NaN or infinite, instead of training
    /// on to the end as the tutorials do; either way the step is reported.
    #[arg(long)]
    stop_on_divergence: bool,
    /// Folder holding the MNIST files [default: $MNIST_DATA_DIR, else data/mnist].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Accept IDX files that are not the real MNIST (skip the SHA-256 check).
    #[arg(long)]
    no_verify: bool,
    /// No progress bar (it is shown only on a terminal anyway).
    #[arg(long)]
    quiet: bool,
    /// Save the trained model here (safetensors, with the architecture in its
    /// metadata), replacing any file there only once the new one is complete.
    #[arg(long)]
    save: Option<PathBuf>,
    /// With --save: after every N epochs (or reports, with --steps) also
    /// write a checkpoint, MODEL.ckpt.safetensors beside the --save file:
    /// the model with the optimiser's state, the random generators, the
    /// position in the data and the records so far, for --resume.
    #[arg(long, requires = "save", value_parser = clap::value_parser!(u64).range(1..))]
    checkpoint_every: Option<u64>,
    /// Continue the run that wrote this checkpoint, bit for bit as if it had
    /// never stopped. Every setting comes from the checkpoint; only
    /// --data-dir, --no-verify and --quiet may be given beside it.
    #[arg(long)]
    resume: Option<PathBuf>,
    /// Write the history (every epoch's or report's cost, accuracies, losses,
    /// learning rate and time) here as JSON.
    #[arg(long)]
    history: Option<PathBuf>,
    /// Write TensorBoard event files into this folder (e.g. runs/NAME):
    /// the cost of every batch, and per epoch (or report) the cost, the
    /// learning rate and the measured losses and accuracies.
    #[arg(long)]
    logdir: Option<PathBuf>,
    /// After training, draw the cost and the accuracies per epoch (or
    /// report) into this SVG file.
    #[arg(long)]
    plot: Option<PathBuf>,
}

/// The flags that may be given beside --resume (clap's ids: field names).
const RESUME_FLAGS: [&str; 4] = ["resume", "data_dir", "no_verify", "quiet"];

/// `mnist train`, with `arguments` its command line (after `train`) and
/// `given` the ids of the flags given on it.
pub fn run(args: &TrainArgs, arguments: &[String], given: &[String]) -> Result<(), Box<dyn Error + Send + Sync>> {
    let Some(path) = &args.resume else {
        return train(args, arguments, None);
    };
    let others: Vec<String> = given
        .iter()
        .filter(|id| !RESUME_FLAGS.contains(&id.as_str()))
        .map(|id| format!("--{}", id.replace('_', "-")))
        .collect();
    if !others.is_empty() {
        return Err(format!(
            "--resume takes every setting from the checkpoint; drop {} (only --data-dir, --no-verify and --quiet go with it)",
            others.join(", ")
        )
        .into());
    }
    let checkpoint = Checkpoint::read(path)?;
    let mut stored = parse_stored(&checkpoint.arguments)
        .map_err(|e| format!("{}: the arguments it holds do not parse: {e}", path.display()))?;
    if args.data_dir.is_some() {
        stored.data_dir = args.data_dir.clone();
    }
    stored.no_verify |= args.no_verify;
    stored.quiet |= args.quiet;
    let arguments = checkpoint.arguments.clone();
    train(&stored, &arguments, Some((path, checkpoint)))
}

/// `mnist train`'s flags as a command of their own, to read a checkpoint's.
#[derive(clap::Parser)]
struct Stored {
    #[command(flatten)]
    args: TrainArgs,
}

fn parse_stored(arguments: &[String]) -> Result<TrainArgs, clap::Error> {
    use clap::Parser;
    let words = std::iter::once("train".to_string()).chain(arguments.iter().cloned());
    Ok(Stored::try_parse_from(words)?.args)
}

/// Trains as `args` say, from `checkpoint` if there is one; `arguments`
/// are kept in the checkpoints this run writes.
fn train(
    args: &TrainArgs,
    arguments: &[String],
    checkpoint: Option<(&PathBuf, Checkpoint)>,
) -> Result<(), Box<dyn Error + Send + Sync>> {
    if args.resume.is_some() {
        return Err("a checkpoint's arguments cannot name another checkpoint to resume".into());
    }
    let spec = &args.run;
    // The network is built (and a network that cannot fit refused) before
    // the data is read for it.
    let Run {
        mut net,
        mut optimizer,
        mut rng,
        mut stopping,
    } = spec.start()?;
    let dir = mnist_io::data_dir(args.data_dir.as_deref());
    let verify = if args.no_verify {
        Verify::Skip
    } else {
        Verify::Checksums
    };
    let loading = std::time::Instant::now();
    let data = Mnist::load(&dir, spec.split, verify)?;
    let load_seconds = loading.elapsed().as_secs_f64();

    let resumed = match checkpoint {
        Some((path, checkpoint)) => {
            let (records, step) = checkpoint.position();
            eprintln!("Resuming from {} after record {records} (step {step})", path.display());
            Some(checkpoint.restore(&mut net, optimizer.as_mut(), &mut rng, stopping.as_mut())?)
        }
        None => None,
    };
    let batch_size = spec.fit.batch_size;
    let length = spec.fit.length(data.train.len());
    let described = match length {
        Length::Steps {
            steps,
            with_replacement: true,
            ..
        } => format!("{steps} steps of batch {batch_size} drawn with replacement"),
        Length::Steps { steps, .. } => format!("{steps} steps of batch {batch_size}"),
        Length::Epochs(epochs) => format!("{epochs} epochs of batch {batch_size}"),
    };
    let name = match &spec.model.arch {
        Some(arch) => format!("--arch {arch:?}"),
        None => format!("{:?}", spec.model.model),
    };
    eprintln!(
        "Training {name} ({} parameters) on {} images, {} for validation, {} for test; {described}, {:?} lr {}",
        net.model.param_count(),
        data.train.len(),
        data.validation.len(),
        data.test.len(),
        spec.optimizer.optimizer,
        spec.optimizer.lr
    );

    let progress = resumed.unwrap_or_else(|| Progress::start(length));
    let by_steps = spec.fit.by_steps();
    let mut report = Report {
        bar: None,
        quiet: args.quiet,
        by_steps,
        batch_size,
        epoch_images: data.train.len(),
        batches: 0,
        sum: 0.0,
        accuracy_sum: 0.0,
        stop_on_divergence: args.stop_on_divergence,
    };
    let mut log = match &args.logdir {
        Some(dir) => Some(TensorBoardLog::create(dir, progress.step as i64)?),
        None => None,
    };
    // The whole run specification goes into model files, for people.
    let settings = serde_json::to_value(spec)?;
    let mut checkpointer = match (&args.save, args.checkpoint_every) {
        (Some(save), Some(every)) => Some(Checkpointer {
            path: store::checkpoint_path_for(save),
            every: every as usize,
            arguments: arguments.to_vec(),
            arch: spec.model.clone(),
            settings: settings.clone(),
            error: None,
            written: 0,
            // Early stopping's state goes into the checkpoints.
            stopping: stopping.take(),
        }),
        _ => None,
    };
    let mut callbacks: Vec<&mut dyn Callback> = vec![&mut report];
    if let Some(stopping) = stopping.as_mut() {
        callbacks.push(stopping);
    }
    if let Some(log) = log.as_mut() {
        callbacks.push(log);
    }
    if let Some(checkpointer) = checkpointer.as_mut() {
        callbacks.push(checkpointer);
    }
    let history = fit_from(
        &mut net,
        optimizer.as_mut(),
        &Data::of(&data),
        &spec.fit,
        &mut rng,
        progress,
        &mut callbacks,
    )?;
    if let Some(Checkpointer { error: Some(e), .. }) = &checkpointer {
        return Err(format!("training stopped: a checkpoint could not be written: {e}").into());
    }
    if let (true, Some(divergence)) = (args.stop_on_divergence, history.diverged) {
        return Err(format!("training stopped (--stop-on-divergence): {divergence}").into());
    }
    println!("Learning Finished!");
    eprintln!("({:.1} s)", history.seconds);
    if let Some(divergence) = history.diverged {
        eprintln!("note: {divergence}");
    }
    if let Some(log) = log {
        log.finish()?;
    }
    let stopping = stopping
        .as_ref()
        .or(checkpointer.as_ref().and_then(|c| c.stopping.as_ref()));
    if let Some((epoch, loss)) = stopping.and_then(|s| s.best()) {
        eprintln!("kept the model of record {epoch} (validation loss {loss:.4})");
    }

    // Runs by steps report their accuracy as they go; a pass over the
    // training set costs as much as 5,000 steps of the CNN, so it is only
    // made when asked for.
    let mut batch = Batch::default();
    if !by_steps || spec.fit.report_train {
        println!(
            "Train Accuracy: {:.4}",
            evaluate(&mut net, &data.train, &mut batch)?.accuracy
        );
        if !data.validation.is_empty() {
            println!(
                "Validation Accuracy: {:.4}",
                evaluate(&mut net, &data.validation, &mut batch)?.accuracy
            );
        }
    }
    // A run ends at a record, so the last record measured these very
    // weights, unless early stopping put back an earlier model: its test
    // figure is printed rather than a second pass over 10,000 images (half
    // a second of the fast recipe's run).
    let measured = match (history.records.last(), stopping) {
        (Some(record), None) => record.test,
        _ => None,
    };
    let test = match measured {
        Some(metrics) => metrics,
        None => evaluate(&mut net, &data.test, &mut batch)?,
    };
    println!("Test Accuracy: {:.4}", test.accuracy);
    // Time to accuracy as a user waits for it: from the process's start,
    // loading and checking the data included, to the final figure.
    eprintln!(
        "wall time {:.2} s from the start: loading the data {load_seconds:.2} s, training {:.2} s \
         ({} kernel, {} threads)",
        crate::STARTED.get().map_or(0.0, |t| t.elapsed().as_secs_f64()),
        history.seconds,
        kernels::isa::Isa::selected().name(),
        rayon::current_num_threads()
    );

    if let Some(path) = &args.plot {
        cli::history_plot::draw(path, &history, by_steps).map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("plotted {}", path.display());
    }
    if let Some(path) = &args.history {
        let json = serde_json::to_string_pretty(&history)?;
        std::fs::write(path, json).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if let Some(Checkpointer { path, written, .. }) = &checkpointer {
        eprintln!("checkpoints written to {} this run: {written}", path.display());
    }
    if let Some(path) = &args.save {
        store::save(path, &mut net.model, &spec.model, &settings)?;
        eprintln!("saved {}", path.display());
    }

    let r = rng.random_range(0..data.test.len());
    let mut dims = vec![1];
    dims.extend_from_slice(net.model.input_shape().dims());
    batch.x.set_dims(&dims);
    data.test.gather(&[r], batch.x.data_mut(), &mut batch.labels);
    let predicted = net.predict(&batch.x)?[0];
    println!("Label: [{}] Prediction: [{predicted}]", batch.labels[0]);
    Ok(())
}

/// `--logdir`: every batch's cost and every record's figures as
/// TensorBoard scalars. A failed write is kept and reported after training
/// (a callback cannot stop the run with an error).
struct TensorBoardLog {
    writer: EventWriter,
    step: i64,
    error: Option<std::io::Error>,
}

impl TensorBoardLog {
    /// Logs into `dir`, counting steps from `step` (a resumed run's).
    fn create(dir: &std::path::Path, step: i64) -> Result<Self, Box<dyn Error + Send + Sync>> {
        Ok(Self {
            writer: EventWriter::create(dir)?,
            step,
            error: None,
        })
    }

    fn keep(&mut self, result: std::io::Result<()>) {
        if let (Err(e), None) = (result, &self.error) {
            self.error = Some(e);
        }
    }

    fn finish(mut self) -> Result<(), Box<dyn Error + Send + Sync>> {
        let flushed = self.writer.flush();
        self.keep(flushed);
        match self.error {
            Some(e) => Err(format!("{}: {e}", self.writer.path().display()).into()),
            None => Ok(()),
        }
    }
}

impl Callback for TensorBoardLog {
    fn batch_end(&mut self, cost: f32, accuracy: f32) {
        self.step += 1;
        let written = self.writer.scalar("batch/cost", self.step, cost);
        self.keep(written);
        let written = self.writer.scalar("batch/accuracy", self.step, accuracy);
        self.keep(written);
    }

    fn record(&mut self, r: &Record, _net: &mut nn::Classifier) -> Control {
        let at = r.epoch as i64;
        let mut scalars = vec![
            ("epoch/cost", r.cost),
            ("epoch/batch_accuracy", r.batch_accuracy),
            ("epoch/learning_rate", r.learning_rate as f64),
        ];
        for (loss, accuracy, metrics) in [
            ("epoch/train_loss", "epoch/train_accuracy", r.train),
            ("epoch/validation_loss", "epoch/validation_accuracy", r.validation),
            ("epoch/test_loss", "epoch/test_accuracy", r.test),
        ] {
            if let Some(m) = metrics {
                scalars.push((loss, m.loss));
                scalars.push((accuracy, m.accuracy));
            }
        }
        for (tag, value) in scalars {
            let written = self.writer.scalar(tag, at, value as f32);
            self.keep(written);
        }
        let flushed = self.writer.flush();
        self.keep(flushed);
        Control::Continue
    }
}

/// `mnist summary`: the network's layers, as Keras' `model.summary()`.
/// `mnist summary`: from the network's plan, so that a network of any size
/// is counted without allocating it.
pub fn summary(args: &ModelSpec) -> Result<(), Box<dyn Error + Send + Sync>> {
    print!("{}", nn::summary_of(&args.plan()?));
    Ok(())
}

/// The terminal side of a run: a progress bar over each stretch of batches
/// on standard error (drawn only on a terminal, so redirected output gets
/// the plain lines alone, and not at all with --quiet), and a line per
/// record on standard output, as the tutorials print them.
struct Report {
    bar: Option<ProgressBar>,
    quiet: bool,
    by_steps: bool,
    /// Images per batch, and in an epoch (the last batch may be short).
    batch_size: usize,
    epoch_images: usize,
    batches: usize,
    sum: f64,
    accuracy_sum: f64,
    stop_on_divergence: bool,
}

impl Callback for Report {
    fn diverged(&mut self, divergence: &train::Divergence) -> Control {
        let say = || eprintln!("warning: {divergence}");
        match &self.bar {
            Some(bar) => bar.suspend(say),
            None => say(),
        }
        if self.stop_on_divergence {
            Control::Stop
        } else {
            Control::Continue
        }
    }

    fn stretch_begin(&mut self, label: &str, batches: usize) {
        // Counted in images, as Keras counts samples.
        let images = if self.by_steps {
            batches * self.batch_size
        } else {
            self.epoch_images
        };
        let bar = if self.quiet {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(images as u64)
        };
        self.batches = 0;
        bar.set_style(
            ProgressStyle::with_template("{prefix} {pos:>6}/{len} images [{bar:30}] {elapsed}<{eta} {msg}")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix(label.to_string());
        self.bar = Some(bar);
        self.sum = 0.0;
        self.accuracy_sum = 0.0;
    }

    fn batch_end(&mut self, cost: f32, accuracy: f32) {
        let Some(bar) = &self.bar else { return };
        self.sum += cost as f64;
        self.accuracy_sum += accuracy as f64;
        self.batches += 1;
        let images = (self.batches * self.batch_size) as u64;
        bar.set_position(images.min(bar.length().unwrap_or(images)));
        let done = self.batches;
        // Formatting the message every batch would cost more than the bar.
        if done.is_multiple_of(10) || Some(bar.position()) == bar.length() {
            let per_step = bar.elapsed().as_secs_f64() * 1e3 / done as f64;
            bar.set_message(format!(
                "{per_step:.1}ms/step loss {:.4} accuracy {:.4}",
                self.sum / done as f64,
                self.accuracy_sum / done as f64
            ));
        }
    }

    fn stretch_end(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }

    fn record(&mut self, r: &Record, _net: &mut nn::Classifier) -> Control {
        let validation = r
            .validation
            .map(|m| format!(" (validation loss {:.4}, accuracy {:.4})", m.loss, m.accuracy))
            .unwrap_or_default();
        if !self.by_steps {
            println!("Epoch: {:04} cost = {:.9}{validation}", r.epoch, r.cost);
            return Control::Continue;
        }
        // The tutorials' line; a figure not measured (--report-test false)
        // is left out rather than printed as NaN.
        let test = r
            .test
            .map(|m| format!(", Accuracy: {:.4}", m.accuracy))
            .unwrap_or_default();
        let train = r
            .train
            .map(|m| format!(", Train accuracy: {:.4}", m.accuracy))
            .unwrap_or_default();
        println!("Step: {}, Loss: {:.9}{test}{train}{validation}", r.step, r.cost);
        Control::Continue
    }
}
