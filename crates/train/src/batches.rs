//! Stretches of training (an epoch, or a number of steps) and evaluation
//! over a data set, in mini-batches whose buffers are reused from batch to
//! batch.

use mnist_io::Subset;
use mnist_io::augment::Augment;
use nn::{Classifier, NnError};
use optim::Optimizer;
use rand::Rng;
use tensor::Tensor;

use crate::FitConfig;

/// Reusable batch buffers.
#[derive(Default)]
pub struct Batch {
    /// Pixels, `[batch, ...]` in the model's input shape (`[784]` for an
    /// MLP, `[28, 28, 1]` for a CNN: the same bytes either way).
    pub x: Tensor,
    /// Labels.
    pub labels: Vec<u8>,
    dims: Vec<usize>,
    indices: Vec<usize>,
}

impl Batch {
    /// Fills the batch with the examples `start..end` of `subset`, in order.
    pub fn gather_range(&mut self, net: &Classifier, subset: &Subset, start: usize, end: usize) {
        self.shape(end - start, net);
        subset.gather_range(start, end, self.x.data_mut(), &mut self.labels);
    }

    /// Shapes `x` as `n` examples of the model's input.
    pub fn shape(&mut self, n: usize, net: &Classifier) {
        self.dims.clear();
        self.dims.push(n);
        self.dims.extend_from_slice(net.model.input_shape().dims());
        self.x.set_dims(&self.dims);
    }
}

/// The learning rate of each step, for schedules that change it by step:
/// called before every step, it gives the rate to set, or `None` to leave
/// the optimiser's as it is.
pub type StepRates<'a> = &'a mut dyn FnMut() -> Option<f32>;

/// Trains `net` for one epoch on `train` in a new random order from `rng`,
/// in batches of `config.batch_size` (the last one may be smaller), each
/// augmented by `config.augment` with a seed from `rng`, at the rate
/// `rates` gives each step; `on_batch` hears each batch's cost
/// and accuracy (in training mode: with dropout, before the update).
/// Returns the mean of the batch costs, as the tutorials print it.
#[allow(clippy::too_many_arguments)]
pub fn run_epoch<R: Rng + ?Sized>(
    net: &mut Classifier,
    train: &Subset,
    config: &FitConfig,
    optimizer: &mut dyn Optimizer,
    rng: &mut R,
    batch: &mut Batch,
    rates: StepRates<'_>,
    on_batch: &mut dyn FnMut(f32, f32),
) -> Result<f64, NnError> {
    let order = train.shuffled_indices(rng);
    let mut cost_sum = 0.0f64;
    let mut batches = 0usize;
    for indices in order.chunks(config.batch_size.max(1)) {
        if let Some(rate) = rates() {
            optimizer.set_learning_rate(rate);
        }
        let (cost, accuracy) = train_batch(net, train, indices, config, optimizer, rng, batch)?;
        on_batch(cost, accuracy);
        cost_sum += cost as f64;
        batches += 1;
    }
    Ok(cost_sum / batches.max(1) as f64)
}

/// How `run_steps` picks its batches.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum Sampler {
    /// Uniformly with replacement, as the NumPy course's
    /// `np.random.choice(train_size, batch_size)` (the indices are only a
    /// buffer: every batch is drawn afresh).
    WithReplacement(#[serde(skip)] Vec<usize>),
    /// Walking the training set in shuffled epochs, as TensorFlow's
    /// `mnist.train.next_batch`: each epoch a new order, a batch never
    /// straddling two epochs (the last batch of an epoch may be short).
    Epochs {
        /// This epoch's order.
        order: Vec<usize>,
        /// Where the next batch starts in it.
        next: usize,
    },
}

impl Sampler {
    /// Batches drawn with replacement.
    pub fn with_replacement() -> Self {
        Sampler::WithReplacement(Vec::new())
    }

    /// Batches walking shuffled epochs.
    pub fn epochs() -> Self {
        Sampler::Epochs {
            order: Vec::new(),
            next: 0,
        }
    }

    fn next_batch<R: Rng + ?Sized>(&mut self, train: &Subset, batch_size: usize, rng: &mut R) -> &[usize] {
        match self {
            Sampler::WithReplacement(indices) => {
                train.sample_indices(batch_size, rng, indices);
                indices
            }
            Sampler::Epochs { order, next } => {
                if *next >= order.len() {
                    *order = train.shuffled_indices(rng);
                    *next = 0;
                }
                let start = *next;
                *next = (start + batch_size.max(1)).min(order.len());
                &order[start..*next]
            }
        }
    }
}

/// Trains `net` for `steps` steps on batches of `config.batch_size` that `sampler`
/// picks, at the rate `rates` gives each step; `on_batch` hears each batch's cost and accuracy. Returns the mean
/// batch cost.
#[allow(clippy::too_many_arguments)]
pub fn run_steps<R: Rng + ?Sized>(
    net: &mut Classifier,
    train: &Subset,
    config: &FitConfig,
    steps: usize,
    sampler: &mut Sampler,
    optimizer: &mut dyn Optimizer,
    rng: &mut R,
    batch: &mut Batch,
    rates: StepRates<'_>,
    on_batch: &mut dyn FnMut(f32, f32),
) -> Result<f64, NnError> {
    let mut cost_sum = 0.0f64;
    for _ in 0..steps {
        if let Some(rate) = rates() {
            optimizer.set_learning_rate(rate);
        }
        // The sampler lends its indices; copy them out of it, as the step
        // needs `rng` too.
        batch.indices.clear();
        batch
            .indices
            .extend_from_slice(sampler.next_batch(train, config.batch_size, rng));
        let indices = std::mem::take(&mut batch.indices);
        let cost = train_batch(net, train, &indices, config, optimizer, rng, batch);
        batch.indices = indices;
        let (cost, accuracy) = cost?;
        on_batch(cost, accuracy);
        cost_sum += cost as f64;
    }
    Ok(cost_sum / steps.max(1) as f64)
}

/// One training step on the examples `indices` of `train`, augmented: the
/// batch's cost and the fraction it classified right before the update.
fn train_batch<R: Rng + ?Sized>(
    net: &mut Classifier,
    train: &Subset,
    indices: &[usize],
    config: &FitConfig,
    optimizer: &mut dyn Optimizer,
    rng: &mut R,
    batch: &mut Batch,
) -> Result<(f32, f32), NnError> {
    batch.shape(indices.len(), net);
    train.gather(indices, batch.x.data_mut(), &mut batch.labels);
    augment_batch(&config.augment, batch, rng);
    let cost = crate::train_step(net, &batch.x, &batch.labels, optimizer, config.clip_norm)?;
    let correct = net.correct(&batch.labels);
    Ok((cost, correct as f32 / batch.labels.len().max(1) as f32))
}

/// Augments the batch's images, drawing the seed from `rng` only when there
/// is something to do (so runs without augmentation keep their random stream).
fn augment_batch<R: Rng + ?Sized>(augment: &Augment, batch: &mut Batch, rng: &mut R) {
    if !augment.is_identity() {
        augment.apply(batch.x.data_mut(), rng.next_u64());
    }
}

/// Loss and accuracy of a model on a data set.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Metrics {
    /// Mean loss per example (without weight decay's penalty); NaN when
    /// training diverged (written as null in JSON, read back as NaN).
    #[serde(deserialize_with = "null_as_nan")]
    pub loss: f64,
    /// Fraction classified correctly.
    pub accuracy: f64,
}

/// Loss and accuracy of `net` on `subset`, in chunks of 200 (the mean
/// loss is taken chunk by chunk, so the chunk fixes its bits), each run
/// through the model `PART` images at a time
/// ([`Classifier::evaluate_in_parts`], the same bits): a CNN's im2col
/// buffers then stay near the L2's size (200 images made the second
/// convolution's 17 MB): a step and a 15,000-image evaluation of the fast
/// recipe took 0.68 s instead of 0.75 (medians of five, alternating; Zen 4).
pub fn evaluate(net: &mut Classifier, subset: &Subset, batch: &mut Batch) -> Result<Metrics, NnError> {
    const CHUNK: usize = 200;
    const PART: usize = 32;
    let mut correct = 0;
    let mut loss = 0.0f64;
    for start in (0..subset.len()).step_by(CHUNK) {
        let end = (start + CHUNK).min(subset.len());
        batch.shape(end - start, net);
        subset.gather_range(start, end, batch.x.data_mut(), &mut batch.labels);
        let (chunk_loss, chunk_correct) = net.evaluate_in_parts(&batch.x, &batch.labels, PART)?;
        loss += chunk_loss as f64 * (end - start) as f64;
        correct += chunk_correct;
    }
    let n = subset.len().max(1) as f64;
    Ok(Metrics {
        loss: loss / n,
        accuracy: correct as f64 / n,
    })
}

/// Fraction of `subset` that `net` classifies correctly (see [`evaluate`]).
pub fn accuracy(net: &mut Classifier, subset: &Subset, batch: &mut Batch) -> Result<f64, NnError> {
    Ok(evaluate(net, subset, batch)?.accuracy)
}

/// JSON has no NaN: serde_json writes it as null, and this reads null back
/// as NaN (a diverged run's cost, or its metrics).
pub(crate) fn null_as_nan<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(<Option<f64> as serde::Deserialize>::deserialize(d)?.unwrap_or(f64::NAN))
}
