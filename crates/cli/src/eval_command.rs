//! `mnist eval` and `mnist predict`: thin commands on a model loaded by
//! the `store` crate.

use std::error::Error;
use std::path::PathBuf;

use clap::Args;
use mnist_io::{CLASSES, Mnist, Split, Verify};
use store::{Model, most_likely};
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
    /// Pictures of digits (PNG or JPEG, any size up to 50 megapixels, dark
    /// on light or light on dark), or folders of them: each made into an
    /// MNIST image first (cropped to the ink, scaled into 20x20, centred by
    /// its centre of mass in 28x28). One picture is drawn with its ten
    /// probabilities; several give a table, a line each.
    #[arg(long, num_args = 1..)]
    image: Vec<PathBuf>,
    /// Print the results as JSON, for scripts: one object per picture,
    /// with its file and digit and probabilities, or its error.
    #[arg(long)]
    json: bool,
    /// Draw the 28x28 image the network saw for every picture (one picture
    /// is always drawn, unless --json).
    #[arg(long)]
    show: bool,
}

/// `mnist predict`: for a test image or one picture, the image drawn in
/// the terminal (for a picture, the 28x28 the network sees), the ten
/// probabilities, and the tutorial's `Label: [5] Prediction: [5]`
/// (`Prediction: [5]` for a picture); for several pictures, a table.
pub fn predict(args: &PredictArgs) -> Result<()> {
    if !args.image.is_empty() {
        return predict_pictures(args);
    }
    let Some(index) = args.index else {
        return Err("give --index N or --image FILE...".into());
    };
    let data = args.source.data()?;
    if index >= data.test.len() {
        return Err(format!("--index {index} is past the {} test images", data.test.len()).into());
    }
    let pixels = data.test.image(index).to_vec();
    let probs = Model::load(&args.source.model)?.classify(&pixels)?;
    print!("{}", draw(&pixels));
    print_probabilities(&probs);
    println!(
        "Label: [{}] Prediction: [{}]",
        data.test.labels()[index],
        most_likely(&probs)
    );
    Ok(())
}

/// `--image`: every picture made into an MNIST image first (so that a bad
/// one is named even without a model), then classified. A picture that
/// cannot be read is reported in its place and the others go on; the
/// command then fails, naming how many.
fn predict_pictures(args: &PredictArgs) -> Result<()> {
    let files = picture_files(&args.image)?;
    let prepared: Vec<(PathBuf, std::result::Result<Vec<u8>, String>)> = files
        .into_iter()
        .map(|path| {
            let pixels = mnist_io::digit::open(&path)
                .and_then(|picture| mnist_io::digit::to_mnist(&picture))
                .map_err(|e| match e {
                    // The file's name is in a decoding error already.
                    mnist_io::digit::DigitError::NoInk => format!("{}: {e}", path.display()),
                    e => e.to_string(),
                });
            (path, pixels)
        })
        .collect();
    if let [(_, Err(e))] = prepared.as_slice() {
        return Err(e.clone().into());
    }
    let mut model = Model::load(&args.source.model)?;
    let single = prepared.len() == 1 && !args.json;
    let mut json = Vec::new();
    let mut failed = 0;
    for (path, pixels) in &prepared {
        let pixels = match pixels {
            Ok(pixels) => pixels,
            Err(e) => {
                failed += 1;
                if args.json {
                    json.push(serde_json::json!({ "file": path, "error": e }));
                } else {
                    println!("{}  error: {e}", path.display());
                }
                continue;
            }
        };
        let probs = model.classify(pixels)?;
        let digit = most_likely(&probs);
        if args.json {
            json.push(serde_json::json!({ "file": path, "digit": digit, "probabilities": probs }));
            continue;
        }
        if single || args.show {
            print!("{}", draw(pixels));
        }
        if single {
            print_probabilities(&probs);
            println!("Prediction: [{digit}]");
        } else {
            println!("{}  {digit}  {:.4}", path.display(), probs[digit]);
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&json)?);
    }
    if failed > 0 {
        return Err(format!("{failed} of {} pictures could not be classified", prepared.len()).into());
    }
    Ok(())
}

/// The files named, with each folder replaced by its PNG and JPEG files in
/// name order.
fn picture_files(named: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in named {
        if !path.is_dir() {
            files.push(path.clone());
            continue;
        }
        let entries = std::fs::read_dir(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut inside: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && p.extension()
                        .and_then(|e| e.to_str())
                        .is_some_and(|e| ["png", "jpg", "jpeg"].contains(&e.to_ascii_lowercase().as_str()))
            })
            .collect();
        if inside.is_empty() {
            return Err(format!("{}: a folder with no PNG or JPEG files", path.display()).into());
        }
        inside.sort();
        files.extend(inside);
    }
    Ok(files)
}

/// The ten probabilities as bars.
fn print_probabilities(probs: &[f32]) {
    for (digit, p) in probs.iter().enumerate() {
        println!("  {digit}  {p:.4}  {}", "#".repeat((p * 40.0).round() as usize));
    }
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
