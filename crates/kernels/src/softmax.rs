//! Softmax with cross-entropy on a batch of logits, fused because the
//! gradient of the pair is simply `softmax(z) - onehot(label)`.

/// Computes the probabilities `probs = softmax(logits)` row by row (each row
/// `classes` wide) and returns the *sum* over the batch of
/// `-ln probs[label]`. Labels must be below `classes`.
///
/// Each row is shifted by its maximum before `exp`, so large logits neither
/// overflow nor produce NaN; the log-probability is taken as
/// `z - max - ln(sum exp)` rather than `ln(p)`, so a confident wrong answer
/// costs a large finite loss instead of `ln(0) = -inf`.
pub fn softmax_cross_entropy_forward(logits: &[f32], labels: &[u8], classes: usize, probs: &mut [f32]) -> f64 {
    smoothed_cross_entropy_forward(logits, labels, classes, 0.0, probs)
}

/// [`softmax_cross_entropy_forward`] against labels smoothed by
/// `smoothing` (ε): the target of each row is `1 - ε` on its label plus
/// `ε / classes` on every class, so the loss of a row is `(1 - ε) (-ln
/// p[label]) + ε / classes Σ_k (-ln p[k])`. With ε = 0 it is the plain loss,
/// to the bit.
pub fn smoothed_cross_entropy_forward(
    logits: &[f32],
    labels: &[u8],
    classes: usize,
    smoothing: f32,
    probs: &mut [f32],
) -> f64 {
    assert_eq!(logits.len(), labels.len() * classes, "logits vs labels");
    assert_eq!(logits.len(), probs.len());
    let mut total = 0.0f64;
    for ((z, p), &label) in logits
        .chunks_exact(classes)
        .zip(probs.chunks_exact_mut(classes))
        .zip(labels)
    {
        let label = label as usize;
        assert!(label < classes, "label {label} is not below {classes}");
        let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0f32;
        for (pi, &zi) in p.iter_mut().zip(z) {
            *pi = crate::math::exp(zi - max);
            sum += *pi;
        }
        let inv = 1.0 / sum;
        p.iter_mut().for_each(|pi| *pi *= inv);
        let ln_sum = crate::math::ln(sum);
        let nll = ln_sum - (z[label] - max);
        if smoothing == 0.0 {
            total += nll as f64;
        } else {
            let mean_nll = z.iter().map(|&zk| (ln_sum - (zk - max)) as f64).sum::<f64>() / classes as f64;
            total += (1.0 - smoothing as f64) * nll as f64 + smoothing as f64 * mean_nll;
        }
    }
    total
}

/// The gradient of the *mean* loss over the batch with respect to the
/// logits: `dz = (probs - onehot(label)) * scale`, with `scale` normally
/// `1 / batch`.
pub fn softmax_cross_entropy_backward(probs: &[f32], labels: &[u8], classes: usize, scale: f32, dz: &mut [f32]) {
    smoothed_cross_entropy_backward(probs, labels, classes, 0.0, scale, dz)
}

/// The gradient of [`smoothed_cross_entropy_forward`]'s mean:
/// `dz = (probs - target) * scale`, the target `1 - ε` on the label plus
/// `ε / classes` everywhere. With ε = 0, the plain gradient to the bit.
pub fn smoothed_cross_entropy_backward(
    probs: &[f32],
    labels: &[u8],
    classes: usize,
    smoothing: f32,
    scale: f32,
    dz: &mut [f32],
) {
    assert_eq!(probs.len(), labels.len() * classes);
    assert_eq!(probs.len(), dz.len());
    let (spread, on_label) = (smoothing / classes as f32, (1.0 - smoothing) * scale);
    for ((d, p), &label) in dz
        .chunks_exact_mut(classes)
        .zip(probs.chunks_exact(classes))
        .zip(labels)
    {
        for (di, &pi) in d.iter_mut().zip(p) {
            *di = if smoothing == 0.0 {
                pi * scale
            } else {
                (pi - spread) * scale
            };
        }
        d[label as usize] -= on_label;
    }
}

/// Index of the largest element of each row (the predicted class); ties go
/// to the lowest index, NaN is never chosen over a number.
pub fn argmax_rows(x: &[f32], classes: usize, out: &mut Vec<u8>) {
    out.clear();
    out.extend(x.chunks_exact(classes).map(|row| {
        let mut best = 0;
        for (j, &v) in row.iter().enumerate() {
            if v > row[best] || row[best].is_nan() {
                best = j;
            }
        }
        best as u8
    }));
}

/// Sigmoid with binary cross-entropy, fused like softmax's: returns the
/// *sum* over all elements of `-(y ln p + (1 - y) ln(1 - p))` with
/// `p = sigmoid(z)`, writing `p` into `probs`. Computed from `z` directly
/// (`ln(1 + e^z) - y z`, stably), so saturated outputs cost a finite loss.
pub fn sigmoid_cross_entropy_forward(logits: &[f32], targets: &[f32], probs: &mut [f32]) -> f64 {
    assert!(logits.len() == targets.len() && logits.len() == probs.len());
    let mut total = 0.0f64;
    for ((p, &z), &y) in probs.iter_mut().zip(logits).zip(targets) {
        *p = crate::activation::sigmoid(z);
        // ln(1 + e^z) = max(z, 0) + ln(1 + e^-|z|)
        let softplus = z.max(0.0) as f64 + crate::math::ln_1p(crate::math::exp(-z.abs())) as f64;
        total += softplus - (y * z) as f64;
    }
    total
}

/// The gradient of the mean binary cross-entropy over the batch with respect
/// to the logits: `dz = (p - y) * scale`, `scale` normally `1 / batch`.
pub fn sigmoid_cross_entropy_backward(probs: &[f32], targets: &[f32], scale: f32, dz: &mut [f32]) {
    assert!(probs.len() == targets.len() && probs.len() == dz.len());
    for ((d, &p), &y) in dz.iter_mut().zip(probs).zip(targets) {
        *d = (p - y) * scale;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_logits_cost_ln_classes() {
        let mut p = [0.0; 10];
        let loss = softmax_cross_entropy_forward(&[3.0; 10], &[4], 10, &mut p);
        assert!((loss - 10f64.ln()).abs() < 1e-6);
        assert!(p.iter().all(|&x| (x - 0.1).abs() < 1e-7));
    }

    #[test]
    fn huge_logits_stay_finite() {
        let mut p = [0.0; 2];
        let loss = softmax_cross_entropy_forward(&[1e30, -1e30], &[1], 2, &mut p);
        assert!(loss.is_finite() && loss > 1e29);
        assert_eq!(p, [1.0, 0.0]);
    }

    /// The smoothed loss by hand (uniform logits cost ln K whatever ε; a
    /// confident right answer costs ε's share of the wrong classes), and
    /// its gradient against central differences.
    #[test]
    fn smoothed_loss_and_its_gradient() {
        let mut p = [0.0; 10];
        let loss = smoothed_cross_entropy_forward(&[3.0; 10], &[4], 10, 0.1, &mut p);
        assert!((loss - 10f64.ln()).abs() < 1e-6);
        let z = [0.3f32, -1.2, 2.0, 0.7, -0.4, 1.1, 0.0, -2.5, 0.9, 0.2];
        let (labels, eps) = ([2u8, 7], 0.2f32);
        let logits: Vec<f32> = z.iter().chain(z.iter().rev()).copied().collect();
        let mut probs = vec![0.0; 20];
        let mean = |l: &[f32], probs: &mut [f32]| smoothed_cross_entropy_forward(l, &labels, 10, eps, probs) / 2.0;
        mean(&logits, &mut probs);
        let mut dz = vec![0.0; 20];
        smoothed_cross_entropy_backward(&probs, &labels, 10, eps, 0.5, &mut dz);
        for i in 0..20 {
            let h = 1e-2f32;
            let (mut up, mut down) = (logits.clone(), logits.clone());
            up[i] += h;
            down[i] -= h;
            let mut scratch = vec![0.0; 20];
            let numeric = (mean(&up, &mut scratch) - mean(&down, &mut scratch)) / (2.0 * h as f64);
            assert!(
                (numeric - dz[i] as f64).abs() < 1e-4,
                "logit {i}: {numeric} against {}",
                dz[i]
            );
        }
        // The target sums to one, so each row's gradient sums to zero.
        assert!(dz[..10].iter().sum::<f32>().abs() < 1e-6);
    }

    #[test]
    fn argmax_prefers_first_of_ties() {
        let mut out = Vec::new();
        argmax_rows(&[1.0, 3.0, 3.0, f32::NAN, 0.0, -1.0], 3, &mut out);
        assert_eq!(out, vec![1, 1]);
    }
}
