//! One pass over a training set, and accuracy over a data set, in
//! mini-batches whose buffers are reused from batch to batch.

use mnist_io::augment::Augment;
use mnist_io::{IMAGE_PIXELS, Subset};
use nn::{Classifier, NnError};
use optim::Optimizer;
use rand::Rng;
use tensor::Tensor;

/// Reusable batch buffers.
#[derive(Default)]
pub struct Batch {
    /// Pixels, `[batch, 784]`.
    pub x: Tensor,
    /// Labels.
    pub labels: Vec<u8>,
}

/// Trains `net` for one epoch on `train` in a new random order from `rng`,
/// in batches of `batch_size` (the last one may be smaller), each augmented
/// by `augment` with a seed from `rng`; `on_batch` hears each batch's cost.
/// Returns the mean of the batch costs, as the tutorials print it.
#[allow(clippy::too_many_arguments)]
pub fn run_epoch<R: Rng + ?Sized>(
    net: &mut Classifier,
    train: &Subset,
    batch_size: usize,
    augment: &Augment,
    optimizer: &mut dyn Optimizer,
    rng: &mut R,
    batch: &mut Batch,
    on_batch: &mut dyn FnMut(f32),
) -> Result<f64, NnError> {
    let order = train.shuffled_indices(rng);
    let mut cost_sum = 0.0f64;
    let mut batches = 0usize;
    for indices in order.chunks(batch_size.max(1)) {
        batch.x.set_dims(&[indices.len(), IMAGE_PIXELS]);
        train.gather(indices, batch.x.data_mut(), &mut batch.labels);
        augment_batch(augment, batch, rng);
        let cost = net.train_step(&batch.x, &batch.labels, optimizer)?;
        on_batch(cost);
        cost_sum += cost as f64;
        batches += 1;
    }
    Ok(cost_sum / batches.max(1) as f64)
}

/// Augments the batch's images, drawing the seed from `rng` only when there
/// is something to do (so runs without augmentation keep their random stream).
fn augment_batch<R: Rng + ?Sized>(augment: &Augment, batch: &mut Batch, rng: &mut R) {
    if !augment.is_identity() {
        augment.apply(batch.x.data_mut(), rng.next_u64());
    }
}

/// Fraction of `subset` that `net` classifies correctly, in chunks of 1,000.
pub fn accuracy(net: &mut Classifier, subset: &Subset, batch: &mut Batch) -> Result<f64, NnError> {
    const CHUNK: usize = 1000;
    let mut correct = 0;
    for start in (0..subset.len()).step_by(CHUNK) {
        let end = (start + CHUNK).min(subset.len());
        batch.x.set_dims(&[end - start, IMAGE_PIXELS]);
        subset.gather_range(start, end, batch.x.data_mut(), &mut batch.labels);
        correct += net.evaluate(&batch.x, &batch.labels)?.1;
    }
    Ok(correct as f64 / subset.len().max(1) as f64)
}

/// Trains `net` for `steps` steps on batches of `batch_size` drawn from
/// `train` uniformly *with replacement* (the NumPy course's
/// `np.random.choice(train_size, batch_size)`); `on_batch` hears each
/// batch's cost. Returns the mean batch cost.
#[allow(clippy::too_many_arguments)]
pub fn run_steps<R: Rng + ?Sized>(
    net: &mut Classifier,
    train: &Subset,
    batch_size: usize,
    augment: &Augment,
    steps: usize,
    optimizer: &mut dyn Optimizer,
    rng: &mut R,
    batch: &mut Batch,
    on_batch: &mut dyn FnMut(f32),
) -> Result<f64, NnError> {
    let mut indices = Vec::with_capacity(batch_size);
    let mut cost_sum = 0.0f64;
    for _ in 0..steps {
        train.sample_indices(batch_size, rng, &mut indices);
        batch.x.set_dims(&[batch_size, IMAGE_PIXELS]);
        train.gather(&indices, batch.x.data_mut(), &mut batch.labels);
        augment_batch(augment, batch, rng);
        let cost = net.train_step(&batch.x, &batch.labels, optimizer)?;
        on_batch(cost);
        cost_sum += cost as f64;
    }
    Ok(cost_sum / steps.max(1) as f64)
}
