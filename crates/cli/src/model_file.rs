//! Models on disk: safetensors files, one tensor per parameter (and batch
//! norm's running statistics) named `layer.tensor` with Keras' layer names,
//! the architecture and training settings as JSON in the metadata, so the
//! file alone rebuilds the model. And `mnist eval`.

use std::collections::HashMap;
use std::error::Error;
use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Args;
use mnist_io::{CLASSES, Mnist, Split, Verify};
use nn::{Classifier, Sequential};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use safetensors::{Dtype, SafeTensors, tensor::TensorView};

use train::{Batch, ModelSpec};

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

/// What the metadata's `format` says of a file this project wrote.
const FORMAT: &str = "mnist-from-scratch/1";

/// What the metadata's `format` says of a checkpoint (a model file with the
/// state of its run beside it; `eval` and `predict` read it as a model).
pub const CHECKPOINT_FORMAT: &str = "mnist-from-scratch-checkpoint/1";

/// Tensors of a checkpoint that are not the model's begin with this.
pub const RUN_STATE_PREFIX: &str = "run.";

/// Writes `model` to `path` as safetensors. The bytes go to a temporary file
/// in the same folder, are flushed and synced, and only then renamed over
/// `path`: an interrupted save never leaves a broken file where a good one was.
pub fn save(path: &Path, model: &mut Sequential, arch: &ModelSpec, settings: &serde_json::Value) -> Result<()> {
    save_with(path, model, arch, settings, FORMAT, Vec::new(), Vec::new())
}

/// [`save`] with more: `format`, `extra` tensors (1-D, f32, each name
/// starting with [`RUN_STATE_PREFIX`]) and `metadata` entries.
pub fn save_with(
    path: &Path,
    model: &mut Sequential,
    arch: &ModelSpec,
    settings: &serde_json::Value,
    format: &str,
    extra: Vec<(String, Vec<f32>)>,
    metadata: Vec<(String, String)>,
) -> Result<()> {
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    model.visit_named(&mut |name, dims, values| {
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        tensors.push((name.to_string(), dims.to_vec(), bytes));
    });
    for (name, values) in extra {
        debug_assert!(name.starts_with(RUN_STATE_PREFIX));
        let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        tensors.push((name, vec![values.len()], bytes));
    }
    let views = tensors
        .iter()
        .map(|(name, dims, bytes)| Ok((name.clone(), TensorView::new(Dtype::F32, dims.clone(), bytes)?)))
        .collect::<std::result::Result<Vec<_>, safetensors::SafeTensorError>>()?;
    let mut meta = HashMap::from([
        ("format".to_string(), format.to_string()),
        ("architecture".to_string(), serde_json::to_string(arch)?),
        ("training".to_string(), settings.to_string()),
    ]);
    meta.extend(metadata);
    let bytes = safetensors::serialize(views, Some(meta))?;
    write_atomically(path, &bytes)
}

/// Puts `bytes` at `path` through a synced temporary file and a rename.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| format!("{}: not a file name", path.display()))?;
    let tmp = dir.join(format!(".{}.partial", name.to_string_lossy()));
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // The rename itself is durable once the folder is synced.
        std::fs::File::open(dir)?.sync_all()
    };
    write().map_err(|e| format!("{}: {e}", path.display()).into())
}

/// Reads a model written by [`save`] (or a checkpoint): rebuilds the
/// architecture from the metadata, then checks each tensor's name, dtype
/// and shape against it before copying it in.
pub fn load(path: &Path) -> Result<(Sequential, ModelSpec)> {
    let loaded = load_with(path)?;
    Ok((loaded.model, loaded.arch))
}

/// All that [`load_with`] reads.
pub struct Loaded {
    /// The model, its tensors filled in.
    pub model: Sequential,
    /// Its architecture.
    pub arch: ModelSpec,
    /// The file's metadata (`format`, `architecture`, `training`, ...).
    pub metadata: HashMap<String, String>,
    /// The checkpoint's tensors beyond the model's, by name.
    pub extra: Vec<(String, Vec<f32>)>,
}

/// [`load`], keeping the metadata and a checkpoint's other tensors.
pub fn load_with(path: &Path) -> Result<Loaded> {
    let at = |e: &dyn std::fmt::Display| format!("{}: {e}", path.display());
    let bytes = std::fs::read(path).map_err(|e| at(&e))?;
    let file = SafeTensors::deserialize(&bytes).map_err(|e| at(&format!("not a safetensors file ({e})")))?;
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(|e| at(&e))?;
    let meta = header.metadata().clone().unwrap_or_default();
    let format = meta.get("format").map(String::as_str);
    if format != Some(FORMAT) && format != Some(CHECKPOINT_FORMAT) {
        return Err(at(&format!(
            "not a model of this project (metadata format {format:?}, expected {FORMAT:?} or {CHECKPOINT_FORMAT:?})"
        ))
        .into());
    }
    let arch: ModelSpec = serde_json::from_str(
        meta.get("architecture")
            .ok_or_else(|| at(&"no architecture in the metadata"))?,
    )
    .map_err(|e| at(&format!("unreadable architecture ({e})")))?;
    // A crafted file could hold any numbers: check them as the flags are.
    arch.validate()
        .map_err(|e| at(&format!("invalid architecture ({e})")))?;
    let mut model = arch
        .build(&mut Xoshiro256PlusPlus::seed_from_u64(0))
        .map_err(|e| at(&e))?;
    let mut problems = Vec::new();
    let mut expected = 0;
    model.visit_named(&mut |name, dims, values| {
        expected += 1;
        match file.tensor(name) {
            Err(_) => problems.push(format!("missing tensor {name} {dims:?}")),
            Ok(t) if t.dtype() != Dtype::F32 => problems.push(format!("{name}: dtype {:?}, expected F32", t.dtype())),
            Ok(t) if t.shape() != dims => problems.push(format!("{name}: shape {:?}, expected {dims:?}", t.shape())),
            Ok(t) => {
                for (v, b) in values.iter_mut().zip(t.data().chunks_exact(4)) {
                    *v = f32::from_le_bytes(b.try_into().expect("4 bytes"));
                }
            }
        }
    });
    let mut extra = Vec::new();
    if format == Some(CHECKPOINT_FORMAT) {
        for (name, t) in file.tensors() {
            if !name.starts_with(RUN_STATE_PREFIX) {
                continue;
            }
            if t.dtype() != Dtype::F32 || t.shape().len() != 1 {
                problems.push(format!(
                    "{name}: {:?} {:?}, expected a 1-D F32 tensor",
                    t.dtype(),
                    t.shape()
                ));
                continue;
            }
            let values = t
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
                .collect();
            extra.push((name, values));
        }
    }
    if file.names().len() != expected + extra.len() {
        problems.push(format!(
            "{} model tensors in the file, the architecture has {expected}",
            file.names().len() - extra.len()
        ));
    }
    if !problems.is_empty() {
        return Err(at(&format!("does not match its architecture: {}", problems.join("; "))).into());
    }
    Ok(Loaded {
        model,
        arch,
        metadata: meta,
        extra,
    })
}

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
    let (model, _) = load(&args.model)?;
    let data = args.data()?;
    let mut predicted = String::new();
    let mut net = Classifier::new(model);
    let mut batch = Batch::default();
    let mut confusion = [[0usize; CLASSES]; CLASSES];
    let (mut loss_sum, mut correct) = (0.0f64, 0usize);
    for start in (0..data.test.len()).step_by(200) {
        let end = (start + 200).min(data.test.len());
        batch.gather_range(&net, &data.test, start, end);
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
        (Some(path), _) => (cli::digit::to_mnist(&cli::digit::open(path)?)?, None),
        (None, Some(index)) => {
            let data = args.source.data()?;
            if index >= data.test.len() {
                return Err(format!("--index {index} is past the {} test images", data.test.len()).into());
            }
            (data.test.image(index).to_vec(), Some(data.test.labels()[index]))
        }
        (None, None) => return Err("give --index N or --image FILE".into()),
    };
    let (model, _) = load(&args.source.model)?;
    let mut net = Classifier::new(model);
    let probs = crate::serve::classify(&mut net, &pixels)?;
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
