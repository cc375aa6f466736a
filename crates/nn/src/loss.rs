//! Softmax cross-entropy: the loss of every MNIST classifier here.
//!
//! Forward: p = softmax(z) per row, loss = mean over the batch of -ln p[label].
//! Backward: dz = (p - onehot(label)) / batch.

use kernels::softmax;
use tensor::Tensor;

use crate::NnError;

/// Softmax followed by cross-entropy, averaged over the batch.
#[derive(Clone, Debug, Default)]
pub struct SoftmaxCrossEntropy {
    probs: Tensor,
    /// The label smoothing of the last forward pass, for its backward.
    smoothing: f32,
}

impl SoftmaxCrossEntropy {
    /// A new loss.
    pub fn new() -> Self {
        Self::default()
    }

    /// The mean loss of `logits` `[batch, classes]` against `labels`; keeps
    /// the probabilities for [`backward`](Self::backward).
    pub fn forward(&mut self, logits: &Tensor, labels: &[u8]) -> Result<f32, NnError> {
        self.forward_smoothed(logits, labels, 0.0)
    }

    /// [`forward`](Self::forward) against labels smoothed by `smoothing`
    /// (ε): targets `1 - ε` on the label plus `ε / classes` on every class
    /// (Szegedy et al. 2016); [`backward`](Self::backward) then gives this
    /// loss's gradient.
    pub fn forward_smoothed(&mut self, logits: &Tensor, labels: &[u8], smoothing: f32) -> Result<f32, NnError> {
        let (batch, classes) = (logits.rows(), logits.row_len());
        check_labels(batch, classes, labels)?;
        self.probs.set_dims(logits.shape().dims());
        self.smoothing = smoothing;
        let sum =
            softmax::smoothed_cross_entropy_forward(logits.data(), labels, classes, smoothing, self.probs.data_mut());
        Ok((sum / batch.max(1) as f64) as f32)
    }

    /// The gradient of the mean loss with respect to the logits of the last
    /// forward pass, written into `grad_logits`.
    pub fn backward(&self, labels: &[u8], grad_logits: &mut Tensor) {
        let (batch, classes) = (self.probs.rows(), self.probs.row_len());
        grad_logits.set_dims(self.probs.shape().dims());
        let scale = 1.0 / batch.max(1) as f32;
        softmax::smoothed_cross_entropy_backward(
            self.probs.data(),
            labels,
            classes,
            self.smoothing,
            scale,
            grad_logits.data_mut(),
        );
    }

    /// The probabilities of the last forward pass, `[batch, classes]`.
    pub fn probs(&self) -> &Tensor {
        &self.probs
    }
}

fn check_labels(batch: usize, classes: usize, labels: &[u8]) -> Result<(), NnError> {
    if labels.len() != batch {
        return Err(NnError::Labels(format!("{} labels for {batch} examples", labels.len())));
    }
    if let Some((i, &l)) = labels.iter().enumerate().find(|&(_, &l)| l as usize >= classes) {
        return Err(NnError::Labels(format!(
            "label {i} is {l}, but the model has {classes} classes"
        )));
    }
    Ok(())
}

/// Sigmoid followed by binary cross-entropy, for outputs that are each a
/// yes/no probability (the XOR experiments). The loss is the mean over the
/// batch of the sum over outputs; targets are in [0, 1].
///
/// Forward: p = sigmoid(z), loss = mean over the batch of
/// Σ -(y ln p + (1 - y) ln(1 - p)). Backward: dz = (p - y) / batch.
#[derive(Clone, Debug, Default)]
pub struct SigmoidBinaryCrossEntropy {
    probs: Tensor,
}

impl SigmoidBinaryCrossEntropy {
    /// A new loss.
    pub fn new() -> Self {
        Self::default()
    }

    /// The loss of `logits` against `targets` (same shape, values in [0, 1]).
    pub fn forward(&mut self, logits: &Tensor, targets: &Tensor) -> Result<f32, NnError> {
        if logits.shape() != targets.shape() {
            return Err(NnError::Labels(format!(
                "targets of shape {} for outputs of shape {}",
                targets.shape(),
                logits.shape()
            )));
        }
        if let Some(y) = targets.data().iter().find(|y| !(0.0..=1.0).contains(*y)) {
            return Err(NnError::Labels(format!("binary targets must be in [0, 1], found {y}")));
        }
        self.probs.set_dims(logits.shape().dims());
        let sum = softmax::sigmoid_cross_entropy_forward(logits.data(), targets.data(), self.probs.data_mut());
        Ok((sum / logits.rows().max(1) as f64) as f32)
    }

    /// The gradient of the loss with respect to the logits of the last forward.
    pub fn backward(&self, targets: &Tensor, grad_logits: &mut Tensor) {
        grad_logits.set_dims(self.probs.shape().dims());
        let scale = 1.0 / self.probs.rows().max(1) as f32;
        softmax::sigmoid_cross_entropy_backward(self.probs.data(), targets.data(), scale, grad_logits.data_mut());
    }

    /// The probabilities of the last forward pass.
    pub fn probs(&self) -> &Tensor {
        &self.probs
    }
}
