//! A model with a classification head (softmax cross-entropy over classes,
//! or sigmoid binary cross-entropy for yes/no): one training step,
//! evaluation and prediction, with every buffer reused.

use kernels::softmax::argmax_rows;
use tensor::Tensor;

use crate::{Mode, NnError, Sequential, SigmoidBinaryCrossEntropy, SoftmaxCrossEntropy};

/// How a [`Classifier`] turns its model's outputs into a loss and a class.
enum Head {
    /// One logit per class, softmax cross-entropy, the largest logit wins.
    Softmax(SoftmaxCrossEntropy),
    /// One logit, sigmoid binary cross-entropy against labels 0 and 1,
    /// class 1 when the logit is positive. `targets` holds the labels as
    /// floats, `[batch, 1]`.
    Sigmoid {
        loss: SigmoidBinaryCrossEntropy,
        targets: Tensor,
    },
}

/// A [`Sequential`] model whose outputs are class logits.
pub struct Classifier {
    /// The network.
    pub model: Sequential,
    /// L2 weight decay λ, as the NumPy course defines it: `0.5 λ Σ W²` over
    /// every weight matrix (not biases, not batch norm's gamma and beta) is
    /// added to the loss, and `λ W` to each weight's gradient. 0: none.
    pub weight_decay: f32,
    /// Label smoothing ε of the training loss (softmax heads): targets `1 -
    /// ε` on the label plus `ε / classes` on every class. Evaluation
    /// measures the plain loss. 0: none.
    pub label_smoothing: f32,
    head: Head,
    grad_logits: Tensor,
    predictions: Vec<u8>,
    /// [`Classifier::evaluate_in_parts`]' part of the input, and the
    /// logits of every part together.
    part: Tensor,
    logits: Tensor,
}

impl Classifier {
    /// Wraps a model whose output is one logit per class.
    pub fn new(model: Sequential) -> Self {
        Self {
            model,
            weight_decay: 0.0,
            label_smoothing: 0.0,
            head: Head::Softmax(SoftmaxCrossEntropy::new()),
            grad_logits: Tensor::default(),
            predictions: Vec::new(),
            part: Tensor::default(),
            logits: Tensor::default(),
        }
    }

    /// Wraps a model with a single output, a logit for class 1 against
    /// class 0, trained with sigmoid binary cross-entropy (the XOR
    /// experiments); labels must be 0 or 1.
    pub fn binary(model: Sequential) -> Self {
        Self {
            head: Head::Sigmoid {
                loss: SigmoidBinaryCrossEntropy::new(),
                targets: Tensor::default(),
            },
            ..Self::new(model)
        }
    }

    /// Number of classes the head tells apart.
    pub fn classes(&self) -> usize {
        match &self.head {
            Head::Softmax(_) => self.model.output_shape().dims().iter().product(),
            Head::Sigmoid { .. } => 2,
        }
    }

    /// The loss of `logits` against `labels` (smoothed by `smoothing`, for
    /// a softmax head), and the predicted classes into `predictions`.
    fn loss_forward(
        head: &mut Head,
        logits: &Tensor,
        labels: &[u8],
        smoothing: f32,
        predictions: &mut Vec<u8>,
    ) -> Result<f32, NnError> {
        match head {
            Head::Softmax(loss) => {
                let value = loss.forward_smoothed(logits, labels, smoothing)?;
                argmax_rows(logits.data(), logits.row_len(), predictions);
                Ok(value)
            }
            Head::Sigmoid { loss, targets } => {
                if let Some(bad) = labels.iter().find(|&&l| l > 1) {
                    return Err(NnError::Labels(format!("binary labels must be 0 or 1, found {bad}")));
                }
                targets.set_dims(&[labels.len(), 1]);
                for (t, &l) in targets.data_mut().iter_mut().zip(labels) {
                    *t = l as f32;
                }
                let value = loss.forward(logits, targets)?;
                binary_predictions(logits, predictions);
                Ok(value)
            }
        }
    }

    /// The first half of a training step on the batch `x` with `labels`:
    /// forward in training mode, loss, backward, and weight decay's share
    /// of the gradients. Leaves every parameter's gradient for an
    /// optimiser (`train::train_step` does both halves) and returns the
    /// batch's mean loss, the decay's penalty included.
    pub fn compute_gradients(&mut self, x: &Tensor, labels: &[u8]) -> Result<f32, NnError> {
        let logits = self.model.forward(x, Mode::Train)?;
        let mut loss = Self::loss_forward(
            &mut self.head,
            logits,
            labels,
            self.label_smoothing,
            &mut self.predictions,
        )?;
        match &self.head {
            Head::Softmax(head) => head.backward(labels, &mut self.grad_logits),
            Head::Sigmoid { loss, targets } => loss.backward(targets, &mut self.grad_logits),
        }
        self.model.backward(x, &self.grad_logits);
        if self.weight_decay != 0.0 {
            loss += self.decay_weights();
        }
        Ok(loss)
    }

    /// Adds `λ W` to the gradient of every parameter that decays (its
    /// layer says which) and returns `0.5 λ Σ W²` over them.
    fn decay_weights(&mut self) -> f32 {
        let lambda = self.weight_decay;
        let mut penalty = 0.0f64;
        self.model.visit_params(&mut |p| {
            if p.decays {
                for (g, &w) in p.grad.iter_mut().zip(p.value.iter()) {
                    *g += lambda * w;
                    penalty += (w as f64) * (w as f64);
                }
            }
        });
        (0.5 * lambda as f64 * penalty) as f32
    }

    /// Mean loss and the number of correct predictions on the batch `x`.
    pub fn evaluate(&mut self, x: &Tensor, labels: &[u8]) -> Result<(f32, usize), NnError> {
        let logits = self.model.forward(x, Mode::Eval)?;
        let loss = Self::loss_forward(&mut self.head, logits, labels, 0.0, &mut self.predictions)?;
        Ok((loss, self.correct(labels)))
    }

    /// [`evaluate`](Self::evaluate), with the model run on `part` examples
    /// at a time and the loss taken over the whole batch, as `evaluate`
    /// takes it. In evaluation mode every layer computes each example on its
    /// own, and the products sum each element in an order that does not
    /// depend on the number of rows, so the logits, and the result, have
    /// the same bits as `evaluate`'s; only the working set shrinks (a
    /// convolution's im2col buffer for 200 images is past a 1 MiB L2).
    pub fn evaluate_in_parts(&mut self, x: &Tensor, labels: &[u8], part: usize) -> Result<(f32, usize), NnError> {
        let n = x.shape().dims().first().copied().unwrap_or(0);
        if part == 0 || n <= part {
            return self.evaluate(x, labels);
        }
        let per_example = x.len() / n;
        let mut part_dims = x.shape().dims().to_vec();
        for start in (0..n).step_by(part) {
            let end = (start + part).min(n);
            part_dims[0] = end - start;
            self.part.set_dims(&part_dims);
            self.part
                .data_mut()
                .copy_from_slice(&x.data()[start * per_example..end * per_example]);
            let out = self.model.forward(&self.part, Mode::Eval)?;
            let row = out.len() / (end - start);
            if start == 0 {
                let mut logits_dims = out.shape().dims().to_vec();
                logits_dims[0] = n;
                self.logits.set_dims(&logits_dims);
            }
            self.logits.data_mut()[start * row..end * row].copy_from_slice(out.data());
        }
        let loss = Self::loss_forward(&mut self.head, &self.logits, labels, 0.0, &mut self.predictions)?;
        Ok((loss, self.correct(labels)))
    }

    /// How many of the last `evaluate`'s or `compute_gradients`' predictions
    /// equal `labels`.
    pub fn correct(&self, labels: &[u8]) -> usize {
        self.predictions.iter().zip(labels).filter(|(p, l)| p == l).count()
    }

    /// The predicted classes of the last `evaluate` or `predict`.
    pub fn predictions(&self) -> &[u8] {
        &self.predictions
    }

    /// The class probabilities of the last `evaluate` or `compute_gradients`,
    /// `[batch, classes]` row-major; for a binary classifier, the
    /// probability of class 1 alone, `[batch, 1]`.
    pub fn probabilities(&self) -> &[f32] {
        match &self.head {
            Head::Softmax(loss) => loss.probs().data(),
            Head::Sigmoid { loss, .. } => loss.probs().data(),
        }
    }

    /// The predicted class of each example of `x`.
    pub fn predict(&mut self, x: &Tensor) -> Result<&[u8], NnError> {
        let logits = self.model.forward(x, Mode::Eval)?;
        match self.head {
            Head::Softmax(_) => argmax_rows(logits.data(), logits.row_len(), &mut self.predictions),
            Head::Sigmoid { .. } => binary_predictions(logits, &mut self.predictions),
        }
        Ok(&self.predictions)
    }
}

/// Class 1 where the single logit is positive (probability above one half).
fn binary_predictions(logits: &Tensor, predictions: &mut Vec<u8>) {
    predictions.clear();
    predictions.extend(logits.data().iter().map(|&z| u8::from(z > 0.0)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Dense, Init};
    use rand::SeedableRng;
    use tensor::Shape;

    /// Label smoothing changes the training loss only: with all-zero
    /// weights every class has probability 1/10, so the loss is ln 10
    /// either way, but the logits' gradient on the label shrinks from
    /// 0.1 - 1 to 0.1 - (0.8 + 0.02).
    #[test]
    fn label_smoothing_moves_the_training_gradient_only() {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(1);
        let mut model = Sequential::new(Shape::new(&[3]));
        model
            .push(Dense::new(3, 10, &Init::Zeros, &Init::Zeros, &mut rng))
            .unwrap();
        let mut net = Classifier::new(model);
        let x = Tensor::from_vec(Shape::new(&[1, 3]), vec![1.0, 0.0, 0.0]);
        let label_grad = |net: &mut Classifier| {
            let loss = net.compute_gradients(&x, &[4]).unwrap();
            let mut grads = Vec::new();
            net.model.visit_params(&mut |p| grads.push(p.grad.to_vec()));
            // The bias gradient is the logits' gradient.
            (loss, grads[1][4])
        };
        let (plain_loss, plain) = label_grad(&mut net);
        net.label_smoothing = 0.2;
        let (smoothed_loss, smoothed) = label_grad(&mut net);
        assert!((plain_loss - 10f32.ln()).abs() < 1e-6 && (smoothed_loss - 10f32.ln()).abs() < 1e-6);
        assert!((plain - (0.1 - 1.0)).abs() < 1e-6, "{plain}");
        assert!((smoothed - (0.1 - 0.82)).abs() < 1e-6, "{smoothed}");
    }

    /// With an all-zero input the data gradient of W is zero, so the
    /// gradients show the decay alone: λ W on the weights, nothing added to
    /// the biases, and the loss grows by 0.5 λ Σ W².
    #[test]
    fn weight_decay_as_the_course_defines_it() {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(1);
        let mut model = Sequential::new(Shape::new(&[3]));
        model
            .push(Dense::new(3, 2, &Init::Constant(0.5), &Init::Zeros, &mut rng))
            .unwrap();
        let mut net = Classifier::new(model);
        let x = Tensor::zeros(Shape::new(&[1, 3]));
        let plain = net.evaluate(&x, &[1]).unwrap().0; // ln 2: zero logits
        net.weight_decay = 0.1;
        let loss = net.compute_gradients(&x, &[1]).unwrap();
        // 0.5 * 0.1 * 6 * 0.25 = 0.075
        assert!((loss - plain - 0.075).abs() < 1e-6, "{loss} vs {plain}");
        let mut grads = Vec::new();
        net.model
            .visit_params(&mut |p| grads.push((p.name, p.decays, p.grad.to_vec())));
        assert_eq!((grads[0].0, grads[0].1), ("weight", true));
        assert!(grads[0].2.iter().all(|&g| (g - 0.05).abs() < 1e-7), "{:?}", grads[0]);
        // The bias has the data gradient only: (p - onehot) = (0.5, -0.5).
        assert_eq!(grads[1], ("bias", false, vec![0.5, -0.5]));
    }

    /// Evaluating in parts gives `evaluate`'s loss bits, count and
    /// predictions, for a network with both convolution paths (a direct
    /// 3x3 on one channel, a lowered 3x3 on 8), batch norm with moved
    /// running statistics, pooling, dropout and two dense layers, and parts
    /// that do and do not divide the batch.
    #[test]
    fn evaluating_in_parts_gives_the_same_bits() {
        use crate::{Builder, Padding};
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(5);
        let model = Builder::new(Shape::new(&[12, 12, 1]))
            .conv2d(8, 3, Padding::Same)
            .batch_norm()
            .relu()
            .max_pool(2)
            .conv2d(16, 3, Padding::Same)
            .relu()
            .flatten()
            .dropout(0.3)
            .dense(20)
            .relu()
            .dense(10)
            .build(&mut rng)
            .unwrap();
        let mut net = Classifier::new(model);
        let n = 61;
        let mut state = 12345u64;
        let pixels: Vec<f32> = (0..n * 144)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (state >> 40) as f32 / (1u64 << 24) as f32
            })
            .collect();
        let x = Tensor::from_vec(Shape::new(&[n, 12, 12, 1]), pixels);
        let labels: Vec<u8> = (0..n).map(|i| (i * 7 % 10) as u8).collect();
        // Two training passes move batch norm's running statistics.
        for _ in 0..2 {
            net.compute_gradients(&x, &labels).unwrap();
        }
        let (loss, correct) = net.evaluate(&x, &labels).unwrap();
        let predictions = net.predictions().to_vec();
        for part in [1, 7, 30, 60, 61, 200] {
            let (parts_loss, parts_correct) = net.evaluate_in_parts(&x, &labels, part).unwrap();
            assert_eq!(parts_loss.to_bits(), loss.to_bits(), "part {part}");
            assert_eq!(parts_correct, correct, "part {part}");
            assert_eq!(net.predictions(), &predictions[..], "part {part}");
        }
    }
}
