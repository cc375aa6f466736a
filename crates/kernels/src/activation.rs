//! Activation functions, forward and backward, elementwise.
//!
//! Backward passes take the forward *output* `y`, which is all ReLU and
//! sigmoid need, so a layer keeps no cache of its own.

/// `y = max(x, 0)`.
pub fn relu_forward(x: &[f32], y: &mut [f32]) {
    assert_eq!(x.len(), y.len());
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi = xi.max(0.0);
    }
}

/// `dx = dy` where `y > 0`, else 0 (the subgradient at 0 is taken as 0, as
/// TensorFlow and PyTorch do).
pub fn relu_backward(y: &[f32], dy: &[f32], dx: &mut [f32]) {
    assert!(y.len() == dy.len() && dy.len() == dx.len());
    for ((dxi, &yi), &dyi) in dx.iter_mut().zip(y).zip(dy) {
        *dxi = if yi > 0.0 { dyi } else { 0.0 };
    }
}

/// The logistic function `1 / (1 + e^-x)`, written so that it neither
/// overflows nor loses precision for large `|x|`.
#[inline]
pub fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// `y = sigmoid(x)`.
pub fn sigmoid_forward(x: &[f32], y: &mut [f32]) {
    assert_eq!(x.len(), y.len());
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi = sigmoid(xi);
    }
}

/// `dx = dy * y * (1 - y)`.
pub fn sigmoid_backward(y: &[f32], dy: &[f32], dx: &mut [f32]) {
    assert!(y.len() == dy.len() && dy.len() == dx.len());
    for ((dxi, &yi), &dyi) in dx.iter_mut().zip(y).zip(dy) {
        *dxi = dyi * yi * (1.0 - yi);
    }
}

/// `y = tanh(x)`.
pub fn tanh_forward(x: &[f32], y: &mut [f32]) {
    assert_eq!(x.len(), y.len());
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi = xi.tanh();
    }
}

/// `dx = dy * (1 - y²)`.
pub fn tanh_backward(y: &[f32], dy: &[f32], dx: &mut [f32]) {
    assert!(y.len() == dy.len() && dy.len() == dx.len());
    for ((dxi, &yi), &dyi) in dx.iter_mut().zip(y).zip(dy) {
        *dxi = dyi * (1.0 - yi * yi);
    }
}

/// `y = x` where `x > 0`, else `slope * x`.
pub fn leaky_relu_forward(x: &[f32], y: &mut [f32], slope: f32) {
    assert_eq!(x.len(), y.len());
    for (yi, &xi) in y.iter_mut().zip(x) {
        *yi = if xi > 0.0 { xi } else { slope * xi };
    }
}

/// `dx = dy` where `x > 0`, else `slope * dy`. Takes the input `x`: with a
/// negative slope the output's sign alone would do, but not with slope 0.
pub fn leaky_relu_backward(x: &[f32], dy: &[f32], dx: &mut [f32], slope: f32) {
    assert!(x.len() == dy.len() && dy.len() == dx.len());
    for ((dxi, &xi), &dyi) in dx.iter_mut().zip(x).zip(dy) {
        *dxi = if xi > 0.0 { dyi } else { slope * dyi };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_is_stable_at_the_extremes() {
        assert_eq!(sigmoid(0.0), 0.5);
        assert_eq!(sigmoid(1000.0), 1.0);
        assert_eq!(sigmoid(-1000.0), 0.0);
        assert!((sigmoid(-20.0) - 2.0611537e-9).abs() < 1e-15);
    }

    #[test]
    fn relu_backward_masks_by_output() {
        let mut dx = [9.0; 3];
        relu_backward(&[0.0, 2.0, 0.0], &[1.0, 2.0, 3.0], &mut dx);
        assert_eq!(dx, [0.0, 2.0, 0.0]);
    }
}
