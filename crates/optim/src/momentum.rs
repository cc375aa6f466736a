//! Momentum (Polyak's heavy ball), and Nesterov's accelerated variant, as
//! TensorFlow's `MomentumOptimizer` computes them:
//!
//! ```text
//! a <- mu a + g
//! w <- w - lr a                  (momentum)
//! w <- w - lr (g + mu a)         (Nesterov)
//! ```
//!
//! With a constant learning rate this is the NumPy course's
//! `v <- mu v - lr g; w <- w + v` with `v = -lr a`.

use crate::Optimizer;
use crate::state::SlotState;

/// Gradient descent with momentum.
#[derive(Clone, Debug)]
pub struct Momentum {
    lr: f32,
    mu: f32,
    nesterov: bool,
    accumulators: SlotState<1>,
}

impl Momentum {
    /// Momentum with learning rate `lr` and momentum `mu` (the course: 0.01, 0.9).
    pub fn new(lr: f32, mu: f32) -> Self {
        Self {
            lr,
            mu,
            nesterov: false,
            accumulators: SlotState::default(),
        }
    }

    /// Nesterov's accelerated gradient with learning rate `lr` and momentum `mu`.
    pub fn nesterov(lr: f32, mu: f32) -> Self {
        Self {
            nesterov: true,
            ..Self::new(lr, mu)
        }
    }
}

impl Optimizer for Momentum {
    fn save_state(&self) -> crate::NamedState {
        self.accumulators.save("momentum")
    }

    fn load_state(&mut self, state: &crate::NamedState) -> Result<(), String> {
        self.accumulators.load("momentum", state)
    }

    fn update(&mut self, slot: usize, value: &mut [f32], grad: &[f32]) {
        assert_eq!(value.len(), grad.len(), "parameter and gradient lengths differ");
        let [a] = self.accumulators.get(slot, value.len());
        let (lr, mu) = (self.lr, self.mu);
        for ((w, &g), a) in value.iter_mut().zip(grad).zip(a.iter_mut()) {
            *a = mu * *a + g;
            *w -= if self.nesterov { lr * (g + mu * *a) } else { lr * *a };
        }
    }

    fn learning_rate(&self) -> f32 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.lr = lr;
    }
}
