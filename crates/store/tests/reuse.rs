//! The library crates reused from outside this workspace: a scratch crate
//! in a temporary folder, with path dependencies on `store` and `mnist-io`
//! only, whose program is `examples/classify_png.rs` word for word, builds
//! offline and classifies a picture with a model file as the workspace's
//! own code does.

use std::path::{Path, PathBuf};
use std::process::Command;

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A picture a user might draw: dark ink, a slanted stroke, on white.
fn write_picture(path: &Path) {
    let (w, h) = (60u32, 80u32);
    let picture = image::GrayImage::from_fn(w, h, |x, y| {
        let centre = 35.0 - y as f32 * 0.15;
        if (x as f32 - centre).abs() < 5.0 && (8..72).contains(&y) {
            image::Luma([20])
        } else {
            image::Luma([245])
        }
    });
    picture.save(path).unwrap();
}

#[test]
fn a_crate_outside_the_workspace_loads_a_model_and_classifies_a_png() {
    let dir = tempfile::tempdir().unwrap();
    let scratch = dir.path().join("scratch");
    std::fs::create_dir_all(scratch.join("src")).unwrap();
    let crates = crate_dir().parent().unwrap().to_path_buf();
    let manifest = format!(
        r#"[package]
name = "scratch"
version = "0.1.0"
edition = "2024"

[dependencies]
mnist-store = {{ path = "{store}" }}
mnist-io = {{ path = "{io}", features = ["digit"] }}

[workspace]
"#,
        store = crates.join("store").display(),
        io = crates.join("mnist-io").display(),
    );
    std::fs::write(scratch.join("Cargo.toml"), manifest).unwrap();
    std::fs::copy(
        crate_dir().join("examples/classify_png.rs"),
        scratch.join("src/main.rs"),
    )
    .unwrap();
    // The workspace's lock file, so that the scratch crate resolves to the
    // versions already in cargo's cache and builds offline.
    std::fs::copy(crates.join("../Cargo.lock"), scratch.join("Cargo.lock")).unwrap();
    let picture = dir.path().join("digit.png");
    write_picture(&picture);
    let model = crate_dir().join("tests/data/mlp-before-store.safetensors");

    let out = Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--offline", "--manifest-path"])
        .arg(scratch.join("Cargo.toml"))
        .arg("--")
        .arg(&model)
        .arg(&picture)
        // Its own target folder inside the workspace's, so that its
        // dependencies are built once and kept between test runs.
        .env("CARGO_TARGET_DIR", crates.join("../target/reuse-scratch"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The same in this process.
    let mut loaded = mnist_store::Model::load(&model).unwrap();
    let image = mnist_io::digit::to_mnist(&mnist_io::digit::open(&picture).unwrap()).unwrap();
    let probabilities = loaded.classify(&image).unwrap();
    let expected: String = probabilities
        .iter()
        .enumerate()
        .map(|(digit, p)| format!("{digit}  {p:.4}\n"))
        .collect();
    assert!(stdout.starts_with(&expected), "{stdout}\nexpected\n{expected}");
    assert!(stdout.contains("Prediction: "), "{stdout}");
}
