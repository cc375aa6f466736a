//! `mnist predict --image` on photo-like pictures of real test digits: dark
//! ink on white, several times larger than 28x28, off centre. A model
//! trained for two epochs recognises them as it recognises the originals.
//! Needs `data/mnist` (skips with a reason without it, unless
//! MNIST_REQUIRE_DATA is set).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use image::{GrayImage, Luma, imageops};

fn data_dir() -> Option<PathBuf> {
    mnist_io::data_dir_for_tests(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/mnist"))
}

fn mnist(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mnist")).args(args).output().unwrap()
}

fn prediction(out: &Output) -> u8 {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line = stdout.lines().find(|l| l.contains("Prediction: [")).unwrap();
    let digit = line.rsplit("Prediction: [").next().unwrap();
    digit[..1].parse().unwrap()
}

#[test]
fn photo_like_pictures_of_test_digits_are_recognised() {
    let Some(data) = data_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    let d = data.to_str().unwrap();
    let out = mnist(&[
        "train",
        "--data-dir",
        d,
        "--hidden",
        "128",
        "--init",
        "he",
        "--bias-init",
        "zeros",
        "--optimizer",
        "adam",
        "--lr",
        "0.001",
        "--epochs",
        "2",
        "--quiet",
        "--save",
        model.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let m = model.to_str().unwrap();

    let mnist_data = mnist_io::Mnist::load(&data, mnist_io::Split::Full, mnist_io::Verify::Checksums).unwrap();
    let (mut right, mut same) = (0, 0);
    let n = 12;
    let pictures = dir.path().join("pictures");
    std::fs::create_dir(&pictures).unwrap();
    let mut one_by_one = Vec::new();
    for i in 0..n {
        // Scale the digit up 6 times, make it dark on white, put it on a
        // 400x300 sheet away from the centre.
        let digit = GrayImage::from_fn(28, 28, |x, y| {
            Luma([255 - mnist_data.test.image(i)[(y * 28 + x) as usize]])
        });
        let big = imageops::resize(&digit, 168, 168, imageops::FilterType::Triangle);
        let mut sheet = GrayImage::from_pixel(400, 300, Luma([255]));
        imageops::overlay(&mut sheet, &big, 30 + 17 * i as i64, 20 + 9 * i as i64);
        let path = pictures.join(format!("digit{i:02}.png"));
        sheet.save(&path).unwrap();

        let from_picture = prediction(&mnist(&["predict", "--model", m, "--image", path.to_str().unwrap()]));
        let from_index = prediction(&mnist(&[
            "predict",
            "--model",
            m,
            "--data-dir",
            d,
            "--index",
            &i.to_string(),
        ]));
        right += usize::from(from_picture == mnist_data.test.labels()[i]);
        same += usize::from(from_picture == from_index);
        one_by_one.push(from_picture);
    }
    eprintln!("{right} of {n} recognised, {same} as their originals");
    assert!(right >= n - 1, "{right} of {n} pictures recognised");
    assert!(same >= n - 1, "{same} of {n} pictures classified as their originals");

    // The folder at once: a line per picture in name order, each with the
    // digit it gave alone; as JSON, the same digits.
    let folder = pictures.to_str().unwrap();
    let out = mnist(&["predict", "--model", m, "--image", folder]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table: Vec<u8> = stdout
        .lines()
        .map(|l| l.split_whitespace().nth(1).unwrap().parse().unwrap())
        .collect();
    assert_eq!(table, one_by_one, "{stdout}");
    assert!(stdout.lines().next().unwrap().contains("digit00.png"), "{stdout}");
    let out = mnist(&["predict", "--model", m, "--json", "--image", folder]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let digits: Vec<u8> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["digit"].as_u64().unwrap() as u8)
        .collect();
    assert_eq!(digits, one_by_one);

    // A blank picture and a text file among them: each its error in its
    // place, the others classified, and the command fails naming how many.
    GrayImage::from_pixel(40, 40, Luma([255]))
        .save(pictures.join("blank.png"))
        .unwrap();
    std::fs::write(pictures.join("notes.png"), "not a picture").unwrap();
    let out = mnist(&["predict", "--model", m, "--image", folder]);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("2 of 14 pictures could not be classified"), "{stderr}");
    assert!(
        stdout.contains("blank.png  error: ") && stdout.contains("no digit in the image"),
        "{stdout}"
    );
    assert!(
        stdout.contains("notes.png  error: ") && stdout.contains("not a PNG or JPEG image"),
        "{stdout}"
    );
    assert_eq!(stdout.lines().count(), 14, "{stdout}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_file_that_is_not_an_image_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("notes.png");
    std::fs::write(&text, "not a picture").unwrap();
    // The picture is read before the model, so no model file is needed to see the error.
    let out = mnist(&[
        "predict",
        "--model",
        "absent.safetensors",
        "--image",
        text.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("notes.png: not a PNG or JPEG image"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let out = mnist(&["predict", "--model", "absent.safetensors"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--index"),
        "clap names what is missing"
    );
}
