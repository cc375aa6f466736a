//! Writing and reading model files: the safetensors layer under
//! the model and checkpoint types of this crate.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use nn::Sequential;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use train::ModelSpec;

use crate::error::{Result, StoreError};
use crate::format::{ARCHITECTURE_KEY, CHECKPOINT_FORMAT, FORMAT_KEY, MODEL_FORMAT, RUN_STATE_PREFIX, TRAINING_KEY};

/// Writes `model` to `path` as a model file. The bytes go to a temporary
/// file in the same folder, are flushed and synced, and only then renamed
/// over `path`: an interrupted save never leaves a broken file where a good
/// one was. `settings` is stored as the `training` entry, for people.
pub fn save(path: &Path, model: &mut Sequential, arch: &ModelSpec, settings: &serde_json::Value) -> Result<()> {
    save_with(path, model, arch, settings, MODEL_FORMAT, Vec::new(), Vec::new())
}

/// [`save`] with more: the `format`, `extra` tensors (1-D, f32, each name
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
    let encode = |reason: &dyn std::fmt::Display| StoreError::Encode {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
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
        .collect::<std::result::Result<Vec<_>, safetensors::SafeTensorError>>()
        .map_err(|e| encode(&e))?;
    let mut meta = HashMap::from([
        (FORMAT_KEY.to_string(), format.to_string()),
        (
            ARCHITECTURE_KEY.to_string(),
            serde_json::to_string(arch).map_err(|e| encode(&e))?,
        ),
        (TRAINING_KEY.to_string(), settings.to_string()),
    ]);
    meta.extend(metadata);
    let bytes = safetensors::serialize(views, Some(meta)).map_err(|e| encode(&e))?;
    write_atomically(path, &bytes)
}

/// Puts `bytes` at `path` through a synced temporary file and a rename.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| StoreError::NotAFileName {
        path: path.to_path_buf(),
    })?;
    let tmp = dir.join(format!(".{}.partial", name.to_string_lossy()));
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // The rename itself is durable once the folder is synced.
        std::fs::File::open(dir)?.sync_all()
    };
    write().map_err(|source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// All that [`load_with`] reads.
pub struct Loaded {
    /// The model, its tensors filled in.
    pub model: Sequential,
    /// Its architecture.
    pub arch: ModelSpec,
    /// The file's metadata (`format`, `architecture`, `training`, ...).
    pub metadata: HashMap<String, String>,
    /// A checkpoint's tensors beyond the model's, by name.
    pub extra: Vec<(String, Vec<f32>)>,
}

/// Reads a model file or a checkpoint: rebuilds the architecture from the
/// metadata, then checks each tensor's name, dtype and shape against it
/// before copying it in. A checkpoint's run state is kept in
/// [`Loaded::extra`] and [`Loaded::metadata`].
pub fn load_with(path: &Path) -> Result<Loaded> {
    let owned = || path.to_path_buf();
    let metadata_error = |problem: String| StoreError::Metadata { path: owned(), problem };
    let bytes = std::fs::read(path).map_err(|source| StoreError::Io { path: owned(), source })?;
    let not_safetensors = |e: safetensors::SafeTensorError| StoreError::NotSafetensors {
        path: owned(),
        reason: e.to_string(),
    };
    let file = SafeTensors::deserialize(&bytes).map_err(not_safetensors)?;
    let (_, header) = SafeTensors::read_metadata(&bytes).map_err(not_safetensors)?;
    let meta = header.metadata().clone().unwrap_or_default();
    let format = meta.get(FORMAT_KEY).map(String::as_str);
    if format != Some(MODEL_FORMAT) && format != Some(CHECKPOINT_FORMAT) {
        return Err(StoreError::NotOurs {
            path: owned(),
            found: format.map(str::to_string),
        });
    }
    let arch: ModelSpec = serde_json::from_str(
        meta.get(ARCHITECTURE_KEY)
            .ok_or_else(|| metadata_error(format!("no {ARCHITECTURE_KEY} in the metadata")))?,
    )
    .map_err(|e| metadata_error(format!("unreadable {ARCHITECTURE_KEY} ({e})")))?;
    // A crafted file could hold any numbers: check them as the flags are.
    arch.validate()
        .map_err(|e| metadata_error(format!("invalid {ARCHITECTURE_KEY} ({e})")))?;
    let mut model = arch
        .build(&mut Xoshiro256PlusPlus::seed_from_u64(0))
        .map_err(|e| metadata_error(format!("the {ARCHITECTURE_KEY} does not build ({e})")))?;
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
        return Err(StoreError::Mismatch {
            path: owned(),
            problems,
        });
    }
    Ok(Loaded {
        model,
        arch,
        metadata: meta,
        extra,
    })
}

/// The path a checkpoint of a run saving to `save` is written to:
/// `model.safetensors` gives `model.ckpt.safetensors`.
pub fn checkpoint_path_for(save: &Path) -> PathBuf {
    let stem = save.file_stem().unwrap_or_default().to_string_lossy();
    save.with_file_name(format!("{stem}.ckpt.safetensors"))
}
