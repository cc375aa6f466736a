//! End to end: epochs of the deep and wide MLP (784-512-512-512-512-10,
//! ReLU) on the 60,000 training images, batch 100, Adam, through the same
//! loop `mnist train` uses, at 1 and 2 threads; seconds per epoch, GFLOP/s
//! and the percentage of the machine's FMA peak.
//!
//! `cargo bench -p benches --bench train_epoch` (`EPOCHS=N` timed epochs per
//! thread count, 3 by default, after one warm-up epoch)
//!
//! FLOP count of an epoch (a multiply-add is 2): per batch of B images,
//! forward 2 B Σ in·out over the five Dense layers, as much again for the
//! weight gradients, and the input gradients of every layer but the first:
//!   forward  2·100·(784·512 + 3·512·512 + 512·10) = 238.6 MFLOP
//!   dW       238.6 MFLOP
//!   dX       2·100·(3·512·512 + 512·10)           = 158.3 MFLOP
//! 635.5 MFLOP a batch, 381.3 GFLOP an epoch of 600 batches. Everything else
//! (bias, ReLU, softmax, Adam over 1.2 M parameters) is under 0.1% of that
//! and is counted as time, not as work.

use std::path::Path;
use std::time::Instant;

use kernels::gemm::Isa;
use mnist_io::augment::Augment;
use mnist_io::{Mnist, Split, Verify};
use nn::{Classifier, Dense, Init, Relu, Sequential};
use optim::{Adam, AdamConfig};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use tensor::Shape;
use train::batches::{Batch, accuracy, run_epoch};

const WIDTHS: [usize; 6] = [784, 512, 512, 512, 512, 10];
const BATCH: usize = 100;

fn epoch_flops(images: usize) -> f64 {
    let layers: Vec<(usize, usize)> = WIDTHS.windows(2).map(|w| (w[0], w[1])).collect();
    let forward: usize = layers.iter().map(|&(i, o)| 2 * i * o).sum();
    let input_grads: usize = layers.iter().skip(1).map(|&(i, o)| 2 * i * o).sum();
    (2 * forward + input_grads) as f64 * images as f64
}

fn model(seed: u64) -> Classifier {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut model = Sequential::new(Shape::new(&[784]));
    for (i, w) in WIDTHS.windows(2).enumerate() {
        let he = Init::Normal {
            mean: 0.0,
            std: (2.0 / w[0] as f32).sqrt(),
        };
        model.push(Dense::new(w[0], w[1], &he, &Init::Zeros, &mut rng)).unwrap();
        if i + 2 < WIDTHS.len() {
            model.push(Relu).unwrap();
        }
    }
    Classifier::new(model)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/mnist"));
    let data = match Mnist::load(dir, Split::Full, Verify::Checksums) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("skipped: {e}");
            return;
        }
    };
    let epochs: usize = std::env::var("EPOCHS").ok().and_then(|v| v.parse().ok()).unwrap_or(3);
    let flops = epoch_flops(data.train.len());
    let (unit, peak1) = benches::selected_peak(1.0).unwrap_or((Isa::Portable, f64::NAN));
    println!(
        "kernel {}, FMA peak of its unit ({}) {peak1:.1} GFLOP/s per core",
        Isa::selected().name(),
        unit.name()
    );
    println!(
        "one epoch: {} images, batch {BATCH}, {:.1} GFLOP",
        data.train.len(),
        flops / 1e9
    );
    println!();
    println!("| threads | s/epoch (median of {epochs}) | GFLOP/s | % of peak | test accuracy after |");
    println!("| ---: | ---: | ---: | ---: | ---: |");
    for threads in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .start_handler(|_| {
                kernels::denormals::flush_denormals();
            })
            .build()
            .unwrap();
        let (median, acc) = pool.install(|| {
            let mut net = model(1);
            let mut adam = Adam::new(AdamConfig::tensorflow(0.001));
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
            let mut batch = Batch::default();
            let mut times = Vec::new();
            for e in 0..=epochs {
                let start = Instant::now();
                run_epoch(
                    &mut net,
                    &data.train,
                    BATCH,
                    &Augment::default(),
                    &mut adam,
                    &mut rng,
                    &mut batch,
                    &mut |_, _| {},
                )
                .unwrap();
                if e > 0 {
                    times.push(start.elapsed().as_secs_f64());
                }
            }
            times.sort_by(f64::total_cmp);
            (
                times[times.len() / 2],
                accuracy(&mut net, &data.test, &mut batch).unwrap(),
            )
        });
        let gflops = flops / median / 1e9;
        println!(
            "| {threads} | {median:.2} | {gflops:.1} | {:.0}% | {acc:.4} |",
            100.0 * gflops / (peak1 * threads as f64)
        );
    }
}
