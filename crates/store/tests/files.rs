//! Model files as a library sees them: what is saved loads back bit for
//! bit, a file written before this crate existed still loads and classifies
//! as it did, and every kind of bad file is its own error naming the file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use mnist_store::{Model, StoreError};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use safetensors::SafeTensors;
use train::ModelSpec;

/// A model file written by `mnist train` before the model files moved out
/// of the binary into this crate (commit de213c1):
/// `mnist train --hidden 16 --batch-norm --dropout 0.1 --init he
/// --optimizer adam --lr 0.001 --steps 300 --batch-size 100 --seed 7`.
/// Its `mnist eval` then: test accuracy 0.8984; `mnist predict --index 0`:
/// 7 with probability 0.9599.
fn legacy_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/mlp-before-store.safetensors")
}

/// Every tensor of a safetensors file, by name, as raw bytes.
fn raw_tensors(path: &Path) -> HashMap<String, Vec<u8>> {
    let bytes = std::fs::read(path).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    file.tensors()
        .into_iter()
        .map(|(name, t)| (name, t.data().to_vec()))
        .collect()
}

/// The model's tensors, by name, as the bytes a file holds.
fn model_tensors(model: &mut nn::Sequential) -> HashMap<String, Vec<u8>> {
    let mut out = HashMap::new();
    model.visit_named(&mut |name, _, values| {
        out.insert(name.to_string(), values.iter().flat_map(|v| v.to_le_bytes()).collect());
    });
    out
}

fn small_spec() -> ModelSpec {
    ModelSpec {
        hidden: vec![12, 8],
        batch_norm: true,
        ..ModelSpec::default()
    }
}

#[test]
fn a_saved_model_loads_back_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let spec = small_spec();
    let mut model = spec.build(&mut Xoshiro256PlusPlus::seed_from_u64(3)).unwrap();
    // Running statistics away from their initial values, so that a loader
    // that skipped them would be caught.
    model.visit_named(&mut |name, _, values| {
        if name.contains("running") {
            values.iter_mut().enumerate().for_each(|(i, v)| *v = 0.25 + i as f32);
        }
    });
    let settings = serde_json::json!({ "note": "kept for people" });
    mnist_store::save(&path, &mut model, &spec, &settings).unwrap();
    let mut loaded = mnist_store::load_with(&path).unwrap();
    assert_eq!(loaded.arch, spec);
    assert_eq!(model_tensors(&mut loaded.model), model_tensors(&mut model));
    assert_eq!(loaded.metadata["format"], mnist_store::format::MODEL_FORMAT);
    assert_eq!(loaded.metadata["training"], settings.to_string());
    assert!(loaded.extra.is_empty());
    // No partial file is left beside it.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["m.safetensors"]);
}

#[test]
fn a_file_written_before_this_crate_still_loads_and_classifies_as_it_did() {
    let path = legacy_file();
    let mut model = Model::load(&path).unwrap();
    assert_eq!(model.arch.hidden, [16]);
    assert!(model.arch.batch_norm);
    assert_eq!(
        model_tensors(&mut model.classifier.model),
        raw_tensors(&path),
        "every tensor as the file holds it"
    );
    let Some(dir) = mnist_io::data_dir_for_tests(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/mnist"))
    else {
        return;
    };
    let data = mnist_io::Mnist::load(&dir, mnist_io::Split::Full, mnist_io::Verify::Skip).unwrap();
    let probabilities = model.classify(data.test.image(0)).unwrap();
    assert_eq!(probabilities.len(), 10);
    assert!((probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-5);
    assert!((probabilities[7] - 0.9599).abs() < 5e-5, "{probabilities:?}");
    let err = model.classify(&[0; 783]).unwrap_err().to_string();
    assert!(err.contains("[784]") && err.contains("[783]"), "{err}");
    let accuracy = train::evaluate(&mut model.classifier, &data.test, &mut train::Batch::default())
        .unwrap()
        .accuracy;
    let correct = (accuracy * data.test.len() as f64).round() as usize;
    assert_eq!(
        correct, 8984,
        "test accuracy as `mnist eval` gave when the file was written"
    );
}

/// Writes `tensors` with `metadata` as a safetensors file at `path`.
fn write_raw(path: &Path, source: &Path, keep: impl Fn(&str) -> bool, metadata: Option<HashMap<String, String>>) {
    let bytes = std::fs::read(source).unwrap();
    let file = SafeTensors::deserialize(&bytes).unwrap();
    let kept: Vec<_> = file.tensors().into_iter().filter(|(name, _)| keep(name)).collect();
    std::fs::write(path, safetensors::serialize(kept, metadata).unwrap()).unwrap();
}

#[test]
fn bad_files_are_errors_that_name_the_file_and_the_fault() {
    let dir = tempfile::tempdir().unwrap();
    let good = legacy_file();
    let bytes = std::fs::read(&good).unwrap();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let meta = header.metadata().clone().unwrap();

    let cut = dir.path().join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let missing = dir.path().join("missing.safetensors");
    write_raw(&missing, &good, |name| name != "dense.bias", Some(meta.clone()));
    let foreign = dir.path().join("foreign.safetensors");
    write_raw(&foreign, &good, |_| true, Some(HashMap::new()));
    let crafted = dir.path().join("crafted.safetensors");
    let mut crafted_meta = meta.clone();
    let arch = meta["architecture"].replace("\"dropout\":0.1", "\"dropout\":2.0");
    assert_ne!(arch, meta["architecture"], "the architecture JSON changed shape");
    crafted_meta.insert("architecture".into(), arch);
    write_raw(&crafted, &good, |_| true, Some(crafted_meta));
    let no_arch = dir.path().join("no-arch.safetensors");
    let mut no_arch_meta = meta.clone();
    no_arch_meta.remove("architecture");
    write_raw(&no_arch, &good, |_| true, Some(no_arch_meta));
    let absent = dir.path().join("absent.safetensors");

    let check = |path: &Path, expected: &str, is_right: fn(&StoreError) -> bool| {
        let err = match Model::load(path) {
            Err(e) => e,
            Ok(_) => panic!("{path:?} loaded"),
        };
        let text = err.to_string();
        assert!(is_right(&err), "{path:?}: {err:?}");
        assert!(text.starts_with(&path.display().to_string()), "{text}");
        assert!(text.contains(expected), "{text}");
    };
    check(&cut, "not a safetensors file", |e| {
        matches!(e, StoreError::NotSafetensors { .. })
    });
    check(
        &missing,
        "missing tensor dense.bias [16]",
        |e| matches!(e, StoreError::Mismatch { problems, .. } if problems.len() == 2),
    );
    check(&foreign, "not a model of this project (metadata format None", |e| {
        matches!(e, StoreError::NotOurs { found: None, .. })
    });
    check(&crafted, "invalid architecture", |e| {
        matches!(e, StoreError::Metadata { .. })
    });
    check(&no_arch, "no architecture in the metadata", |e| {
        matches!(e, StoreError::Metadata { .. })
    });
    check(&absent, "No such file", |e| matches!(e, StoreError::Io { .. }));
    // A model file is not a checkpoint.
    match mnist_store::Checkpoint::read(&good) {
        Err(StoreError::NotACheckpoint { path }) => assert_eq!(path, good),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("a model file read as a checkpoint"),
    }
}

#[test]
fn a_checkpoint_path_sits_beside_the_model() {
    assert_eq!(
        mnist_store::checkpoint_path_for(Path::new("runs/model.safetensors")),
        Path::new("runs/model.ckpt.safetensors")
    );
}
