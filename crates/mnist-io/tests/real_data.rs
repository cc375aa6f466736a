//! The real MNIST files: checksums, counts, splits. These need the data in
//! `data/mnist`; they skip with a reason when it is absent, unless
//! `MNIST_REQUIRE_DATA` is set (as in CI), where they fail instead.

use std::path::{Path, PathBuf};

use mnist_io::files::ALL_FILES;
use mnist_io::{Mnist, Split, Verify};

fn data_dir() -> Option<PathBuf> {
    mnist_io::data_dir_for_tests(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/mnist"))
}

#[test]
fn loads_and_splits_like_tensorflow() {
    let Some(dir) = data_dir() else { return };
    let m = Mnist::load(&dir, Split::TensorFlow, Verify::Checksums).unwrap();
    assert_eq!(
        (m.train.len(), m.validation.len(), m.test.len()),
        (55_000, 5_000, 10_000)
    );
    // Known first labels of the training and test sets.
    assert_eq!(&m.train.labels()[..5], &[5, 0, 4, 1, 9]);
    assert_eq!(&m.test.labels()[..5], &[7, 2, 1, 0, 4]);
    // The validation set is the *last* 5,000 training images.
    let full = Mnist::load(&dir, Split::Full, Verify::Checksums).unwrap();
    assert_eq!(full.train.len(), 60_000);
    assert_eq!(full.train.image(55_000), m.validation.image(0));
    assert_eq!(&full.train.labels()[55_000..], m.validation.labels());
    // Every class is present in fair numbers.
    for c in 0..10u8 {
        let n = m.test.labels().iter().filter(|&&l| l == c).count();
        assert!((800..1200).contains(&n), "class {c}: {n}");
    }
}

#[test]
fn checksum_table_matches_data_sums_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data");
    let sha = std::fs::read_to_string(root.join("SHA256SUMS")).unwrap();
    let md5 = std::fs::read_to_string(root.join("MD5SUMS")).unwrap();
    for f in ALL_FILES {
        let line = format!("{}  {}", f.sha256, f.name);
        assert!(sha.lines().any(|l| l.trim() == line), "data/SHA256SUMS lacks {line}");
        let line = format!("{}  {}", f.md5, f.name);
        assert!(md5.lines().any(|l| l.trim() == line), "data/MD5SUMS lacks {line}");
    }
}
