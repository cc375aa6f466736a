//! Loads a model written by `mnist train --save` and classifies a picture
//! of a digit, with the library crates alone (`store`, and `mnist-io` for
//! the picture):
//!
//! `cargo run --release -p mnist-store --example classify_png -- MODEL.safetensors DIGIT.png`

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [model, picture] = args.as_slice() else {
        eprintln!("usage: classify_png MODEL.safetensors PICTURE.png");
        return ExitCode::from(2);
    };
    match classify(Path::new(model), Path::new(picture)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("classify_png: {e}");
            ExitCode::FAILURE
        }
    }
}

fn classify(model: &Path, picture: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let mut model = mnist_store::Model::load(model)?;
    // Grey, cropped to the ink, 20x20 in a 28x28 box, centred by mass.
    let image = mnist_io::digit::to_mnist(&mnist_io::digit::open(picture)?)?;
    let probabilities = model.classify(&image)?;
    for (digit, p) in probabilities.iter().enumerate() {
        println!("{digit}  {p:.4}");
    }
    println!("Prediction: {}", mnist_store::most_likely(&probabilities));
    Ok(())
}
