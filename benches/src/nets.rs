//! The two networks the training benchmarks time, built in one place: the
//! deep and wide MLP (784-512x4-10, ReLU, He initialisation, batch 100)
//! and the tutorial's CNN (LADDER.md, section F, batch 50).

use kernels::conv::Padding;
use mnist_io::Subset;
use nn::NnError;
use nn::{Classifier, Conv2d, Dense, Dropout, DropoutKind, Flatten, Init, Layer, MaxPool2d, Relu, Sequential};
use optim::Optimizer;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use tensor::{Shape, Tensor};
use train::batches::{Batch, run_epoch};

/// The MLP's widths, input to output.
pub const MLP_WIDTHS: [usize; 6] = [784, 512, 512, 512, 512, 10];
/// The MLP's batch.
pub const MLP_BATCH: usize = 100;
/// The CNN's batch.
pub const CNN_BATCH: usize = 50;

/// FLOP of one MLP training step per image (a multiply-add is 2): forward
/// and weight gradients over every layer, input gradients of every layer
/// but the first.
pub fn mlp_flops_per_image() -> f64 {
    let layers: Vec<(usize, usize)> = MLP_WIDTHS.windows(2).map(|w| (w[0], w[1])).collect();
    let forward: usize = layers.iter().map(|&(i, o)| 2 * i * o).sum();
    let input_grads: usize = layers.iter().skip(1).map(|&(i, o)| 2 * i * o).sum();
    (2 * forward + input_grads) as f64
}

/// FLOP of one CNN training step at batch 50 (see `benches/cnn.rs`).
pub const CNN_STEP_FLOPS: u64 = 4_102_400_000;

/// The MLP's layers, He-initialised from `seed`.
pub fn mlp_layers(seed: u64) -> Vec<Box<dyn Layer>> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut layers: Vec<Box<dyn Layer>> = Vec::new();
    for (i, w) in MLP_WIDTHS.windows(2).enumerate() {
        let he = Init::Normal {
            mean: 0.0,
            std: (2.0 / w[0] as f32).sqrt(),
        };
        layers.push(Box::new(Dense::new(w[0], w[1], &he, &Init::Zeros, &mut rng)));
        if i + 2 < MLP_WIDTHS.len() {
            layers.push(Box::new(Relu));
        }
    }
    layers
}

/// The tutorial's CNN's layers, initialised from `seed` as the tutorial
/// does (truncated normals, biases 0.1).
pub fn cnn_layers(seed: u64) -> Vec<Box<dyn Layer>> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let conv_w = Init::TruncatedNormal { mean: 0.0, std: 0.1 };
    let bias = Init::Constant(0.1);
    let dense_w = Init::TruncatedNormal { mean: 0.0, std: 1.0 };
    vec![
        Box::new(Conv2d::new(1, 32, 5, 1, Padding::Same, &conv_w, &bias, &mut rng)),
        Box::new(Relu),
        Box::new(MaxPool2d::new(2, 2, Padding::Same)),
        Box::new(Conv2d::new(32, 64, 5, 1, Padding::Same, &conv_w, &bias, &mut rng)),
        Box::new(Relu),
        Box::new(MaxPool2d::new(2, 2, Padding::Same)),
        Box::new(Flatten),
        Box::new(Dense::new(3136, 1024, &dense_w, &bias, &mut rng)),
        Box::new(Relu),
        Box::new(Dropout::new(0.5, DropoutKind::Inverted, 2)),
        Box::new(Dense::new(1024, 10, &Init::Zeros, &Init::Zeros, &mut rng)),
    ]
}

/// A classifier of `layers` on inputs of `input` shape.
pub fn classifier(input: &[usize], layers: Vec<Box<dyn Layer>>) -> Classifier {
    let mut model = Sequential::new(Shape::new(input));
    for layer in layers {
        model.push_boxed(layer).expect("the benchmark networks fit together");
    }
    Classifier::new(model)
}

/// The MLP as a classifier.
pub fn mlp(seed: u64) -> Classifier {
    classifier(&[784], mlp_layers(seed))
}

/// The CNN as a classifier.
pub fn cnn(seed: u64) -> Classifier {
    classifier(&[28, 28, 1], cnn_layers(seed))
}

/// Pixel-like values in [0, 1] of the given shape.
pub fn pixels(shape: &[usize]) -> Tensor {
    let shape = Shape::new(shape);
    let len = shape.len();
    Tensor::from_vec(shape, (0..len).map(|i| ((i * 7919) % 256) as f32 / 255.0).collect())
}

/// One epoch of the MLP over `train` in batches of [`MLP_BATCH`], in an
/// order drawn from `rng`, without augmentation; returns its time in
/// seconds.
pub fn mlp_epoch(
    net: &mut Classifier,
    train: &Subset,
    optimizer: &mut dyn Optimizer,
    rng: &mut Xoshiro256PlusPlus,
    batch: &mut Batch,
) -> Result<f64, NnError> {
    let start = std::time::Instant::now();
    run_epoch(
        net,
        train,
        &train::FitConfig {
            batch_size: MLP_BATCH,
            ..Default::default()
        },
        optimizer,
        rng,
        batch,
        &mut || None,
        &mut |_, _| {},
    )?;
    Ok(start.elapsed().as_secs_f64())
}
