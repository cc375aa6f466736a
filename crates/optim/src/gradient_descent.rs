use crate::Optimizer;

/// Plain (stochastic) gradient descent: `w <- w - lr * g`.
#[derive(Clone, Debug)]
pub struct GradientDescent {
    lr: f32,
}

impl GradientDescent {
    /// Gradient descent with learning rate `lr`.
    pub fn new(lr: f32) -> Self {
        Self { lr }
    }
}

impl Optimizer for GradientDescent {
    fn update(&mut self, _slot: usize, value: &mut [f32], grad: &[f32]) {
        assert_eq!(value.len(), grad.len(), "parameter and gradient lengths differ");
        for (w, &g) in value.iter_mut().zip(grad) {
            *w -= self.lr * g;
        }
    }

    fn learning_rate(&self) -> f32 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.lr = lr;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_steps_by_hand() {
        // w = 0.5, g = 2 then -1, lr 0.25: 0.5 - 0.5 = 0.0, then 0.0 + 0.25.
        let mut opt = GradientDescent::new(0.25);
        let mut w = [0.5f32];
        opt.update(0, &mut w, &[2.0]);
        assert_eq!(w, [0.0]);
        opt.update(0, &mut w, &[-1.0]);
        assert_eq!(w, [0.25]);
    }
}
