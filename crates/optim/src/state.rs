//! Per-parameter state buffers, created on first use.

/// One buffer of `len` zeros per parameter slot, created the first time a
/// slot is updated (optimisers do not know the model's shapes up front).
#[derive(Clone, Debug, Default)]
pub struct SlotState<const N: usize> {
    slots: Vec<[Vec<f32>; N]>,
}

impl<const N: usize> SlotState<N> {
    /// The `N` buffers of `slot`, each `len` long.
    pub fn get(&mut self, slot: usize, len: usize) -> &mut [Vec<f32>; N] {
        if self.slots.len() <= slot {
            self.slots.resize_with(slot + 1, || std::array::from_fn(|_| Vec::new()));
        }
        let state = &mut self.slots[slot];
        for buf in state.iter_mut() {
            if buf.len() != len {
                *buf = vec![0.0; len];
            }
        }
        state
    }
}
