//! How long reading MNIST takes: the 60,000 training images from gzip
//! (decompress + validate), and the whole data set with its checksums.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mnist_io::files::{TRAIN_IMAGES, parse_images};
use mnist_io::{Mnist, Split, Verify, idx};

fn data_dir() -> Option<&'static Path> {
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/mnist"));
    if dir.join("train-images-idx3-ubyte.gz").is_file() {
        Some(dir)
    } else {
        eprintln!("skipped: no MNIST in {} (run `cargo xtask fetch-data`)", dir.display());
        None
    }
}

fn parse(c: &mut Criterion) {
    let Some(dir) = data_dir() else { return };
    let path = dir.join(TRAIN_IMAGES.gz_name());
    let gz = std::fs::read(&path).unwrap();
    let raw = idx::decompress_if_gzip(&path, gz.clone()).unwrap();

    let mut group = c.benchmark_group("mnist_io");
    group.sample_size(20);
    group.throughput(Throughput::Bytes(raw.len() as u64));
    group.bench_function("train_images_gzip_decompress_and_parse", |b| {
        b.iter(|| {
            let content = idx::decompress_if_gzip(&path, black_box(gz.clone())).unwrap();
            black_box(parse_images(&path, content).unwrap())
        })
    });
    group.bench_function("train_images_parse_uncompressed", |b| {
        b.iter(|| black_box(parse_images(&path, black_box(raw.clone())).unwrap()))
    });
    group.bench_function("load_all_four_files_with_sha256", |b| {
        b.iter(|| black_box(Mnist::load(dir, Split::TensorFlow, Verify::Checksums).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
