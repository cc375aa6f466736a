//! A model with a softmax cross-entropy head: one training step, evaluation
//! and prediction, with every buffer reused.

use kernels::softmax::argmax_rows;
use optim::Optimizer;
use tensor::Tensor;

use crate::{Mode, NnError, Sequential, SoftmaxCrossEntropy};

/// A [`Sequential`] model whose outputs are class logits.
pub struct Classifier {
    /// The network.
    pub model: Sequential,
    loss: SoftmaxCrossEntropy,
    grad_logits: Tensor,
    predictions: Vec<u8>,
}

impl Classifier {
    /// Wraps a model whose output is one logit per class.
    pub fn new(model: Sequential) -> Self {
        Self {
            model,
            loss: SoftmaxCrossEntropy::new(),
            grad_logits: Tensor::default(),
            predictions: Vec::new(),
        }
    }

    /// One step of training on the batch `x` with `labels`: forward, loss,
    /// backward, update. Returns the batch's mean loss before the update.
    pub fn train_step(&mut self, x: &Tensor, labels: &[u8], optimizer: &mut dyn Optimizer) -> Result<f32, NnError> {
        let logits = self.model.forward(x, Mode::Train)?;
        let loss = self.loss.forward(logits, labels)?;
        self.loss.backward(labels, &mut self.grad_logits);
        self.model.backward(x, &self.grad_logits);
        self.model.update(optimizer);
        Ok(loss)
    }

    /// Mean loss and the number of correct predictions on the batch `x`.
    pub fn evaluate(&mut self, x: &Tensor, labels: &[u8]) -> Result<(f32, usize), NnError> {
        let logits = self.model.forward(x, Mode::Eval)?;
        let loss = self.loss.forward(logits, labels)?;
        argmax_rows(logits.data(), logits.row_len(), &mut self.predictions);
        let correct = self.predictions.iter().zip(labels).filter(|(p, l)| p == l).count();
        Ok((loss, correct))
    }

    /// The predicted class of each example of `x`.
    pub fn predict(&mut self, x: &Tensor) -> Result<&[u8], NnError> {
        let logits = self.model.forward(x, Mode::Eval)?;
        argmax_rows(logits.data(), logits.row_len(), &mut self.predictions);
        Ok(&self.predictions)
    }
}
