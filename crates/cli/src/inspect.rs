//! `mnist inspect`: what an IDX file holds and whether it is the real MNIST.

use std::error::Error;
use std::path::{Path, PathBuf};

use mnist_io::files::{self, ALL_FILES, IMAGES_MAGIC, LABELS_MAGIC, sha256_hex};
use mnist_io::{DataError, idx};

pub fn run(paths: &[PathBuf]) -> Result<(), Box<dyn Error + Send + Sync>> {
    for path in paths {
        describe(path)?;
    }
    Ok(())
}

/// Images or labels, from the file's name when it says (`idx3`/`images`,
/// `idx1`/`labels`), else from its magic number.
fn expected_magic(path: &Path, content: &[u8]) -> Option<u32> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if name.contains("idx3") || name.contains("images") {
        Some(IMAGES_MAGIC)
    } else if name.contains("idx1") || name.contains("labels") {
        Some(LABELS_MAGIC)
    } else {
        content
            .get(..4)
            .map(|m| u32::from_be_bytes(m.try_into().expect("4 bytes")))
            .filter(|&m| m == IMAGES_MAGIC || m == LABELS_MAGIC)
    }
}

fn describe(path: &Path) -> Result<(), Box<dyn Error + Send + Sync>> {
    let raw = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if raw.is_empty() {
        return Err(DataError::Empty { path: path.into() }.into());
    }
    let gzip = idx::is_gzip(&raw);
    let content = idx::decompress_if_gzip(path, raw)?;
    let sha = sha256_hex(&content);
    let (dims, summary) = match expected_magic(path, &content) {
        Some(IMAGES_MAGIC) => {
            let im = files::parse_images(path, content)?;
            (
                vec![im.count, im.rows, im.cols],
                format!("{} images of {}x{}", im.count, im.rows, im.cols),
            )
        }
        Some(_) => {
            let labels = files::parse_labels(path, content)?;
            let mut counts = [0usize; 10];
            labels.iter().for_each(|&l| counts[l as usize] += 1);
            let per: Vec<String> = counts.iter().enumerate().map(|(d, n)| format!("{d}: {n}")).collect();
            (
                vec![labels.len()],
                format!("{} labels ({})", labels.len(), per.join(", ")),
            )
        }
        None => {
            let arr = idx::parse(path, content)?;
            (arr.dims.clone(), format!("{} bytes of IDX data", arr.data.len()))
        }
    };
    println!("{}", path.display());
    println!("  compression  {}", if gzip { "gzip" } else { "none" });
    println!("  dimensions   {dims:?}");
    println!("  content      {summary}");
    println!("  sha256       {sha}");
    match ALL_FILES.iter().find(|f| f.sha256 == sha) {
        Some(f) => println!("  identity     the real MNIST {}", f.name),
        None => println!("  identity     not one of the four MNIST files"),
    }
    Ok(())
}
