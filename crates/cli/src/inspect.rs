//! `mnist inspect`: what an IDX file holds and whether it is the real MNIST.

use std::error::Error;
use std::path::{Path, PathBuf};

use mnist_io::files::{ALL_FILES, sha256_hex};
use mnist_io::idx;

pub fn run(paths: &[PathBuf]) -> Result<(), Box<dyn Error>> {
    for path in paths {
        describe(path)?;
    }
    Ok(())
}

fn describe(path: &Path) -> Result<(), Box<dyn Error>> {
    let raw = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let gzip = idx::is_gzip(&raw);
    let content = if raw.is_empty() {
        return Err(mnist_io::DataError::Empty { path: path.into() }.into());
    } else {
        idx::decompress_if_gzip(path, raw)?
    };
    let sha = sha256_hex(&content);
    let known = ALL_FILES.iter().find(|f| f.sha256 == sha);
    let arr = idx::parse(path, content)?;
    println!("{}", path.display());
    println!("  compression   {}", if gzip { "gzip" } else { "none" });
    println!(
        "  magic         {} (unsigned bytes, {} dimensions)",
        arr.magic(),
        arr.dims.len()
    );
    println!("  dimensions    {:?}", arr.dims);
    if arr.dims.len() == 1 {
        let mut counts = [0usize; 256];
        arr.data.iter().for_each(|&l| counts[l as usize] += 1);
        let shown: Vec<String> = (0..256)
            .filter(|&v| counts[v] > 0)
            .map(|v| format!("{v}: {}", counts[v]))
            .collect();
        println!("  values        {}", shown.join(", "));
    }
    println!("  sha256        {sha}");
    match known {
        Some(f) => println!("  identity      the real MNIST {}", f.name),
        None => println!("  identity      not one of the four MNIST files"),
    }
    Ok(())
}
