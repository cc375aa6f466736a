//! Training speed of this project on the benchmark networks, one process
//! per measurement, for scripts that alternate it with another framework
//! (`benches/scripts/vs_pytorch.py`). Prints one JSON line.
//!
//! `cargo run --release -p benches --example train_speed -- mlp THREADS EPOCHS`
//! times EPOCHS epochs of the MLP (60,000 images, batch 100, Adam 0.001)
//! after one warm-up epoch; `... -- cnn THREADS STEPS` times STEPS training
//! steps of the tutorial's CNN (batch 50, Adam 1e-4) on consecutive
//! batches, after ten warm-up steps. Both on the real MNIST files in
//! `data/mnist`, flushing denormals as `mnist train` does.

use std::path::Path;
use std::time::Instant;

use benches::nets::CNN_BATCH;
use mnist_io::{Mnist, Split, Verify};
use optim::{Adam, AdamConfig};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use train::batches::Batch;

const USAGE: &str = "usage: train_speed mlp|cnn THREADS COUNT (epochs for mlp, steps for cnn)";

fn fail(what: &str) -> ! {
    eprintln!("train_speed: {what}\n{USAGE}");
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 3 {
        fail(&format!("expected 3 arguments, found {}", args.len()));
    }
    let number = |i: usize| -> usize {
        match args[i].parse() {
            Ok(n) if n > 0 => n,
            _ => fail(&format!("{:?} is not a positive whole number", args[i])),
        }
    };
    let (threads, count) = (number(1), number(2));
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../data/mnist"));
    let data = Mnist::load(dir, Split::Full, Verify::Checksums).unwrap_or_else(|e| fail(&e.to_string()));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .start_handler(|_| {
            kernels::denormals::flush_denormals();
        })
        .build()
        .unwrap_or_else(|e| fail(&e.to_string()));
    let net_name = args[0].as_str();
    let seconds: Vec<f64> = pool.install(|| match net_name {
        "mlp" => {
            let mut net = benches::nets::mlp(1);
            let mut adam = Adam::new(AdamConfig::tensorflow(0.001));
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(2);
            let mut batch = Batch::default();
            (0..=count)
                .map(|_| {
                    benches::nets::mlp_epoch(&mut net, &data.train, &mut adam, &mut rng, &mut batch)
                        .unwrap_or_else(|e| fail(&e.to_string()))
                })
                .skip(1)
                .collect()
        }
        "cnn" => {
            let mut net = benches::nets::cnn(1);
            let mut adam = Adam::new(AdamConfig::tensorflow(1e-4));
            let mut batch = Batch::default();
            let batches = data.train.len() / CNN_BATCH;
            (0..10 + count)
                .map(|i| {
                    let first = (i % batches) * CNN_BATCH;
                    batch.gather_range(&net, &data.train, first, first + CNN_BATCH);
                    let start = Instant::now();
                    train::train_step(&mut net, &batch.x, &batch.labels, &mut adam, None)
                        .unwrap_or_else(|e| fail(&e.to_string()));
                    start.elapsed().as_secs_f64()
                })
                .skip(10)
                .collect()
        }
        other => fail(&format!("{other:?} is not a network: use mlp or cnn")),
    });
    let list = seconds.iter().map(|s| format!("{s:.6}")).collect::<Vec<_>>().join(", ");
    println!(
        "{{\"framework\": \"ours\", \"net\": \"{net_name}\", \"threads\": {threads}, \"kernel\": \"{}\", \"seconds\": [{list}]}}",
        kernels::Isa::selected().name()
    );
}
