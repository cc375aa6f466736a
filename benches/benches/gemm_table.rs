//! The GEMM table: this machine's FMA peak, then GFLOP/s of this project's
//! `sgemm`, `matrixmultiply` and `gemm` on every training shape, at 1 and 2
//! threads, and ours as a percentage of the peak.
//!
//! `cargo bench -p benches --bench gemm_table`
//!
//! `GEMM_TABLE_FILTER=1024x` keeps the shapes whose label contains the text;
//! `GEMM_TABLE_MS_PER_SHAPE` sets the time per shape and thread count
//! (1500 ms by default); `GEMM_TABLE_STAT=best` reports the fastest round
//! instead of the median (for comparing variants on a noisy machine);
//! `GEMM_TABLE_IMPLS=ours,gemm` measures only the implementations named
//! (all three by default), to see whether one disturbs another.
//!
//! Timings on a shared machine are noisy, so the three implementations are
//! run in alternation, round after round, and each figure is the median of
//! its rounds. Each thread count runs in a child process, because
//! `matrixmultiply` reads its thread count (`MATMUL_NUM_THREADS`) once per
//! process.

use std::process::Command;
use std::time::Instant;

use benches::{Operands, PRODUCTS};
use kernels::Isa;
use kernels::peak::fma_gflops;

const CHILD: &str = "GEMM_TABLE_THREADS";
const IMPLS: [&str; 3] = ["ours", "matrixmultiply", "gemm"];

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` asks harness-less benches for nothing
    }
    match std::env::var(CHILD) {
        Ok(threads) => child(threads.parse().expect("a thread count")),
        Err(_) => parent(),
    }
}

/// Measures every product at this process's thread count and prints
/// `index impl gflops` lines.
fn child(threads: usize) {
    // Measure from inside the pool, as training runs: the measuring thread is
    // one of the `threads` workers, not an extra thread competing with them.
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
        .unwrap();
    rayon::scope(|_| measure(threads));
}

fn measure(threads: usize) {
    let (budget, filter) = benches::table_settings();
    let chosen = chosen_impls();
    for (index, &p) in PRODUCTS.iter().enumerate() {
        if !p.label().contains(&filter) {
            continue;
        }
        let mut ops = Operands::new(p);
        let mut run = |which: usize| {
            let start = Instant::now();
            match which {
                0 => ops.ours(),
                1 => ops.matrixmultiply(),
                _ => ops.gemm(threads),
            }
            start.elapsed().as_secs_f64()
        };
        chosen.iter().for_each(|&w| {
            run(w);
        }); // warm-up: caches, thread pools, page faults
        let mut times: [Vec<f64>; 3] = Default::default();
        let start = Instant::now();
        while start.elapsed() < budget || times[chosen[0]].len() < 5 {
            for &w in &chosen {
                times[w].push(run(w));
            }
        }
        let best = std::env::var("GEMM_TABLE_STAT").is_ok_and(|v| v == "best");
        for &w in &chosen {
            let t = &mut times[w];
            t.sort_by(f64::total_cmp);
            let time = if best { t[0] } else { t[t.len() / 2] };
            println!("{index} {} {:.2}", IMPLS[w], p.flops() / time / 1e9);
        }
    }
}

/// The implementations to measure, as indices into `IMPLS`, in `IMPLS`'s
/// order: those named in `GEMM_TABLE_IMPLS`, or all.
fn chosen_impls() -> Vec<usize> {
    let Ok(list) = std::env::var("GEMM_TABLE_IMPLS") else {
        return (0..IMPLS.len()).collect();
    };
    let names: Vec<&str> = list.split(',').map(str::trim).collect();
    if let Some(bad) = names.iter().find(|n| !IMPLS.contains(n)) {
        eprintln!("GEMM_TABLE_IMPLS: {bad:?} is not one of {}", IMPLS.join(", "));
        std::process::exit(2);
    }
    (0..IMPLS.len()).filter(|&w| names.contains(&IMPLS[w])).collect()
}

fn parent() {
    chosen_impls(); // a bad list fails here, before the peak is measured
    let isa = Isa::selected();
    fn peak_of(isa: Isa) -> Option<f64> {
        fma_gflops(isa, 1.0)
    }
    let (avx512, avx2) = (peak_of(Isa::Avx512), peak_of(Isa::Avx2));
    // The peak of the vector unit our kernel uses, one thread; then two
    // threads at once.
    let peak_isa = benches::peak_unit(isa);
    let peak1 = peak_isa.and_then(peak_of);
    let peak2 = peak_isa.and_then(|i| {
        let other = std::thread::spawn(move || peak_of(i));
        Some(peak_of(i)? + other.join().unwrap()?)
    });
    println!("kernel: {} (MNIST_KERNEL to force another)", isa.name());
    let caches = kernels::cache::CacheSizes::get();
    println!(
        "caches per core: L1d {} KiB, L2 {} KiB (from {}); blocks of B {} columns wide",
        caches.l1d >> 10,
        caches.l2 >> 10,
        caches.source,
        kernels::gemm::params::nc()
    );
    println!(
        "matrixmultiply's AVX-512 kernel: {} (benches feature competitors-avx512)",
        if cfg!(feature = "competitors-avx512") {
            "compiled in"
        } else {
            "left out"
        }
    );
    for (name, g) in [("AVX-512", avx512), ("AVX2", avx2)] {
        match g {
            Some(g) => println!("FMA peak, one thread, {name}: {g:.1} GFLOP/s"),
            None => println!("FMA peak, one thread, {name}: not supported"),
        }
    }
    if let Some(p2) = peak2 {
        println!(
            "FMA peak of the {} unit, two threads at once: {p2:.1} GFLOP/s",
            peak_isa.map_or("?", Isa::name)
        );
    }
    let mut results = vec![[[f64::NAN; 3]; 2]; PRODUCTS.len()];
    for (slot, threads) in [1usize, 2].into_iter().enumerate() {
        let out = Command::new(std::env::current_exe().unwrap())
            .env(CHILD, threads.to_string())
            .env("MATMUL_NUM_THREADS", threads.to_string())
            .output()
            .expect("run the measuring child");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (i, w, g): (usize, usize, f64) = (
                f[0].parse().unwrap(),
                IMPLS.iter().position(|&x| x == f[1]).unwrap(),
                f[2].parse().unwrap(),
            );
            results[i][slot][w] = g;
        }
    }
    println!();
    println!("GFLOP/s, median of alternating rounds; % = ours against the FMA peak at that thread count");
    println!();
    println!(
        "| shape (M x K x N) | role | ours 1t | matrixmultiply 1t | gemm 1t | % peak 1t | ours 2t | matrixmultiply 2t | gemm 2t | % peak 2t |"
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (p, r) in PRODUCTS.iter().zip(&results) {
        if r[0].iter().all(|g| g.is_nan()) {
            continue;
        }
        let pct = |g: f64, peak: Option<f64>| match peak {
            Some(pk) if !g.is_nan() => format!("{:.0}%", 100.0 * g / pk),
            _ => "-".into(),
        };
        let mark = |row: &[f64; 3], w: usize| {
            let best = row.iter().cloned().fold(f64::NAN, f64::max);
            if row[w].is_nan() {
                "-".into()
            } else if row[w] == best {
                format!("**{:.1}**", row[w])
            } else {
                format!("{:.1}", row[w])
            }
        };
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            p.label(),
            p.role,
            mark(&r[0], 0),
            mark(&r[0], 1),
            mark(&r[0], 2),
            pct(r[0][0], peak1),
            mark(&r[1], 0),
            mark(&r[1], 1),
            mark(&r[1], 2),
            pct(r[1][0], peak2),
        );
    }
}
