//! `mnist train`: the classic tutorials' training loop and report.

use std::error::Error;
use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, ValueEnum};
use cli::augment_spec::parse_augment;
use cli::epoch::{Batch, Sampler, accuracy, run_epoch, run_steps};
use indicatif::{ProgressBar, ProgressStyle};
use mnist_io::augment::Augment;
use mnist_io::{CLASSES, IMAGE_PIXELS, Mnist, Split, Verify};
use nn::{
    BatchNorm, Classifier, Conv2d, Dense, Dropout, DropoutKind, Flatten, Init, MaxPool2d, Padding, Relu, Sequential,
};
use optim::{
    AdaDelta, AdaGrad, Adam, AdamConfig, BiasCorrection, GradientDescent, Momentum, Optimizer, RmsProp, Schedule,
};
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use serde::{Deserialize, Serialize};
use tensor::Shape;

/// The kinds of network `train` builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
pub enum ModelKind {
    /// Softmax regression: one affine layer from 784 pixels to 10 logits.
    Softmax,
    /// A multilayer perceptron: ReLU hidden layers of the sizes in --hidden.
    Mlp,
    /// The TensorFlow tutorial's CNN: conv 5x5x32 SAME, ReLU, max-pool 2; conv
    /// 5x5x64, ReLU, max-pool 2; dense 1024, ReLU; dropout (--dropout, 0.5 by
    /// default here); dense 10. Its own initialisers: conv weights truncated
    /// N(0, 0.1) and biases 0.1, dense-1024 weights truncated N(0, 1) and bias
    /// 0.1, output weights and bias 0 (--init and --bias-init do not apply).
    Cnn,
}

/// How the training images are split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SplitArg {
    /// 55,000 to train, 5,000 for validation (TensorFlow's split).
    Tensorflow,
    /// All 60,000 to train.
    Full,
}

/// Initialisers, by the names the tutorials' libraries give them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
pub enum InitArg {
    /// N(0, s²) with s from --init-std (TensorFlow's random_normal).
    Normal,
    /// Normal with deviation --init-std, redrawn beyond two deviations (TensorFlow's truncated_normal).
    TruncatedNormal,
    /// All zeros.
    Zeros,
    /// Glorot/Xavier uniform: U(-a, a), a = sqrt(6 / (fan_in + fan_out)).
    Xavier,
    /// Glorot/Xavier normal, truncated (Keras' glorot_normal).
    XavierNormal,
    /// He normal, truncated, std sqrt(2 / fan_in) after truncation (Keras' he_normal).
    He,
    /// He normal, not truncated: N(0, 2 / fan_in) (PyTorch's kaiming_normal_).
    HeNormal,
    /// He uniform: U(-a, a), a = sqrt(6 / fan_in).
    HeUniform,
    /// LeCun normal, truncated (Keras' lecun_normal).
    Lecun,
}

impl InitArg {
    fn init(self, std: f32) -> Init {
        match self {
            InitArg::Normal => Init::Normal { mean: 0.0, std },
            InitArg::TruncatedNormal => Init::TruncatedNormal { mean: 0.0, std },
            InitArg::Zeros => Init::Zeros,
            InitArg::Xavier => Init::XavierUniform,
            InitArg::XavierNormal => Init::XavierNormal,
            InitArg::He => Init::HeTruncated,
            InitArg::HeNormal => Init::HeNormal,
            InitArg::HeUniform => Init::HeUniform,
            InitArg::Lecun => Init::LeCunNormal,
        }
    }
}

/// Optimisers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OptimizerArg {
    /// Plain gradient descent: w -= lr g.
    Sgd,
    /// Momentum (--momentum, 0.9 by default).
    Momentum,
    /// Nesterov's accelerated gradient (--momentum).
    Nesterov,
    /// AdaGrad with epsilon 1e-7, as the NumPy course.
    Adagrad,
    /// RMSProp with rho 0.9 and epsilon 1e-7.
    Rmsprop,
    /// Adam with TensorFlow's defaults (beta1 0.9, beta2 0.999, epsilon 1e-8;
    /// see --adam-epsilon and --adam-correction).
    Adam,
    /// AdamW: Adam with decoupled weight decay (--decoupled-decay).
    Adamw,
    /// AdaDelta (rho 0.95, epsilon 1e-6); --lr scales its step (1 in the paper).
    Adadelta,
}

/// The network: shared by `train` and `summary`, and saved with a model.
#[derive(Args, Debug, Clone, Serialize, Deserialize)]
pub struct ModelArgs {
    /// The network.
    #[arg(long, value_enum, default_value = "mlp")]
    pub model: ModelKind,
    /// Sizes of the hidden ReLU layers of the MLP, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "256,256")]
    pub hidden: Vec<usize>,
    /// Initialiser of the weights.
    #[arg(long, value_enum, default_value = "normal")]
    pub init: InitArg,
    /// Initialiser of the biases (the TensorFlow tutorial draws them from N(0, 1) too).
    #[arg(long, value_enum, default_value = "normal")]
    pub bias_init: InitArg,
    /// Standard deviation of the normal and truncated-normal initialisers
    /// (the tutorials' tf.random_normal uses 1).
    #[arg(long, default_value_t = 1.0)]
    pub init_std: f32,
    /// Fraction of hidden units dropped in training, after each hidden layer
    /// (Keras' rate; TensorFlow's keep_prob 0.7 is --dropout 0.3). 0: no dropout.
    #[arg(long, default_value_t = 0.0)]
    pub dropout: f32,
    /// Scale kept units by 1/keep in training (inverted, as TensorFlow and
    /// Keras) or scale by keep at test time (the original paper and the NumPy course).
    #[arg(long, value_enum, default_value = "inverted")]
    pub dropout_kind: DropoutKindArg,
    /// Batch normalisation after each hidden affine layer, before its ReLU.
    #[arg(long)]
    pub batch_norm: bool,
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    #[command(flatten)]
    net: ModelArgs,
    /// The optimiser.
    #[arg(long, value_enum, default_value = "sgd")]
    optimizer: OptimizerArg,
    /// Learning rate.
    #[arg(long, default_value_t = 0.01)]
    lr: f32,
    /// Momentum of --optimizer momentum and nesterov.
    #[arg(long, default_value_t = 0.9)]
    momentum: f32,
    /// Epsilon of Adam and AdamW.
    #[arg(long, default_value_t = 1e-8)]
    adam_epsilon: f32,
    /// Where Adam's bias correction goes: in the step size with epsilon added
    /// to sqrt(v) (TensorFlow, the NumPy course), or on the moments (the paper).
    #[arg(long, value_enum, default_value = "step-size")]
    adam_correction: CorrectionArg,
    /// AdamW's decoupled weight decay: w -= lr * decay * w before each step.
    #[arg(long, default_value_t = 0.01)]
    decoupled_decay: f32,
    /// Passes over the training set.
    #[arg(long, default_value_t = 15)]
    epochs: usize,
    /// Train for this many steps instead of --epochs: batches walk shuffled
    /// epochs (TensorFlow's next_batch), or are drawn with replacement with
    /// --with-replacement (the NumPy course's way).
    #[arg(long)]
    steps: Option<usize>,
    /// With --steps: draw each batch uniformly with replacement.
    #[arg(long)]
    with_replacement: bool,
    /// With --steps: report the test accuracy every this many steps
    /// [default: an epoch's worth, training images / batch size].
    #[arg(long)]
    report_every: Option<usize>,
    /// With --steps: report the training accuracy too (a pass over the training set).
    #[arg(long)]
    report_train: bool,
    /// Learning-rate schedule, by epoch: constant, step:EVERY:GAMMA (times
    /// GAMMA every EVERY epochs), exp:GAMMA (times GAMMA each epoch), cosine
    /// (to 0 over --epochs), warmup:N (linear over the first N epochs).
    #[arg(long, default_value = "constant", value_parser = parse_schedule)]
    schedule: Schedule,
    /// Images per mini-batch.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    batch_size: u32,
    /// Seed of every random choice (initial weights, batch order, dropout masks).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// L2 weight decay λ: 0.5 λ Σ W² over the weights (not biases) added to
    /// the loss, as the NumPy course defines it.
    #[arg(long, default_value_t = 0.0)]
    weight_decay: f32,
    /// Random transforms of each training batch, comma-separated: rotate=DEG,
    /// shift=PX, scale=FRACTION, shear=DEG, elastic=ALPHA:SIGMA (Simard et al.
    /// use 34:4), brightness=B, contrast=C, invert=PROB, flip=PROB (flipping
    /// hurts digits); none for nothing.
    #[arg(long, default_value = "none", value_parser = parse_augment)]
    augment: Augment,
    /// How the 60,000 training images are split.
    #[arg(long, value_enum, default_value = "tensorflow")]
    split: SplitArg,
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
}

/// Where Adam's bias correction goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CorrectionArg {
    /// In the step size, epsilon added to sqrt(v) (TensorFlow).
    StepSize,
    /// On the moments, as the paper's Algorithm 1.
    Moments,
}

/// Where dropout scales.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
pub enum DropoutKindArg {
    /// Kept units times 1/keep in training; identity at test time.
    Inverted,
    /// Kept units unscaled in training; times keep at test time.
    ScaledAtTest,
}

impl ModelArgs {
    /// Checks what clap cannot: ranges of the numbers.
    pub fn validate(&self) -> Result<(), Box<dyn Error + Send + Sync>> {
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(format!(
                "--dropout is the fraction of units dropped, in [0, 1), got {}",
                self.dropout
            )
            .into());
        }
        if !(self.init_std.is_finite() && self.init_std >= 0.0) {
            return Err(format!("--init-std must be a non-negative number, got {}", self.init_std).into());
        }
        Ok(())
    }
}

/// Builds the network `args` describe, drawing its initial weights (and its
/// dropout layers' seeds) from `rng`.
pub fn build(args: &ModelArgs, rng: &mut Xoshiro256PlusPlus) -> Result<Sequential, Box<dyn Error + Send + Sync>> {
    if args.model == ModelKind::Cnn {
        return build_cnn(args, rng);
    }
    let weight_init = args.init.init(args.init_std);
    let bias_init = args.bias_init.init(args.init_std);
    let mut model = Sequential::new(Shape::new(&[IMAGE_PIXELS]));
    let hidden: &[usize] = match args.model {
        ModelKind::Softmax => &[],
        ModelKind::Mlp | ModelKind::Cnn => &args.hidden,
    };
    let kind = match args.dropout_kind {
        DropoutKindArg::Inverted => DropoutKind::Inverted,
        DropoutKindArg::ScaledAtTest => DropoutKind::ScaledAtTest,
    };
    let mut width = IMAGE_PIXELS;
    for &h in hidden {
        if h == 0 {
            return Err("--hidden: a layer needs at least one unit".into());
        }
        model.push(Dense::new(width, h, &weight_init, &bias_init, rng))?;
        if args.batch_norm {
            model.push(BatchNorm::new(h, 0.9, 1e-7))?;
        }
        model.push(Relu)?;
        if args.dropout > 0.0 {
            model.push(Dropout::new(1.0 - args.dropout, kind, rng.random()))?;
        }
        width = h;
    }
    model.push(Dense::new(width, CLASSES, &weight_init, &bias_init, rng))?;
    Ok(model)
}

/// Parses `--schedule`.
fn parse_schedule(text: &str) -> Result<Schedule, String> {
    let parts: Vec<&str> = text.split(':').collect();
    let num = |i: usize| -> Result<f64, String> {
        parts
            .get(i)
            .ok_or_else(|| format!("{text:?} lacks a number after its {}th ':'", i))?
            .parse::<f64>()
            .map_err(|e| format!("{text:?}: {e}"))
    };
    let schedule = match parts[0] {
        "constant" => Schedule::Constant,
        "step" => Schedule::Step {
            every: num(1)? as usize,
            gamma: num(2)? as f32,
        },
        "exp" => Schedule::Exponential { gamma: num(1)? as f32 },
        // The total is filled in from --epochs by `run`.
        "cosine" => Schedule::Cosine { total: 0, min: 0.0 },
        "warmup" => Schedule::Warmup {
            warmup: num(1)? as usize,
        },
        other => {
            return Err(format!(
                "{other:?} is not a schedule: constant, step:E:G, exp:G, cosine, warmup:N"
            ));
        }
    };
    Ok(schedule)
}

/// The TensorFlow tutorial's CNN (LADDER.md, section F).
fn build_cnn(args: &ModelArgs, rng: &mut Xoshiro256PlusPlus) -> Result<Sequential, Box<dyn Error + Send + Sync>> {
    let conv_w = Init::TruncatedNormal { mean: 0.0, std: 0.1 };
    let dense_w = Init::TruncatedNormal { mean: 0.0, std: 1.0 };
    let bias = Init::Constant(0.1);
    let keep = if args.dropout > 0.0 { 1.0 - args.dropout } else { 0.5 };
    let kind = match args.dropout_kind {
        DropoutKindArg::Inverted => DropoutKind::Inverted,
        DropoutKindArg::ScaledAtTest => DropoutKind::ScaledAtTest,
    };
    let side = mnist_io::IMAGE_SIDE;
    let mut model = Sequential::new(Shape::new(&[side, side, 1]));
    // --batch-norm: over the channels after each convolution, and over the
    // features after the hidden dense layer, before each ReLU.
    let norm = |model: &mut Sequential, features: usize| -> Result<(), nn::NnError> {
        if args.batch_norm {
            model.push(BatchNorm::new(features, 0.9, 1e-7))?;
        }
        Ok(())
    };
    model.push(Conv2d::new(1, 32, 5, 1, Padding::Same, &conv_w, &bias, rng))?;
    norm(&mut model, 32)?;
    model.push(Relu)?;
    model.push(MaxPool2d::new(2, 2, Padding::Same))?;
    model.push(Conv2d::new(32, 64, 5, 1, Padding::Same, &conv_w, &bias, rng))?;
    norm(&mut model, 64)?;
    model.push(Relu)?;
    model.push(MaxPool2d::new(2, 2, Padding::Same))?;
    model.push(Flatten)?;
    model.push(Dense::new(7 * 7 * 64, 1024, &dense_w, &bias, rng))?;
    norm(&mut model, 1024)?;
    model.push(Relu)?;
    model.push(Dropout::new(keep, kind, rng.random()))?;
    model.push(Dense::new(1024, CLASSES, &Init::Zeros, &Init::Zeros, rng))?;
    Ok(model)
}

fn optimizer(args: &TrainArgs) -> Box<dyn Optimizer> {
    match args.optimizer {
        OptimizerArg::Sgd => Box::new(GradientDescent::new(args.lr)),
        OptimizerArg::Momentum => Box::new(Momentum::new(args.lr, args.momentum)),
        OptimizerArg::Nesterov => Box::new(Momentum::nesterov(args.lr, args.momentum)),
        OptimizerArg::Adagrad => Box::new(AdaGrad::new(args.lr, 1e-7)),
        OptimizerArg::Rmsprop => Box::new(RmsProp::new(args.lr, 0.9, 1e-7)),
        OptimizerArg::Adam | OptimizerArg::Adamw => Box::new(Adam::new(AdamConfig {
            epsilon: args.adam_epsilon,
            correction: match args.adam_correction {
                CorrectionArg::StepSize => BiasCorrection::StepSize,
                CorrectionArg::Moments => BiasCorrection::Moments,
            },
            weight_decay: if args.optimizer == OptimizerArg::Adamw {
                args.decoupled_decay
            } else {
                0.0
            },
            ..AdamConfig::tensorflow(args.lr)
        })),
        OptimizerArg::Adadelta => Box::new(AdaDelta::new(args.lr, 0.95, 1e-6)),
    }
}

pub fn run(args: &TrainArgs) -> Result<(), Box<dyn Error + Send + Sync>> {
    args.net.validate()?;
    if !(args.lr.is_finite() && args.lr > 0.0) {
        return Err(format!("--lr must be a positive number, got {}", args.lr).into());
    }
    if !(args.adam_epsilon.is_finite() && args.adam_epsilon > 0.0) {
        return Err(format!("--adam-epsilon must be a positive number, got {}", args.adam_epsilon).into());
    }
    if !(args.decoupled_decay.is_finite() && args.decoupled_decay >= 0.0) {
        return Err(format!(
            "--decoupled-decay must be a non-negative number, got {}",
            args.decoupled_decay
        )
        .into());
    }
    if !(args.weight_decay.is_finite() && args.weight_decay >= 0.0) {
        return Err(format!(
            "--weight-decay must be a non-negative number, got {}",
            args.weight_decay
        )
        .into());
    }
    let dir = mnist_io::data_dir(args.data_dir.as_deref());
    let split = match args.split {
        SplitArg::Tensorflow => Split::TensorFlow,
        SplitArg::Full => Split::Full,
    };
    let verify = if args.no_verify {
        Verify::Skip
    } else {
        Verify::Checksums
    };
    let data = Mnist::load(&dir, split, verify)?;

    let mut rng = Xoshiro256PlusPlus::seed_from_u64(args.seed);
    let mut net = Classifier::new(build(&args.net, &mut rng)?);
    net.weight_decay = args.weight_decay;
    let mut optimizer = optimizer(args);
    let length = match args.steps {
        Some(steps) if args.with_replacement => {
            format!("{steps} steps of batch {} drawn with replacement", args.batch_size)
        }
        Some(steps) => format!("{steps} steps of batch {}", args.batch_size),
        None => format!("{} epochs of batch {}", args.epochs, args.batch_size),
    };
    eprintln!(
        "Training {:?} ({} parameters) on {} images, {} for validation, {} for test; {length}, {:?} lr {}",
        args.net.model,
        net.model.param_count(),
        data.train.len(),
        data.validation.len(),
        data.test.len(),
        args.optimizer,
        args.lr
    );

    let mut batch = Batch::default();
    let started = Instant::now();
    let schedule = match args.schedule {
        Schedule::Cosine { min, .. } => Schedule::Cosine {
            total: args.epochs,
            min,
        },
        other => other,
    };
    let batch_size = args.batch_size as usize;
    match args.steps {
        None => {
            let batches = data.train.len().div_ceil(batch_size);
            for epoch in 1..=args.epochs {
                optimizer.set_learning_rate(schedule.rate(args.lr, epoch - 1));
                let bar = Progress::new(args.quiet, batches, format!("Epoch {epoch}/{}", args.epochs));
                let cost = run_epoch(
                    &mut net,
                    &data.train,
                    batch_size,
                    &args.augment,
                    optimizer.as_mut(),
                    &mut rng,
                    &mut batch,
                    &mut |cost| bar.step(cost),
                )?;
                bar.finish();
                println!("Epoch: {epoch:04} cost = {cost:.9}");
            }
        }
        Some(steps) => {
            // Reports as the tutorials print them: the CNN tutorial every 500
            // steps, the NumPy course every epoch's worth of steps.
            let every = args.report_every.unwrap_or(data.train.len() / batch_size).max(1);
            let mut sampler = if args.with_replacement {
                Sampler::with_replacement()
            } else {
                Sampler::epochs()
            };
            let mut done = 0;
            while done < steps {
                optimizer.set_learning_rate(schedule.rate(args.lr, done / every));
                let n = every.min(steps - done);
                let bar = Progress::new(args.quiet, n, format!("Steps {}-{}", done + 1, done + n));
                let cost = run_steps(
                    &mut net,
                    &data.train,
                    batch_size,
                    &args.augment,
                    n,
                    &mut sampler,
                    optimizer.as_mut(),
                    &mut rng,
                    &mut batch,
                    &mut |cost| bar.step(cost),
                )?;
                bar.finish();
                done += n;
                let test = accuracy(&mut net, &data.test, &mut batch)?;
                if args.report_train {
                    let train = accuracy(&mut net, &data.train, &mut batch)?;
                    println!("Step: {done}, Loss: {cost:.9}, Accuracy: {test:.4}, Train accuracy: {train:.4}");
                } else {
                    println!("Step: {done}, Loss: {cost:.9}, Accuracy: {test:.4}");
                }
            }
        }
    }
    println!("Learning Finished!");
    eprintln!("({:.1} s)", started.elapsed().as_secs_f64());

    // Runs by steps report their accuracy as they go; a pass over the
    // training set costs as much as 5,000 steps of the CNN, so it is only
    // made when asked for.
    if args.steps.is_none() || args.report_train {
        println!("Train Accuracy: {:.4}", accuracy(&mut net, &data.train, &mut batch)?);
        if !data.validation.is_empty() {
            println!(
                "Validation Accuracy: {:.4}",
                accuracy(&mut net, &data.validation, &mut batch)?
            );
        }
    }
    println!("Test Accuracy: {:.4}", accuracy(&mut net, &data.test, &mut batch)?);

    if let Some(path) = &args.save {
        let settings = serde_json::json!({
            "optimizer": format!("{:?}", args.optimizer), "lr": args.lr, "epochs": args.epochs,
            "steps": args.steps, "batch_size": args.batch_size, "seed": args.seed,
            "weight_decay": args.weight_decay, "split": format!("{:?}", args.split),
        });
        crate::model_file::save(path, &mut net.model, &args.net, &settings)?;
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

/// `mnist summary`: the network's layers, as Keras' `model.summary()`.
pub fn summary(args: &ModelArgs) -> Result<(), Box<dyn Error + Send + Sync>> {
    args.validate()?;
    let model = build(args, &mut Xoshiro256PlusPlus::seed_from_u64(0))?;
    print!("{}", model.summary());
    Ok(())
}

/// A progress bar over a stretch of batches, on standard error: drawn only on
/// a terminal (redirected output gets the plain per-epoch lines alone) and
/// not at all with --quiet.
struct Progress {
    bar: ProgressBar,
    sum: std::cell::Cell<f64>,
}

impl Progress {
    fn new(quiet: bool, batches: usize, prefix: String) -> Self {
        let bar = if quiet {
            ProgressBar::hidden()
        } else {
            ProgressBar::new(batches as u64)
        };
        bar.set_style(
            ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {elapsed}<{eta} {msg}")
                .expect("a valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix(prefix);
        Self {
            bar,
            sum: std::cell::Cell::new(0.0),
        }
    }

    /// One batch done with `cost`: the message shows the running mean.
    fn step(&self, cost: f32) {
        self.sum.set(self.sum.get() + cost as f64);
        self.bar.inc(1);
        let done = self.bar.position();
        // Formatting the message every batch would cost more than the bar.
        if done.is_multiple_of(10) || Some(done) == self.bar.length() {
            let per_step = self.bar.elapsed().as_secs_f64() * 1e3 / done as f64;
            self.bar
                .set_message(format!("{per_step:.1}ms/step loss {:.4}", self.sum.get() / done as f64));
        }
    }

    fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
