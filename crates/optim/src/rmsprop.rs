//! RMSProp (Tieleman & Hinton 2012):
//!
//! ```text
//! h <- rho h + (1 - rho) g²
//! w <- w - lr g / (sqrt(h) + epsilon)
//! ```
//!
//! The NumPy course uses rho = 0.99 and epsilon = 1e-7; TensorFlow 1's
//! defaults are rho = 0.9 and epsilon = 1e-10.

use crate::Optimizer;
use crate::state::SlotState;

/// RMSProp.
#[derive(Clone, Debug)]
pub struct RmsProp {
    lr: f32,
    rho: f32,
    epsilon: f32,
    squares: SlotState<1>,
}

impl RmsProp {
    /// RMSProp with learning rate `lr`, decay `rho` and `epsilon` added to the root.
    pub fn new(lr: f32, rho: f32, epsilon: f32) -> Self {
        Self {
            lr,
            rho,
            epsilon,
            squares: SlotState::default(),
        }
    }
}

impl Optimizer for RmsProp {
    fn save_state(&self) -> crate::NamedState {
        self.squares.save("rmsprop")
    }

    fn load_state(&mut self, state: &crate::NamedState) -> Result<(), String> {
        self.squares.load("rmsprop", state)
    }

    fn update(&mut self, slot: usize, value: &mut [f32], grad: &[f32]) {
        assert_eq!(value.len(), grad.len(), "parameter and gradient lengths differ");
        let [h] = self.squares.get(slot, value.len());
        let rho = self.rho;
        for ((w, &g), h) in value.iter_mut().zip(grad).zip(h.iter_mut()) {
            *h = rho * *h + (1.0 - rho) * g * g;
            *w -= self.lr * g / (h.sqrt() + self.epsilon);
        }
    }

    fn learning_rate(&self) -> f32 {
        self.lr
    }

    fn set_learning_rate(&mut self, lr: f32) {
        self.lr = lr;
    }
}
