//! The micro-kernel contract, and the choice of kernel for this CPU.

use super::pack::Operand;

/// A register-blocked micro-kernel: multiplies a `MR x kc` block of A by a
/// `kc x NR` block of B and writes the `MR x NR` tile
/// `C = alpha * AB + beta * C`.
///
/// A is read through strides, element `(i, p)` at `a[i * rs_a + p * cs_a]`,
/// so the kernel takes a packed micro-panel (`rs_a = 1`, `cs_a = MR`) or A
/// where it lies, row-major (`lda`, 1) or transposed (1, `lda`), only ever
/// broadcasting single elements. B's rows are `NR` contiguous floats,
/// `rs_b` apart: a packed micro-panel (`rs_b = NR`) or B itself when it is
/// row-major (`rs_b = ldb`).
pub trait MicroKernel {
    /// Rows of the C tile.
    const MR: usize;
    /// Columns of the C tile.
    const NR: usize;
    /// Whether [`tile_edge`](Self::tile_edge) reads only the `mr` rows of A
    /// that exist, so that a last, partial row panel can be read where it
    /// lies instead of being copied with zero rows. The default edge tile
    /// runs the full tile, which reads all `MR`.
    const EDGE_READS_ITS_ROWS_ONLY: bool = false;

    /// Computes one full tile.
    ///
    /// # Safety
    /// Every element `(i, p)` of A for `i < MR`, `p < kc` and every
    /// `b[p * rs_b + j]` for `j < NR` is readable; `c` is valid for `MR`
    /// rows of `NR` floats spaced `ldc` apart (read only when `beta != 0`);
    /// the CPU has the kernel's instruction set.
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile(
        kc: usize,
        a: *const f32,
        rs_a: usize,
        cs_a: usize,
        b: *const f32,
        rs_b: usize,
        c: *mut f32,
        ldc: usize,
        alpha: f32,
        beta: f32,
    );

    /// Computes an edge tile, `mr x nr` with `mr <= MR` and `nr <= NR`,
    /// straight into C. Each element must be summed exactly as
    /// [`tile`](Self::tile) sums it, so that results do not depend on where
    /// a tile falls. By default, a full tile into a scratch tile of which
    /// only the valid part is written back.
    ///
    /// # Safety
    /// As [`tile`](Self::tile), with C valid for `mr` rows of `nr` floats
    /// (A readable for `mr` rows if
    /// [`EDGE_READS_ITS_ROWS_ONLY`](Self::EDGE_READS_ITS_ROWS_ONLY), else
    /// for MR: a partial panel is then a padded copy; B is
    /// readable for all `NR` columns, as edge panels are packed with zero
    /// padding).
    #[allow(clippy::too_many_arguments)]
    unsafe fn tile_edge(
        kc: usize,
        a: *const f32,
        rs_a: usize,
        cs_a: usize,
        b: *const f32,
        rs_b: usize,
        c: *mut f32,
        ldc: usize,
        mr: usize,
        nr: usize,
        alpha: f32,
        beta: f32,
    ) {
        const { assert!(Self::MR * Self::NR <= SCRATCH) };
        let mut scratch = Scratch([0.0; SCRATCH]);
        // SAFETY: as the caller's contract, with the scratch tile (NR
        // apart) as C and beta = 0; then the valid part of the tile is
        // inside C.
        unsafe {
            Self::tile(kc, a, rs_a, cs_a, b, rs_b, scratch.0.as_mut_ptr(), Self::NR, 1.0, 0.0);
            write_back(&scratch.0, Self::NR, c, ldc, mr, nr, alpha, beta);
        }
    }

    /// Packs a `depth x cols` block of B (at most NR columns) as
    /// [`pack_b`](super::pack::pack_b) does. A kernel may do it faster with
    /// its own instructions.
    fn pack_b(b: &Operand, row0: usize, depth: usize, col0: usize, cols: usize, dst: &mut [f32]) {
        super::pack::pack_b(b, row0, depth, col0, cols, Self::NR, dst);
    }
}

/// `C = alpha * tile + beta * C` on the valid `mr x nr` part.
///
/// # Safety
/// `c` is valid for `mr` rows of `nr` floats, `ldc` apart.
#[allow(clippy::too_many_arguments)]
unsafe fn write_back(
    tile: &[f32],
    ld_tile: usize,
    c: *mut f32,
    ldc: usize,
    mr: usize,
    nr: usize,
    alpha: f32,
    beta: f32,
) {
    for r in 0..mr {
        // SAFETY: row r of the tile is inside C (the caller's contract).
        let row = unsafe { std::slice::from_raw_parts_mut(c.add(r * ldc), nr) };
        let ab = &tile[r * ld_tile..r * ld_tile + nr];
        row.iter_mut()
            .zip(ab)
            .for_each(|(c, &ab)| *c = epilogue(*c, beta, alpha * ab));
    }
}

/// The new value of an element of C from its old value `c` and `v = alpha
/// AB`, exactly as the SIMD kernels' full tiles write it: `v` when beta = 0
/// (C not read), else one fused `c * beta + v`. With beta = 1 (every depth
/// block after the first) the plain sum is the same bits and needs no FMA
/// instruction, which code compiled for baseline x86-64 does not have.
#[inline(always)]
pub(super) fn epilogue(c: f32, beta: f32, v: f32) -> f32 {
    if beta == 0.0 {
        v
    } else if beta == 1.0 {
        c + v
    } else {
        c.mul_add(beta, v)
    }
}

/// Room for the largest kernel's tile.
const SCRATCH: usize = 16 * 32;

#[repr(C, align(64))]
struct Scratch([f32; SCRATCH]);
