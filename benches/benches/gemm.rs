//! Criterion benchmarks of `sgemm` on the shapes training uses, against
//! `matrixmultiply` and `gemm` in the same run. The throughput criterion
//! prints is in elements per second where an element is one floating-point
//! operation: "Gelem/s" reads as GFLOP/s.
//!
//! `cargo bench -p benches --bench gemm` (add a filter such as `100x784x512`)
//!
//! Ours and `gemm` run at 1 and 2 threads. `matrixmultiply` reads its thread
//! count once per process, from `MATMUL_NUM_THREADS` (1 unless set); its
//! 2-thread figures come from `MATMUL_NUM_THREADS=2 cargo bench ...`, or from
//! the GEMM table (`--bench gemm_table`), which runs both.

use std::time::{Duration, Instant};

use benches::{Operands, PRODUCTS};
use criterion::{BenchmarkId, Criterion, Throughput};

fn bench(c: &mut Criterion) {
    let mm_threads: usize = std::env::var("MATMUL_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    for &p in PRODUCTS {
        let mut group = c.benchmark_group(format!("gemm/{}", p.label().replace(' ', "")));
        group.throughput(Throughput::Elements(p.flops() as u64));
        group
            .sample_size(20)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2));
        let mut ops = Operands::new(p);
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            // The timed loop runs inside the pool, as training does, so the
            // timing thread is one of the `threads` workers.
            let timed = |ops: &mut Operands, which: fn(&mut Operands, usize), iters: u64| {
                pool.install(|| {
                    let start = Instant::now();
                    for _ in 0..iters {
                        which(ops, threads);
                    }
                    start.elapsed()
                })
            };
            group.bench_function(BenchmarkId::new("ours", format!("{threads}t")), |b| {
                b.iter_custom(|iters| timed(&mut ops, |o, _| o.ours(), iters))
            });
            group.bench_function(BenchmarkId::new("gemm", format!("{threads}t")), |b| {
                b.iter_custom(|iters| timed(&mut ops, |o, t| o.gemm(t), iters))
            });
        }
        group.bench_function(BenchmarkId::new("matrixmultiply", format!("{mm_threads}t")), |b| {
            b.iter(|| ops.matrixmultiply())
        });
        group.finish();
    }
}

fn main() {
    if std::env::var_os("MATMUL_NUM_THREADS").is_none() {
        // SAFETY: nothing else runs yet; matrixmultiply reads this once, later.
        unsafe { std::env::set_var("MATMUL_NUM_THREADS", "1") };
    }
    let mut criterion = Criterion::default().configure_from_args();
    bench(&mut criterion);
    criterion.final_summary();
}
