//! Hand-made IDX files with each thing a file can get wrong: every one gives
//! its own typed error naming the file, and none panics.

use std::io::Write;
use std::path::{Path, PathBuf};

use mnist_io::files::{read_images, read_labels, read_pair};
use mnist_io::{DataError, Mnist, Split, Verify, idx};
use proptest::prelude::*;

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

fn images(n: usize) -> Vec<u8> {
    idx::encode(&[n, 28, 28], &vec![7u8; n * 784])
}

fn labels(values: &[u8]) -> Vec<u8> {
    idx::encode(&[values.len()], values)
}

#[test]
fn good_files_raw_and_gzip_read_alike() {
    let dir = tempfile::tempdir().unwrap();
    let raw = write(dir.path(), "a", &images(3));
    let gz = write(dir.path(), "a.bin", &gzip(&images(3)));
    assert_eq!(read_images(&raw).unwrap(), read_images(&gz).unwrap());
    let l = write(dir.path(), "l.gz", &gzip(&labels(&[0, 9, 5])));
    let (im, lab) = read_pair(&gz, &l).unwrap();
    assert_eq!((im.count, im.rows, im.cols, lab), (3, 28, 28, vec![0, 9, 5]));
}

#[test]
fn empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "empty", &[]);
    let e = read_images(&p).unwrap_err();
    assert!(matches!(e, DataError::Empty { .. }), "{e:?}");
    assert!(e.to_string().contains("empty"), "{e}");
}

#[test]
fn truncated_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = images(2);
    bytes.truncate(bytes.len() - 100);
    let p = write(dir.path(), "short-images", &bytes);
    let e = read_images(&p).unwrap_err();
    let DataError::Truncated { expected, found, .. } = e else {
        panic!("{e:?}")
    };
    assert_eq!((expected, found), (16 + 2 * 784, 16 + 2 * 784 - 100));
    let msg = read_images(&p).unwrap_err().to_string();
    assert!(
        msg.contains("short-images") && msg.contains("truncated at byte 1484"),
        "{msg}"
    );
}

#[test]
fn truncated_header() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "h", &images(1)[..10]);
    let e = read_images(&p).unwrap_err();
    assert!(
        matches!(
            e,
            DataError::Truncated {
                expected: 12,
                found: 10,
                ..
            }
        ),
        "{e:?}"
    );
    let p = write(dir.path(), "tiny", &[0, 0]);
    assert!(matches!(
        read_labels(&p).unwrap_err(),
        DataError::Truncated {
            expected: 4,
            found: 2,
            ..
        }
    ));
}

#[test]
fn bad_magic() {
    let dir = tempfile::tempdir().unwrap();
    // A label file given where images are expected, and the reverse.
    let p = write(dir.path(), "labels-not-images", &labels(&[1, 2]));
    let e = read_images(&p).unwrap_err();
    assert!(
        matches!(
            e,
            DataError::BadMagic {
                expected: 2051,
                found: 2049,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("expected 2051") && e.to_string().contains("found 2049"));
    let p = write(dir.path(), "png", b"\x89PNG\r\n\x1a\n....");
    assert!(matches!(
        read_labels(&p).unwrap_err(),
        DataError::BadMagic { expected: 2049, .. }
    ));
}

#[test]
fn corrupted_gzip() {
    let dir = tempfile::tempdir().unwrap();
    let mut gz = gzip(&images(4));
    let mid = gz.len() / 2;
    gz[mid..mid + 8].iter_mut().for_each(|b| *b ^= 0xff);
    let p = write(dir.path(), "bad.gz", &gz);
    let e = read_images(&p).unwrap_err();
    assert!(matches!(e, DataError::Gzip { .. }), "{e:?}");
    assert!(e.to_string().contains("bad.gz: corrupt gzip"), "{e}");

    // Cut short: the gzip stream ends early.
    let gz = gzip(&images(4));
    let p = write(dir.path(), "cut.gz", &gz[..gz.len() / 2]);
    assert!(matches!(read_images(&p).unwrap_err(), DataError::Gzip { .. }));
}

#[test]
fn label_out_of_range() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "labels", &labels(&[3, 9, 11, 2]));
    let e = read_labels(&p).unwrap_err();
    assert!(
        matches!(
            e,
            DataError::LabelOutOfRange {
                index: 2,
                offset: 10,
                found: 11,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        e.to_string().contains("label 2 at offset 10 is 11, expected 0 to 9"),
        "{e}"
    );
}

#[test]
fn count_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let im = write(dir.path(), "im", &images(3));
    let la = write(dir.path(), "la", &labels(&[1, 2]));
    let e = read_pair(&im, &la).unwrap_err();
    assert!(
        matches!(
            e,
            DataError::CountMismatch {
                images: 3,
                labels: 2,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn wrong_image_size_and_trailing_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "big", &idx::encode(&[1, 32, 32], &[0; 1024]));
    let e = read_images(&p).unwrap_err();
    assert!(matches!(e, DataError::ImageSize { found_rows: 32, .. }), "{e:?}");
    let mut bytes = labels(&[1]);
    bytes.push(0);
    let p = write(dir.path(), "long", &bytes);
    assert!(matches!(
        read_labels(&p).unwrap_err(),
        DataError::TrailingData {
            expected: 9,
            found: 10,
            ..
        }
    ));
}

#[test]
fn missing_folder_says_how_to_get_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let e = Mnist::load(dir.path(), Split::TensorFlow, Verify::Checksums).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("train-images-idx3-ubyte.gz") && msg.contains("cargo xtask fetch-data"),
        "{msg}"
    );
}

#[test]
fn fake_files_are_not_mnist_unless_told() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "train-images-idx3-ubyte.gz", &gzip(&images(6000)));
    write(dir.path(), "train-labels-idx1-ubyte", &labels(&[4; 6000]));
    write(dir.path(), "t10k-images-idx3-ubyte", &images(10));
    write(dir.path(), "t10k-labels-idx1-ubyte", &labels(&[1; 10]));
    let e = Mnist::load(dir.path(), Split::TensorFlow, Verify::Checksums).unwrap_err();
    assert!(e.to_string().contains("not the real MNIST file"), "{e}");
    let m = Mnist::load(dir.path(), Split::TensorFlow, Verify::Skip).unwrap();
    assert_eq!((m.train.len(), m.validation.len(), m.test.len()), (1000, 5000, 10));
    let m = Mnist::load(dir.path(), Split::Full, Verify::Skip).unwrap();
    assert_eq!((m.train.len(), m.validation.len()), (6000, 0));
}

proptest! {
    /// Whatever the bytes, reading returns (an error or a value) and never panics.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64), gz in any::<bool>()) {
        let dir = tempfile::tempdir().unwrap();
        let data = if gz { gzip(&bytes) } else { bytes.clone() };
        let p = write(dir.path(), "x", &data);
        let _ = read_images(&p);
        let _ = read_labels(&p);
        let _ = idx::read(&p);
    }

    /// Any valid header with any truncation is an error, not a panic.
    #[test]
    fn every_truncation_of_a_valid_file_is_an_error(cut in 0usize..(16 + 2 * 784)) {
        let bytes = images(2);
        let p = Path::new("mem");
        let r = mnist_io::files::parse_images(p, bytes[..cut].to_vec());
        prop_assert!(r.is_err());
    }
}
