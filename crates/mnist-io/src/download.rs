//! Downloading MNIST from the public mirrors (feature `download`).
//!
//! Each file is tried on each mirror in turn; what a mirror serves is
//! decompressed and checked against the real MNIST's SHA-256 before it is
//! stored, so a mirror that serves a corrupt or different file is skipped.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::{DataError, Result};
use crate::files::MnistFile;
use crate::store::store_verified;

/// Public mirrors that serve the four `.gz` files under these prefixes,
/// most reliable first. (The original site now often refuses robots, so it
/// comes last.)
pub const MIRRORS: &[&str] = &[
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
];

/// What a download reports while it runs (a progress bar, a log, nothing).
pub trait Progress {
    /// A download of `url` starts; `total` is its length when the server says.
    fn start(&mut self, url: &str, total: Option<u64>);
    /// `bytes` more have arrived.
    fn advance(&mut self, bytes: u64);
    /// The download of `url` failed for `reason`; the next mirror is tried.
    fn failed(&mut self, url: &str, reason: &str);
    /// The file is verified and stored at `path`.
    fn done(&mut self, path: &Path);
}

/// A [`Progress`] that reports nothing.
pub struct Silent;

impl Progress for Silent {
    fn start(&mut self, _: &str, _: Option<u64>) {}
    fn advance(&mut self, _: u64) {}
    fn failed(&mut self, _: &str, _: &str) {}
    fn done(&mut self, _: &Path) {}
}

/// Downloads `file` from the first of `mirrors` (URL prefixes ending in `/`)
/// that serves the real thing, and stores it in `dir`.
pub fn fetch(file: MnistFile, mirrors: &[&str], dir: &Path, progress: &mut dyn Progress) -> Result<PathBuf> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(15)))
        .timeout_recv_body(Some(Duration::from_secs(120)))
        .build()
        .into();
    let mut reasons = Vec::new();
    for mirror in mirrors {
        let url = format!("{mirror}{}", file.gz_name());
        let attempt = get(&agent, &url, progress).and_then(|bytes| store_verified(file, Path::new(&url), bytes, dir));
        match attempt {
            Ok(path) => {
                progress.done(&path);
                return Ok(path);
            }
            Err(e) => {
                let reason = e.to_string();
                progress.failed(&url, &reason);
                reasons.push(format!("  {url}: {reason}"));
            }
        }
    }
    Err(DataError::Download {
        url: file.gz_name(),
        reason: format!("no mirror served the real file:\n{}", reasons.join("\n")),
    })
}

/// Downloads all four files into `dir`.
pub fn fetch_all(mirrors: &[&str], dir: &Path, progress: &mut dyn Progress) -> Result<Vec<PathBuf>> {
    crate::files::ALL_FILES
        .iter()
        .map(|&file| fetch(file, mirrors, dir, progress))
        .collect()
}

fn get(agent: &ureq::Agent, url: &str, progress: &mut dyn Progress) -> Result<Vec<u8>> {
    let fail = |reason: String| DataError::Download {
        url: url.into(),
        reason,
    };
    let mut response = agent.get(url).call().map_err(|e| fail(e.to_string()))?;
    let total = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    progress.start(url, total);
    let mut reader = response.body_mut().as_reader();
    let mut bytes = Vec::with_capacity(total.unwrap_or(0).min(64 << 20) as usize);
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut chunk).map_err(|e| fail(e.to_string()))?;
        if n == 0 {
            break;
        }
        bytes.extend_from_slice(&chunk[..n]);
        progress.advance(n as u64);
    }
    Ok(bytes)
}
