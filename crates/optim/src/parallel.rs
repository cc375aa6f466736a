//! Element-wise updates of big tensors split over threads.
//!
//! An optimiser's update reads and writes several buffers per parameter
//! (Adam: the value, the gradient and two moments): for the CNN's
//! 3.2-million-weight dense layer that is about 90 MB a step, more than one
//! core's share of memory bandwidth moves in the time the rest of the step
//! takes. Each element's update depends on that element alone, so the split
//! changes no result.

use rayon::prelude::*;

/// Elements per task: big enough that a task costs more than handing it
/// to another thread, small enough that both cores get work on the
/// tensors that matter.
const CHUNK: usize = 1 << 16;

/// Applies `f` to matching chunks of four equally long buffers, in parallel
/// when they are long.
pub fn for_each_chunk4<F>(a: &mut [f32], b: &[f32], c: &mut [f32], d: &mut [f32], f: F)
where
    F: Fn(&mut [f32], &[f32], &mut [f32], &mut [f32]) + Sync,
{
    if a.len() <= CHUNK {
        f(a, b, c, d);
        return;
    }
    a.par_chunks_mut(CHUNK)
        .zip(b.par_chunks(CHUNK))
        .zip(c.par_chunks_mut(CHUNK).zip(d.par_chunks_mut(CHUNK)))
        .for_each(|((a, b), (c, d))| f(a, b, c, d));
}
