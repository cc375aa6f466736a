//! AdaDelta (Zeiler 2012): no learning rate of its own; the step is the
//! ratio of the running root mean squares of past steps and of gradients.
//!
//! ```text
//! Eg  <- rho Eg  + (1 - rho) g²
//! d   =  -sqrt(Edx + epsilon) / sqrt(Eg + epsilon) g
//! Edx <- rho Edx + (1 - rho) d²
//! w   <- w + lr d                  (lr = 1 in the paper)
//! ```

use crate::Optimizer;
use crate::state::SlotState;

/// AdaDelta.
#[derive(Clone, Debug)]
pub struct AdaDelta {
    lr: f32,
    rho: f32,
    epsilon: f32,
    averages: SlotState<2>,
}

impl AdaDelta {
    /// AdaDelta with decay `rho` (paper: 0.95), `epsilon` (paper: 1e-6) and
    /// a learning rate scaling the step (paper: 1).
    pub fn new(lr: f32, rho: f32, epsilon: f32) -> Self {
        Self {
            lr,
            rho,
            epsilon,
            averages: SlotState::default(),
        }
    }
}

impl Optimizer for AdaDelta {
    fn save_state(&self) -> crate::NamedState {
        self.averages.save("adadelta")
    }

    fn load_state(&mut self, state: &crate::NamedState) -> Result<(), String> {
        self.averages.load("adadelta", state)
    }

    fn update(&mut self, slot: usize, value: &mut [f32], grad: &[f32]) {
        assert_eq!(value.len(), grad.len(), "parameter and gradient lengths differ");
        let [eg, edx] = self.averages.get(slot, value.len());
        let (rho, eps) = (self.rho, self.epsilon);
        for (((w, &g), eg), edx) in value.iter_mut().zip(grad).zip(eg.iter_mut()).zip(edx.iter_mut()) {
            *eg = rho * *eg + (1.0 - rho) * g * g;
            let d = -((*edx + eps).sqrt() / (*eg + eps).sqrt()) * g;
            *edx = rho * *edx + (1.0 - rho) * d * d;
            *w += self.lr * d;
        }
    }

    fn learning_rate(&self) -> f32 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.lr = lr;
    }
}
