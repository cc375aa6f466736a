//! A first convolution (the direct path) and the 2x2 max-pooling after it,
//! as `Sequential` runs them together (`conv_direct::forward_pooled` and
//! `weight_grad_pooled`) against one after the other (`conv_direct::forward`,
//! `max_pool_forward`; `max_pool_backward`, `conv_direct::weight_grad`,
//! `sum_rows`), alternating in one process, medians in ms.
//!
//! `cargo run --release -p benches --example conv_pooled -- H W C F K BATCH [rounds]`,
//! e.g. `28 28 1 12 3 128` for the fast recipe's first layer.

use std::time::Instant;

use kernels::conv::{ConvGeometry, Padding};
use kernels::conv_direct;
use kernels::pool::{max_pool_backward, max_pool_forward};

fn main() {
    kernels::denormals::flush_denormals();
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let [h, w, c, filters, k, batch, rest @ ..] = args.as_slice() else {
        eprintln!("conv_pooled: H W C F K BATCH [rounds]");
        std::process::exit(2);
    };
    let rounds = rest.first().copied().unwrap_or(60);
    let (filters, batch) = (*filters, *batch);
    let g = ConvGeometry::new(*h, *w, *c, *k, *k, 1, Padding::Same).expect("a geometry");
    if !(conv_direct::applies(&g) && conv_direct::pools_in_twos(&g)) {
        eprintln!("conv_pooled: {h}x{w}x{c} with {k}x{k} windows does not take the pooled direct path");
        std::process::exit(2);
    }
    let pool = ConvGeometry::new(g.out_h, g.out_w, filters, 2, 2, 2, Padding::Valid).expect("a pooling");
    let x: Vec<f32> = (0..batch * g.image_len())
        .map(|i| ((i * 7919) % 255) as f32 / 255.0)
        .collect();
    let weight: Vec<f32> = (0..g.patch_len() * filters)
        .map(|i| ((i * 31) % 97) as f32 * 1e-2 - 0.5)
        .collect();
    let bias = vec![0.1f32; filters];
    let plain = batch * g.positions() * filters;
    let pooled = batch * pool.positions() * filters;
    let mut y = vec![0.0; plain];
    let (mut y_pooled, mut argmax) = (vec![0.0; pooled], vec![0u32; pooled]);
    let dpool: Vec<f32> = (0..pooled).map(|i| ((i * 13) % 101) as f32 * 1e-3).collect();
    let mut dy = vec![0.0; plain];
    let (mut dw, mut db) = (vec![0.0; g.patch_len() * filters], vec![0.0; filters]);
    let mut times = vec![Vec::new(); 4];
    let mut time = |part: usize, f: &mut dyn FnMut()| {
        let t = Instant::now();
        f();
        times[part].push(t.elapsed().as_secs_f64() * 1e3);
    };
    for _ in 0..rounds {
        time(0, &mut || {
            conv_direct::forward(&g, batch, &x, &weight, &bias, &mut y);
            max_pool_forward(&pool, batch, &y, &mut y_pooled, &mut argmax);
        });
        time(1, &mut || {
            max_pool_backward(batch, &dpool, &argmax, &mut dy);
            conv_direct::weight_grad(&g, batch, &x, &dy, &mut dw);
            kernels::vector::sum_rows(&dy, &mut db);
        });
        time(2, &mut || {
            conv_direct::forward_pooled(&g, batch, &x, &weight, &bias, &mut y_pooled, &mut argmax)
        });
        time(3, &mut || {
            conv_direct::weight_grad_pooled(&g, batch, &x, &dpool, &argmax, &mut dw, &mut db)
        });
    }
    println!(
        "kernel {}, {} threads; {h}x{w}x{c}, {filters} filters {k}x{k}, then 2x2 max-pooling, batch {batch}",
        kernels::Isa::selected().name(),
        rayon::current_num_threads(),
    );
    let median = |t: &mut Vec<f64>| {
        t.sort_by(f64::total_cmp);
        t[t.len() / 2]
    };
    let [a, b, c, d] = [0, 1, 2, 3].map(|i| median(&mut times[i]));
    println!("{:<24} {:>9} {:>9}", "", "forward", "backward");
    println!("{:<24} {a:>9.3} {b:>9.3} ms", "one after the other");
    println!("{:<24} {c:>9.3} {d:>9.3} ms", "together");
}
