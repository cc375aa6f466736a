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

use kernels::Isa;
use mnist_io::{Mnist, Split, Verify};
use optim::{Adam, AdamConfig};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use train::batches::{Batch, accuracy};

use benches::nets::MLP_BATCH;

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
    let flops = benches::nets::mlp_flops_per_image() * data.train.len() as f64;
    let (unit, peak1) = benches::selected_peak(1.0).unwrap_or((Isa::Portable, f64::NAN));
    println!(
        "kernel {}, FMA peak of its unit ({}) {peak1:.1} GFLOP/s per core",
        Isa::selected().name(),
        unit.name()
    );
    println!(
        "one epoch: {} images, batch {MLP_BATCH}, {:.1} GFLOP",
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
            let mut net = benches::nets::mlp(1);
            let mut adam = Adam::new(AdamConfig::tensorflow(0.001));
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
            let mut batch = Batch::default();
            let mut times = Vec::new();
            for e in 0..=epochs {
                let seconds = benches::nets::mlp_epoch(&mut net, &data.train, &mut adam, &mut rng, &mut batch).unwrap();
                if e > 0 {
                    times.push(seconds);
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
