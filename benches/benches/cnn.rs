//! The tutorial's CNN at batch 50 (LADDER.md, section F): im2col, each
//! convolution forward and backward, pooling, and one whole training step
//! with Adam, at 1 and 2 threads. Throughput is in FLOP ("Gelem/s" reads as
//! GFLOP/s) where the work is products; the peak is printed first, to
//! quote the step as a percentage of it.
//!
//! `cargo bench -p benches --bench cnn`
//!
//! FLOP count of a training step (a multiply-add is 2), batch 50:
//!   conv1  2 · 39,200 · 25 · 32      =    62.7 M   (im2col rows · 5·5·1 · filters)
//!   conv2  2 · 9,800 · 800 · 64      = 1,003.5 M   (rows · 5·5·32 · filters)
//!   dense  2 · 50 · 3,136 · 1,024    =   321.1 M
//!   out    2 · 50 · 1,024 · 10       =     1.0 M
//!   forward 1,388.4 M; weight gradients as much again; input gradients of
//!   every layer but the first 1,325.6 M: 4,102.4 MFLOP a step.

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use kernels::Isa;
use kernels::conv::{ConvGeometry, Padding, im2col};
use kernels::pool::{max_pool_backward, max_pool_forward};
use nn::{Conv2d, Init, Layer, Mode};
use optim::{Adam, AdamConfig};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use tensor::{Shape, Tensor};

use benches::nets::{CNN_BATCH as BATCH, CNN_STEP_FLOPS as STEP_FLOPS};

fn pools(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .start_handler(|_| {
            kernels::denormals::flush_denormals();
        })
        .build()
        .unwrap()
}

fn bench(c: &mut Criterion) {
    let conv1 = ConvGeometry::new(28, 28, 1, 5, 5, 1, Padding::Same).unwrap();
    let conv2 = ConvGeometry::new(14, 14, 32, 5, 5, 1, Padding::Same).unwrap();
    let mut group = c.benchmark_group("cnn");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for threads in [1, 2] {
        let pool = pools(threads);
        let timed = |f: &mut (dyn FnMut() + Send), iters: u64| {
            pool.install(|| {
                let start = Instant::now();
                for _ in 0..iters {
                    f();
                }
                start.elapsed()
            })
        };

        for (name, g) in [("conv1", conv1), ("conv2", conv2)] {
            let x: Vec<f32> = (0..BATCH * g.image_len()).map(|i| (i % 17) as f32).collect();
            let mut cols = vec![0.0; BATCH * g.positions() * g.patch_len()];
            group.throughput(Throughput::Bytes((cols.len() * 4) as u64));
            group.bench_function(BenchmarkId::new(format!("im2col_{name}"), format!("{threads}t")), |b| {
                b.iter_custom(|iters| timed(&mut || im2col(&g, BATCH, &x, &mut cols), iters))
            });
        }

        // Each convolution layer forward and backward (its input gradient included).
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let init = Init::TruncatedNormal { mean: 0.0, std: 0.1 };
        for (name, cin, side, filters, flops) in [
            ("conv1", 1, 28, 32, 2 * 62_720_000u64),
            ("conv2", 32, 14, 64, 3 * 1_003_520_000u64),
        ] {
            let mut layer = Conv2d::new(cin, filters, 5, 1, Padding::Same, &init, &init, &mut rng);
            let x = Tensor::from_vec(
                Shape::new(&[BATCH, side, side, cin]),
                (0..BATCH * side * side * cin).map(|i| (i % 13) as f32 / 13.0).collect(),
            );
            let (mut y, mut dx) = (Tensor::default(), Tensor::default());
            layer.forward(&x, &mut y, Mode::Train);
            let dy = y.clone();
            group.throughput(Throughput::Elements(flops));
            group.bench_function(
                BenchmarkId::new(format!("{name}_forward_backward"), format!("{threads}t")),
                |b| {
                    b.iter_custom(|iters| {
                        timed(
                            &mut || {
                                layer.forward(&x, &mut y, Mode::Train);
                                // conv1 is the first layer: no input gradient, as in training.
                                layer.backward(&x, &y, &dy, (cin > 1).then_some(&mut dx));
                            },
                            iters,
                        )
                    })
                },
            );
        }

        let g = ConvGeometry::new(28, 28, 32, 2, 2, 2, Padding::Same).unwrap();
        let x: Vec<f32> = (0..BATCH * g.image_len()).map(|i| ((i * 31) % 101) as f32).collect();
        let (mut y, mut arg, mut dx) = (
            vec![0.0; BATCH * g.positions() * 32],
            vec![0u32; BATCH * g.positions() * 32],
            vec![0.0; x.len()],
        );
        group.throughput(Throughput::Bytes((x.len() * 4) as u64));
        group.bench_function(
            BenchmarkId::new("max_pool1_forward_backward", format!("{threads}t")),
            |b| {
                b.iter_custom(|iters| {
                    timed(
                        &mut || {
                            max_pool_forward(&g, BATCH, &x, &mut y, &mut arg);
                            max_pool_backward(BATCH, &y, &arg, &mut dx);
                        },
                        iters,
                    )
                })
            },
        );

        let mut net = benches::nets::cnn(1);
        let mut adam = Adam::new(AdamConfig::tensorflow(1e-4));
        let x = benches::nets::pixels(&[BATCH, 28, 28, 1]);
        let labels: Vec<u8> = (0..BATCH).map(|i| (i % 10) as u8).collect();
        group.throughput(Throughput::Elements(STEP_FLOPS));
        group.bench_function(BenchmarkId::new("training_step", format!("{threads}t")), |b| {
            b.iter_custom(|iters| {
                timed(
                    &mut || {
                        train::train_step(&mut net, &x, &labels, &mut adam, None).unwrap();
                    },
                    iters,
                )
            })
        });
    }
    group.finish();
}

fn main() {
    let (unit, peak) = benches::selected_peak(0.5).unwrap_or((Isa::Portable, f64::NAN));
    println!(
        "kernel {}, FMA peak of its unit ({}) {peak:.1} GFLOP/s per core; a training step is {:.1} GFLOP",
        Isa::selected().name(),
        unit.name(),
        STEP_FLOPS as f64 / 1e9
    );
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
}
