//! Where one im2col convolution's training step spends its time, each part
//! timed over the whole batch as the layer runs it: the forward product
//! (each image's im2col and product), the weight gradient (the cols made
//! again block by block, `conv::weight_grad`), the bias gradient, and the
//! input gradient (each image's product and col2im); medians in ms, with
//! GFLOP/s for the products, their im2col and col2im included.
//!
//! `cargo run --release -p benches --example conv_parts -- H W C F K BATCH [rounds]`,
//! e.g. `14 14 16 32 3 128` for the fast recipe's second convolution (3x3
//! SAME over 14x14x16, 32 filters, batch 128).

use std::time::Instant;

use kernels::conv::{ConvGeometry, Padding, col2im, im2col, weight_grad};
use kernels::gemm::{PackedB, sgemm_packed};
use kernels::{MatMut, MatRef, vector};
use rayon::prelude::*;

fn main() {
    kernels::denormals::flush_denormals();
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let [h, w, c, filters, k, batch, rest @ ..] = args.as_slice() else {
        eprintln!("conv_parts: H W C F K BATCH [rounds]");
        std::process::exit(2);
    };
    let rounds = rest.first().copied().unwrap_or(40);
    let g = ConvGeometry::new(*h, *w, *c, *k, *k, 1, Padding::Same).expect("a geometry");
    let (filters, batch) = (*filters, *batch);
    let (positions, patch) = (g.positions(), g.patch_len());
    let rows = batch * positions;
    let x: Vec<f32> = (0..batch * g.image_len())
        .map(|i| ((i * 7919) % 1000) as f32 * 1e-3)
        .collect();
    let weight: Vec<f32> = (0..patch * filters)
        .map(|i| ((i * 31) % 97) as f32 * 1e-2 - 0.5)
        .collect();
    // The weights laid out once a pass, as the layer does.
    let (mut packed_w, mut packed_wt) = (PackedB::new(), PackedB::new());
    let dy: Vec<f32> = (0..rows * filters).map(|i| ((i * 13) % 101) as f32 * 1e-3).collect();
    let mut y = vec![0.0; rows * filters];
    let (mut dw, mut db) = (vec![0.0; patch * filters], vec![0.0; filters]);
    let mut dx = vec![0.0; x.len()];
    let mut times = vec![Vec::new(); 4];
    let mut time = |part: usize, f: &mut dyn FnMut()| {
        let t = Instant::now();
        f();
        times[part].push(t.elapsed().as_secs_f64() * 1e3);
    };
    // Each image's cols or dcols in a buffer of its task, as the layer's
    // thread scratch.
    let image_buffer = || vec![0.0f32; positions * patch];
    for _ in 0..rounds {
        time(0, &mut || {
            packed_w.pack(MatRef::new(&weight, patch, filters));
            let packed_w = &packed_w;
            x.par_chunks(g.image_len())
                .zip(y.par_chunks_mut(positions * filters))
                .for_each_init(image_buffer, |cols, (x, y)| {
                    im2col(&g, 1, x, cols);
                    let cols = MatRef::new(cols, positions, patch);
                    sgemm_packed(1.0, cols, packed_w, 0.0, MatMut::new(y, positions, filters));
                })
        });
        time(1, &mut || weight_grad(&g, batch, &x, &dy, &mut dw));
        time(2, &mut || vector::sum_rows(&dy, &mut db));
        time(3, &mut || {
            packed_wt.pack(MatRef::new(&weight, patch, filters).t());
            let packed_wt = &packed_wt;
            dy.par_chunks(positions * filters)
                .zip(dx.par_chunks_mut(g.image_len()))
                .for_each_init(image_buffer, |dcols, (dy, dx)| {
                    let dy = MatRef::new(dy, positions, filters);
                    sgemm_packed(1.0, dy, packed_wt, 0.0, MatMut::new(dcols, positions, patch));
                    col2im(&g, 1, dcols, dx);
                })
        });
    }
    let flops = 2.0 * (rows * patch * filters) as f64;
    println!(
        "kernel {}, {} threads; {h}x{w}x{c}, {filters} filters {k}x{k}, batch {batch}: {:.0} MFLOP a product",
        kernels::Isa::selected().name(),
        rayon::current_num_threads(),
        flops / 1e6
    );
    let names = ["y = im2col(x) W", "dW = colsᵀ dy", "db", "dx = col2im(dy Wᵀ)"];
    for (name, t) in names.iter().zip(&mut times) {
        t.sort_by(f64::total_cmp);
        let ms = t[t.len() / 2];
        let rate = *name != "db";
        let gflops = if rate {
            format!("{:7.1} GFLOP/s", flops / ms / 1e6)
        } else {
            String::new()
        };
        println!("{name:<20} {ms:8.3} ms {gflops}");
    }
}
