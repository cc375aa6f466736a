//! Putting verified MNIST files into a data folder.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{DataError, Result};
use crate::files::MnistFile;
use crate::idx;

/// Checks that `bytes` (raw or gzip) are the real `file`, then writes them
/// as they are to `dir/NAME` or `dir/NAME.gz` (by their content). The write
/// goes to a temporary file that is renamed into place, so an interrupted
/// copy never leaves a partial file under the real name.
pub fn store_verified(file: MnistFile, origin: &Path, bytes: Vec<u8>, dir: &Path) -> Result<PathBuf> {
    let gzip = idx::is_gzip(&bytes);
    let content = idx::decompress_if_gzip(origin, bytes.clone())?;
    file.verify(origin, &content)?;
    std::fs::create_dir_all(dir).map_err(|e| DataError::io(dir, e))?;
    let target = dir.join(if gzip { file.gz_name() } else { file.name.to_string() });
    let tmp = dir.join(format!(".{}.partial", file.name));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &target)
    };
    write().map_err(|e| DataError::io(&target, e))?;
    Ok(target)
}

/// Copies the four files from `source` (each raw or `.gz`) into `dir`,
/// checking each one's checksum. Returns the paths written.
pub fn copy_from(source: &Path, dir: &Path) -> Result<Vec<PathBuf>> {
    crate::files::ALL_FILES
        .iter()
        .map(|&file| {
            let path = file.find_in(source)?;
            let bytes = std::fs::read(&path).map_err(|e| DataError::io(&path, e))?;
            store_verified(file, &path, bytes, dir)
        })
        .collect()
}

/// True when `dir` already holds all four files with the right checksums.
pub fn is_complete(dir: &Path) -> bool {
    crate::files::ALL_FILES.iter().all(|file| {
        file.find_in(dir)
            .and_then(|p| idx::read_content(&p).and_then(|c| file.verify(&p, &c)))
            .is_ok()
    })
}
