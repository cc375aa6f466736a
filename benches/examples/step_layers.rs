//! Where a training step spends its time: each layer's forward and backward
//! and the optimiser's update, timed over many steps on the current rayon
//! pool, medians in milliseconds. `cnn` is the tutorial's CNN at batch 50,
//! `mlp` the deep and wide MLP of `--bench train_epoch` (784-512x4-10,
//! ReLU) at batch 100.
//!
//! `cargo run --release -p benches --example step_layers -- cnn|mlp [steps]`
//! (`RAYON_NUM_THREADS=1` for one thread), or any network as `mnist train
//! --arch` writes it, on 28x28x1 images (784 inputs when it begins with a
//! dense layer), with Xavier weights:
//! `step_layers arch "conv2d(16,3) batchnorm relu maxpool(2) flatten dense(10)" BATCH [steps]`.
//! For a network given so, the whole model's step is timed too, as
//! `Sequential` runs it (a first convolution and the pooling after it as
//! one pass, where they fuse), alternating with the layer-by-layer step.

use std::time::Instant;

use benches::nets::{CNN_BATCH, MLP_BATCH, cnn_layers, mlp_layers, pixels};
use nn::Mode;
use optim::{Adam, AdamConfig, Optimizer};
use tensor::Tensor;

fn main() {
    kernels::denormals::flush_denormals();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let fail = |why: String| -> ! {
        eprintln!("step_layers: {why}");
        std::process::exit(2);
    };
    let (mut layers, x, rest, mut model) = match args.first().map(String::as_str) {
        Some("cnn") | None => (cnn_layers(1), pixels(&[CNN_BATCH, 28, 28, 1]), 1, None),
        Some("mlp") => (mlp_layers(1), pixels(&[MLP_BATCH, 784]), 1, None),
        Some("arch") => {
            let (Some(text), Some(batch)) = (args.get(1), args.get(2).and_then(|b| b.parse::<usize>().ok())) else {
                fail("arch wants the network's text and a batch size".into())
            };
            let specs = nn::layer_spec::parse(text, &nn::Init::XavierUniform, &nn::Init::Zeros)
                .unwrap_or_else(|e| fail(e.to_string()));
            let dense_first = matches!(specs.first(), Some(nn::LayerSpec::Dense { .. }));
            let input: &[usize] = if dense_first { &[784] } else { &[28, 28, 1] };
            let build = || {
                let mut rng = <rand_xoshiro::Xoshiro256PlusPlus as rand::SeedableRng>::seed_from_u64(1);
                nn::Builder::with_layers(tensor::Shape::new(input), specs.clone())
                    .build(&mut rng)
                    .unwrap_or_else(|e| fail(e.to_string()))
            };
            let shape: Vec<usize> = std::iter::once(batch).chain(input.iter().copied()).collect();
            (build().into_layers(), pixels(&shape), 3, Some(build()))
        }
        Some(other) => fail(format!("{other:?} is not a network: use cnn, mlp or arch")),
    };
    let steps: usize = args.get(rest).and_then(|s| s.parse().ok()).unwrap_or(60);
    let n = layers.len();
    let mut outs: Vec<Tensor> = (0..n).map(|_| Tensor::default()).collect();
    let mut grads: Vec<Tensor> = (0..n + 1).map(|_| Tensor::default()).collect();
    let mut adam = Adam::new(AdamConfig::tensorflow(1e-4));
    let mut times = vec![Vec::new(); 2 * n + 1];
    let mut model_times = Vec::new();
    let mut model_adam = Adam::new(AdamConfig::tensorflow(1e-4));
    let pool = rayon::ThreadPoolBuilder::new()
        .start_handler(|_| {
            kernels::denormals::flush_denormals();
        })
        .build()
        .unwrap();
    pool.install(|| {
        for _ in 0..steps {
            for i in 0..n {
                let t = Instant::now();
                let (before, after) = outs.split_at_mut(i);
                let input = if i == 0 { &x } else { &before[i - 1] };
                layers[i].forward(input, &mut after[0], Mode::Train);
                times[i].push(t.elapsed().as_secs_f64() * 1e3);
            }
            // A stand-in for the loss gradient: small values of the logits' shape.
            grads[n] = outs[n - 1].clone();
            grads[n].data_mut().iter_mut().for_each(|v| *v *= 1e-3);
            for i in (0..n).rev() {
                let t = Instant::now();
                let input = if i == 0 { &x } else { &outs[i - 1] };
                let (lower, upper) = grads.split_at_mut(i + 1);
                let dx = if i == 0 { None } else { Some(&mut lower[i]) };
                layers[i].backward(input, &outs[i], &upper[0], dx);
                times[n + i].push(t.elapsed().as_secs_f64() * 1e3);
            }
            let t = Instant::now();
            adam.begin_step();
            let mut slot = 0;
            for layer in &mut layers {
                layer.visit_params(&mut |p| {
                    adam.update(slot, p.value, p.grad);
                    slot += 1;
                });
            }
            times[2 * n].push(t.elapsed().as_secs_f64() * 1e3);
            if let Some(model) = model.as_mut() {
                let t = Instant::now();
                let mut dy = model
                    .forward(&x, Mode::Train)
                    .expect("the batch fits the model")
                    .clone();
                dy.data_mut().iter_mut().for_each(|v| *v *= 1e-3);
                model.backward(&x, &dy);
                train::update(model, &mut model_adam);
                model_times.push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
    });
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let mut total = 0.0;
    println!(
        "kernel {}, {} threads",
        kernels::Isa::selected().name(),
        pool.current_num_threads()
    );
    println!("{:<14} {:>9} {:>9}", "layer", "forward", "backward");
    for i in 0..n {
        let (f, b) = (median(&mut times[i].clone()), median(&mut times[n + i].clone()));
        total += f + b;
        println!("{:<14} {f:>9.3} {b:>9.3}", layers[i].kind());
    }
    let u = median(&mut times[2 * n]);
    total += u;
    println!("{:<14} {u:>9.3}", "Adam update");
    println!("{:<14} {total:>9.3} ms (sum of medians)", "step");
    if !model_times.is_empty() {
        let m = median(&mut model_times);
        println!(
            "{:<14} {m:>9.3} ms (median, the whole model as Sequential runs it)",
            "model step"
        );
    }
}
