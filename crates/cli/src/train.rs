//! `mnist train`: the classic tutorials' training loop and report.

use std::error::Error;
use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, ValueEnum};
use cli::epoch::{Batch, accuracy, run_epoch};
use mnist_io::{CLASSES, IMAGE_PIXELS, Mnist, Split, Verify};
use nn::{Classifier, Dense, Init, Relu, Sequential};
use optim::GradientDescent;
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use tensor::Shape;

/// The kinds of network `train` builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ModelKind {
    /// Softmax regression: one affine layer from 784 pixels to 10 logits.
    Softmax,
    /// A multilayer perceptron: ReLU hidden layers of the sizes in --hidden.
    Mlp,
}

/// How the training images are split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SplitArg {
    /// 55,000 to train, 5,000 for validation (TensorFlow's split).
    Tensorflow,
    /// All 60,000 to train.
    Full,
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// The network to train.
    #[arg(long, value_enum, default_value = "mlp")]
    model: ModelKind,
    /// Sizes of the hidden ReLU layers of the MLP, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "256,256")]
    hidden: Vec<usize>,
    /// Learning rate of gradient descent.
    #[arg(long, default_value_t = 0.01)]
    lr: f32,
    /// Passes over the training set.
    #[arg(long, default_value_t = 15)]
    epochs: usize,
    /// Images per mini-batch.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    batch_size: u32,
    /// Seed of every random choice (initial weights, batch order).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Standard deviation of the normal distribution that initialises weights
    /// and biases (the tutorials' `tf.random_normal` uses 1).
    #[arg(long, default_value_t = 1.0)]
    init_std: f32,
    /// How the 60,000 training images are split.
    #[arg(long, value_enum, default_value = "tensorflow")]
    split: SplitArg,
    /// Folder holding the MNIST files [default: $MNIST_DATA_DIR, else data/mnist].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Accept IDX files that are not the real MNIST (skip the SHA-256 check).
    #[arg(long)]
    no_verify: bool,
}

/// Builds the network `args` describe, drawing its initial weights from `rng`.
fn build(args: &TrainArgs, rng: &mut Xoshiro256PlusPlus) -> Result<Sequential, Box<dyn Error + Send + Sync>> {
    let init = Init::Normal {
        mean: 0.0,
        std: args.init_std,
    };
    let mut model = Sequential::new(Shape::new(&[IMAGE_PIXELS]));
    let hidden: &[usize] = match args.model {
        ModelKind::Softmax => &[],
        ModelKind::Mlp => &args.hidden,
    };
    let mut width = IMAGE_PIXELS;
    for &h in hidden {
        if h == 0 {
            return Err("--hidden: a layer needs at least one unit".into());
        }
        model.push(Dense::new(width, h, &init, &init, rng))?;
        model.push(Relu)?;
        width = h;
    }
    model.push(Dense::new(width, CLASSES, &init, &init, rng))?;
    Ok(model)
}

pub fn run(args: &TrainArgs) -> Result<(), Box<dyn Error + Send + Sync>> {
    if !(args.lr.is_finite() && args.lr > 0.0) {
        return Err(format!("--lr must be a positive number, got {}", args.lr).into());
    }
    if !(args.init_std.is_finite() && args.init_std >= 0.0) {
        return Err(format!("--init-std must be a non-negative number, got {}", args.init_std).into());
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
    let mut net = Classifier::new(build(args, &mut rng)?);
    let mut optimizer = GradientDescent::new(args.lr);
    eprintln!(
        "Training {:?} ({} parameters) on {} images, {} for validation, {} for test; {} epochs of batch {}, lr {}",
        args.model,
        net.model.param_count(),
        data.train.len(),
        data.validation.len(),
        data.test.len(),
        args.epochs,
        args.batch_size,
        args.lr
    );

    let mut batch = Batch::default();
    let started = Instant::now();
    for epoch in 1..=args.epochs {
        let cost = run_epoch(
            &mut net,
            &data.train,
            args.batch_size as usize,
            &mut optimizer,
            &mut rng,
            &mut batch,
        )?;
        println!("Epoch: {epoch:04} cost = {cost:.9}");
    }
    println!("Learning Finished!");
    eprintln!("({:.1} s)", started.elapsed().as_secs_f64());

    println!("Train Accuracy: {:.4}", accuracy(&mut net, &data.train, &mut batch)?);
    if !data.validation.is_empty() {
        println!(
            "Validation Accuracy: {:.4}",
            accuracy(&mut net, &data.validation, &mut batch)?
        );
    }
    println!("Test Accuracy: {:.4}", accuracy(&mut net, &data.test, &mut batch)?);

    let r = rng.random_range(0..data.test.len());
    batch.x.set_dims(&[1, IMAGE_PIXELS]);
    data.test.gather(&[r], batch.x.data_mut(), &mut batch.labels);
    let predicted = net.predict(&batch.x)?[0];
    println!("Label: [{}] Prediction: [{predicted}]", batch.labels[0]);
    Ok(())
}
