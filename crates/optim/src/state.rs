//! Per-parameter state buffers, created on first use.

/// One buffer of `len` zeros per parameter slot, created the first time a
/// slot is updated (optimisers do not know the model's shapes up front).
#[derive(Clone, Debug, Default)]
pub struct SlotState<const N: usize> {
    slots: Vec<[Vec<f32>; N]>,
}

impl<const N: usize> SlotState<N> {
    /// Every buffer as `name.slot.i`.
    pub fn save(&self, name: &str) -> crate::NamedState {
        let mut out = Vec::new();
        for (slot, buffers) in self.slots.iter().enumerate() {
            for (i, buffer) in buffers.iter().enumerate() {
                out.push((format!("{name}.{slot}.{i}"), buffer.clone()));
            }
        }
        out
    }

    /// Replaces the buffers with those of `state` named `name.slot.i`;
    /// any other entry is an error naming it.
    pub fn load(&mut self, name: &str, state: &crate::NamedState) -> Result<(), String> {
        let mut slots: Vec<[Vec<f32>; N]> = Vec::new();
        for (entry, values) in state {
            let parsed = entry
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('.'))
                .and_then(|rest| rest.split_once('.'))
                .and_then(|(slot, i)| Some((slot.parse::<usize>().ok()?, i.parse::<usize>().ok()?)))
                .filter(|&(_, i)| i < N);
            let Some((slot, i)) = parsed else {
                return Err(format!(
                    "{entry:?} is not state of this optimiser (expected {name}.SLOT.0 to {name}.SLOT.{})",
                    N - 1
                ));
            };
            if slots.len() <= slot {
                slots.resize_with(slot + 1, || std::array::from_fn(|_| Vec::new()));
            }
            slots[slot][i] = values.clone();
        }
        self.slots = slots;
        Ok(())
    }

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
