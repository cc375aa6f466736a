//! AdaGrad (Duchi et al. 2011), as the NumPy course writes it:
//!
//! ```text
//! h <- h + g²
//! w <- w - lr g / (sqrt(h) + epsilon)       epsilon = 1e-7 in the course
//! ```

use crate::Optimizer;
use crate::state::SlotState;

/// AdaGrad.
#[derive(Clone, Debug)]
pub struct AdaGrad {
    lr: f32,
    epsilon: f32,
    sums: SlotState<1>,
}

impl AdaGrad {
    /// AdaGrad with learning rate `lr` and `epsilon` added to the root.
    pub fn new(lr: f32, epsilon: f32) -> Self {
        Self {
            lr,
            epsilon,
            sums: SlotState::default(),
        }
    }
}

impl Optimizer for AdaGrad {
    fn save_state(&self) -> crate::NamedState {
        self.sums.save("adagrad")
    }

    fn load_state(&mut self, state: &crate::NamedState) -> Result<(), String> {
        self.sums.load("adagrad", state)
    }

    fn update(&mut self, slot: usize, value: &mut [f32], grad: &[f32]) {
        assert_eq!(value.len(), grad.len(), "parameter and gradient lengths differ");
        let [h] = self.sums.get(slot, value.len());
        for ((w, &g), h) in value.iter_mut().zip(grad).zip(h.iter_mut()) {
            *h += g * g;
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
