//! `mnist eval` and `mnist predict`: thin commands on a model loaded by
//! the `store` crate.

use std::error::Error;
use std::path::PathBuf;

use clap::Args;
use mnist_io::{CLASSES, Mnist, Split, Verify};
use store::Model;
use train::Batch;

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

/// A saved model and the data to run it on: what `eval` and `predict` take.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// The model file (written by `mnist train --save`).
    #[arg(long)]
    model: PathBuf,
    /// Folder holding the MNIST files [default: $MNIST_DATA_DIR, else data/mnist].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Accept IDX files that are not the real MNIST.
    #[arg(long)]
    no_verify: bool,
}

impl EvalArgs {
    /// The MNIST files, all 60,000 training images kept together.
    fn data(&self) -> Result<Mnist> {
        let verify = if self.no_verify {
            Verify::Skip
        } else {
            Verify::Checksums
        };
        Ok(Mnist::load(
            &mnist_io::data_dir(self.data_dir.as_deref()),
            Split::Full,
            verify,
        )?)
    }
}

/// `mnist eval`'s arguments.
#[derive(Args, Debug)]
pub struct EvalCommand {
    #[command(flatten)]
    source: EvalArgs,
    /// Also write the predicted digit of every test image here, one a line
    /// (to compare with another implementation, e.g. docs/load_mlp.py).
    #[arg(long)]
    predictions: Option<PathBuf>,
}

/// `mnist eval`: test accuracy, mean loss and the confusion matrix.
pub fn eval(command: &EvalCommand) -> Result<()> {
    let args = &command.source;
    let mut model = Model::load(&args.model)?;
    let net = &mut model.classifier;
    let data = args.data()?;
    let mut predicted = String::new();
    let mut batch = Batch::default();
    let mut confusion = [[0usize; CLASSES]; CLASSES];
    let (mut loss_sum, mut correct) = (0.0f64, 0usize);
    for start in (0..data.test.len()).step_by(200) {
        let end = (start + 200).min(data.test.len());
        batch.gather_range(net, &data.test, start, end);
        let (loss, right) = net.evaluate(&batch.x, &batch.labels)?;
        loss_sum += loss as f64 * (end - start) as f64;
        correct += right;
        for (&p, &l) in net.predictions().iter().zip(&batch.labels) {
            confusion[l as usize][p as usize] += 1;
            predicted.push_str(&format!("{p}\n"));
        }
    }
    if let Some(path) = &command.predictions {
        std::fs::write(path, &predicted).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let n = data.test.len().max(1) as f64;
    println!("Test Accuracy: {:.4}", correct as f64 / n);
    println!("Test Loss: {:.6}", loss_sum / n);
    println!("Confusion matrix (rows: true digit, columns: predicted):");
    println!("      {}", (0..CLASSES).map(|d| format!("{d:>5}")).collect::<String>());
    for (d, row) in confusion.iter().enumerate() {
        println!("  {d}:  {}", row.iter().map(|c| format!("{c:>5}")).collect::<String>());
    }
    Ok(())
}

#[derive(Args, Debug)]
#[group(id = "what", required = true, multiple = false, args = ["index", "image"])]
pub struct PredictArgs {
    #[command(flatten)]
    source: EvalArgs,
    /// Which test image to classify (0 to 9,999).
    #[arg(long)]
    index: Option<usize>,
    /// A picture of a digit (PNG or JPEG, any size, dark on light or light
    /// on dark), made into an MNIST image first: cropped to the ink, scaled
    /// into 20x20, centred by its centre of mass in 28x28.
    #[arg(long)]
    image: Option<PathBuf>,
}

/// `mnist predict`: the image drawn in the terminal (for a picture, the
/// 28x28 the network sees), the ten probabilities, and the tutorial's
/// `Label: [5] Prediction: [5]` (`Prediction: [5]` for a picture).
pub fn predict(args: &PredictArgs) -> Result<()> {
    let (pixels, label) = match (&args.image, args.index) {
        (Some(path), _) => (mnist_io::digit::to_mnist(&mnist_io::digit::open(path)?)?, None),
        (None, Some(index)) => {
            let data = args.source.data()?;
            if index >= data.test.len() {
                return Err(format!("--index {index} is past the {} test images", data.test.len()).into());
            }
            (data.test.image(index).to_vec(), Some(data.test.labels()[index]))
        }
        (None, None) => return Err("give --index N or --image FILE".into()),
    };
    let probs = Model::load(&args.source.model)?.classify(&pixels)?;
    print!("{}", draw(&pixels));
    for (digit, p) in probs.iter().enumerate() {
        println!("  {digit}  {p:.4}  {}", "#".repeat((p * 40.0).round() as usize));
    }
    let predicted = probs
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(d, _)| d)
        .unwrap_or(0);
    match label {
        Some(label) => println!("Label: [{label}] Prediction: [{predicted}]"),
        None => println!("Prediction: [{predicted}]"),
    }
    Ok(())
}

/// A 28x28 image in the terminal, two characters a pixel, darker ink denser.
fn draw(pixels: &[u8]) -> String {
    const SHADES: [&str; 5] = ["  ", "░░", "▒▒", "▓▓", "██"];
    pixels
        .chunks(mnist_io::IMAGE_SIDE)
        .map(|row| {
            row.iter()
                .map(|&p| SHADES[(p as usize * 5 / 256).min(4)])
                .collect::<String>()
                + "\n"
        })
        .collect()
}
