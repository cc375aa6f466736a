//! One product, measured alone on one thread (`GEMM_ONE_THREADS=N` for N;
//! set `MATMUL_NUM_THREADS` to the same for `matrixmultiply`): GFLOP/s of
//! the best of five timed batches, for this project's `sgemm`,
//! `matrixmultiply` or `gemm`.
//! For comparing variants of the kernels on a noisy machine, alternating
//! binaries, where the table (`--bench gemm_table`) would take minutes.
//!
//! `MATMUL_NUM_THREADS=1 cargo run --release -p benches --example gemm_one -- M K N TA TB IMPL REPS`
//!
//! `TA`, `TB`: `N` (as stored) or `T` (transposed); `IMPL`: `ours`,
//! `matrixmultiply` or `gemm`; `REPS`: products per timed batch. For
//! example `39200 25 32 N N ours 100` is conv1's forward product.
//!
//! `GEMM_ONE_PER_CALL=1` times `REPS` single products instead and prints
//! the spread of their GFLOP/s (10th, 50th and 90th percentile, fastest):
//! the best of five batches hides how much one call varies, and the
//! table's median sees it.
//!
//! `GEMM_ONE_SETS=N` rotates through N copies of the operands, so that a
//! product meets its operands cold as a layer in a network does (each
//! layer's weights are evicted by the rest of the step); with the
//! default, 1, they stay in the caches from one call to the next.
//! `GEMM_ONE_GAP_US=N` waits N microseconds between calls (with
//! `GEMM_ONE_PER_CALL`), as a step does between its products, so that idle
//! workers may fall asleep and each call pays for waking them.

use benches::{Operands, Product};
use kernels::Transpose;

const USAGE: &str = "usage: gemm_one M K N TA TB IMPL REPS (see the example's docs)";

/// Reports a bad argument and exits, as a command does, instead of panicking.
fn fail(what: &str) -> ! {
    eprintln!("gemm_one: {what}\n{USAGE}");
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() != 7 {
        fail(&format!("expected 7 arguments, found {}", args.len()));
    }
    let size = |i: usize| -> usize {
        match args[i].parse() {
            Ok(n) if n > 0 => n,
            _ => fail(&format!("{:?} is not a positive whole number", args[i])),
        }
    };
    let transpose = |i: usize| match args[i].as_str() {
        "N" => Transpose::No,
        "T" => Transpose::Yes,
        other => fail(&format!("{other:?} is neither N nor T")),
    };
    let p = Product {
        role: "",
        m: size(0),
        k: size(1),
        n: size(2),
        ta: transpose(3),
        tb: transpose(4),
    };
    let which = args[5].as_str();
    if !["ours", "matrixmultiply", "gemm"].contains(&which) {
        fail(&format!("{which:?} is not ours, matrixmultiply or gemm"));
    }
    let reps = size(6);
    rayon::ThreadPoolBuilder::new()
        .num_threads(
            std::env::var("GEMM_ONE_THREADS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(1),
        )
        .build_global()
        .expect("a thread pool");
    let sets = std::env::var("GEMM_ONE_SETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1usize)
        .max(1);
    let mut ops: Vec<Operands> = (0..sets).map(|_| Operands::new(p)).collect();
    let mut next = 0;
    let mut call = || {
        let ops = &mut ops[next];
        next = (next + 1) % sets;
        match which {
            "ours" => ops.ours(),
            "matrixmultiply" => ops.matrixmultiply(),
            _ => ops.gemm(rayon::current_num_threads()),
        }
    };
    if std::env::var("GEMM_ONE_PER_CALL").is_ok_and(|v| v == "1") {
        call(); // warm-up: thread pools, page faults
        let gap = std::env::var("GEMM_ONE_GAP_US")
            .ok()
            .and_then(|v| v.parse().ok())
            .map(std::time::Duration::from_micros);
        let mut rates: Vec<f64> = (0..reps)
            .map(|_| {
                if let Some(gap) = gap {
                    std::thread::sleep(gap);
                }
                let start = std::time::Instant::now();
                call();
                p.flops() / start.elapsed().as_secs_f64() / 1e9
            })
            .collect();
        rates.sort_by(f64::total_cmp);
        let at = |q: usize| rates[(reps - 1) * q / 100];
        println!(
            "{} {which}, GFLOP/s of {reps} single calls: 10th percentile {:.1}, median {:.1}, 90th {:.1}, fastest {:.1}",
            p.label(),
            at(10),
            at(50),
            at(90),
            at(100)
        );
        return;
    }
    let mut best = 0.0f64;
    for _ in 0..5 {
        let start = std::time::Instant::now();
        for _ in 0..reps {
            call();
        }
        best = best.max(p.flops() * reps as f64 / start.elapsed().as_secs_f64() / 1e9);
    }
    println!("{} {which}: {best:.1} GFLOP/s", p.label());
}
