//! How much a second thread speeds up each training product: this
//! project's `sgemm` and `gemm` on one thread and on two, alternating in
//! one process, batch after batch, so that each two-thread batch is
//! compared with the one-thread batch just before it.
//!
//! `cargo bench -p benches --bench gemm_scaling`
//!
//! The table (`--bench gemm_table`) measures each thread count in its own
//! process, one after the other, so a busy stretch of this shared machine
//! that falls on one of them moves their ratio; here both thread counts
//! see the same minutes. `matrixmultiply` is left out: it reads its thread
//! count once per process.
//!
//! `GEMM_TABLE_FILTER=1024x` keeps the shapes whose label contains the
//! text; `GEMM_TABLE_MS_PER_SHAPE` sets the time per shape (1500 ms by
//! default); `GEMM_SCALING_BATCHES=1` also prints every batch pair
//! (`one-thread/two-thread` GFLOP/s) to stderr, which shows the stretches
//! when this virtual machine gives two threads no more than one core.

use std::time::{Duration, Instant};

use benches::{Operands, PRODUCTS};
use rayon::{ThreadPool, ThreadPoolBuilder};

/// Wall time of one batch long enough that a call's own start-up (waking a
/// pool's threads) does not weigh on it.
const BATCH: Duration = Duration::from_millis(20);

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` asks harness-less benches for nothing
    }
    let (budget, filter) = benches::table_settings();
    let pool = |threads| ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    let pools = [pool(1), pool(2)];
    let batches = std::env::var("GEMM_SCALING_BATCHES").is_ok_and(|v| v == "1");
    println!("GFLOP/s, medians over alternating batches of about {BATCH:?}; ratio = median of each");
    println!("two-thread batch's speed over the one-thread batch before it");
    println!();
    println!("| shape (M x K x N) | ours 1t | ours 2t | ours 2t/1t | gemm 1t | gemm 2t | gemm 2t/1t |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for &p in PRODUCTS {
        if !p.label().contains(&filter) {
            continue;
        }
        let mut ops = Operands::new(p);
        let mut cells = Vec::new();
        for ours in [true, false] {
            let mut call = |threads: usize| {
                if ours { ops.ours() } else { ops.gemm(threads) }
            };
            // Calls per batch, from the one-thread speed after a warm-up.
            let single = run(&pools[0], 1, 3, &mut call) / 3.0;
            let reps = ((BATCH.as_secs_f64() / single).ceil() as usize).max(1);
            run(&pools[1], 2, reps, &mut call);
            let (mut one, mut two, mut ratio) = (Vec::new(), Vec::new(), Vec::new());
            let start = Instant::now();
            while start.elapsed() < budget / 2 || ratio.len() < 5 {
                let t1 = run(&pools[0], 1, reps, &mut call);
                let t2 = run(&pools[1], 2, reps, &mut call);
                let gflops = |t: f64| p.flops() * reps as f64 / t / 1e9;
                one.push(gflops(t1));
                two.push(gflops(t2));
                ratio.push(t1 / t2);
                if batches {
                    eprint!("{:.0}/{:.0} ", gflops(t1), gflops(t2));
                }
            }
            if batches {
                eprintln!("<- {} {}", p.label(), if ours { "ours" } else { "gemm" });
            }
            cells.extend([median(one), median(two), median(ratio)]);
        }
        println!(
            "| {} | {:.1} | {:.1} | {:.2} | {:.1} | {:.1} | {:.2} |",
            p.label(),
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            cells[4],
            cells[5]
        );
    }
}

/// Seconds for `reps` calls made from inside `pool`, so that the products
/// run on its `threads` threads (the measuring one among them, as in
/// training).
fn run(pool: &ThreadPool, threads: usize, reps: usize, call: &mut (dyn FnMut(usize) + Send)) -> f64 {
    pool.install(|| {
        let start = Instant::now();
        for _ in 0..reps {
            call(threads);
        }
        start.elapsed().as_secs_f64()
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
