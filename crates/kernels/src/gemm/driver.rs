//! The loop nest around the micro-kernel, and its split over threads.
//!
//! ```text
//! for jc in 0..n step NC                     block of B columns (NC from the L2 size)
//!   for pc in 0..k step KC                   block of depth
//!     pack the B block (KC x NC)             shared by every task, stays in L2
//!     for each task                          a block of rows x columns of C:
//!                                            few rows, a strip of columns
//!                                            across all rows; many, row
//!                                            panels across the block
//!       for ir in the task's row panels      A: MR x KC where it lies, stays in L1
//!         for jr in the task's column panels
//!           micro-kernel: C[ir.., jr..] (MR x NR)
//! ```
//!
//! On one thread that is the order of the work. On several, the panels of
//! each block and its tasks are items that the threads take in that order
//! (`pipeline`), the next block's panels just before the current block's
//! tasks, each item waiting only for what it needs: a thread that finishes
//! the last tasks of a block goes on to the next block instead of waiting
//! for the others (a barrier per block cost up to 40% on a batch's
//! products; `docs/kernel-notes.md`, "The pipelined driver").
//!
//! The micro-kernel only broadcasts single elements of A, which it can read
//! through any strides, so A is read where it lies (row-major or
//! transposed) and only the last, partial panel is copied, padded with zero
//! rows. The `MR x KC` panel stays in L1 whatever its strides, so packing
//! it only costs, a copy per task; what it needs is the next panel
//! prefetched (see `prefetch_a_ahead`; figures in `docs/kernel-notes.md`,
//! "A read in place"). B is always packed (see `gemm` for why); a partial
//! panel at the right edge is padded with zeros.
//!
//! Every element of C is summed in the same order (KC blocks in turn, each
//! by one micro-kernel call on the same tile) whichever task and thread
//! computes it, and the tasks depend on the shape only, so the result never
//! depends on the number of threads.

use std::cell::RefCell;

use rayon::prelude::*;

use super::kernel::{MicroKernel, epilogue};
use super::pack::{Operand, pack_a};
use super::params::{KC, MANY_ROWS, PARALLEL_THRESHOLD, TARGET_ROW_TASKS, TASK_COL_PANELS, TASK_ROW_PANELS};
use super::pipeline;
use crate::scratch::with_scratch;

/// 64-byte aligned storage, so that packed panels start on cache lines.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([f32; 16]);

#[derive(Default, Clone)]
pub(super) struct AlignedBuf(Vec<Line>);

impl AlignedBuf {
    /// The first `len` floats, growing the buffer when needed.
    pub(super) fn get(&mut self, len: usize) -> &mut [f32] {
        let lines = len.div_ceil(16);
        if self.0.len() < lines {
            self.0.resize(lines, Line([0.0; 16]));
        }
        // SAFETY: `Line` is 16 f32 with no padding (repr(C)), so `lines`
        // Lines are `16 * lines >= len` initialised, contiguous f32.
        unsafe { std::slice::from_raw_parts_mut(self.0.as_mut_ptr().cast::<f32>(), len) }
    }

    /// The first `len` floats, which [`get`](Self::get) made.
    pub(super) fn get_ref(&self, len: usize) -> &[f32] {
        assert!(len <= 16 * self.0.len(), "AlignedBuf: {len} floats were never made");
        // SAFETY: as in `get`, for `len <= 16 * lines` initialised floats.
        unsafe { std::slice::from_raw_parts(self.0.as_ptr().cast::<f32>(), len) }
    }
}

thread_local! {
    // Packing buffers live as long as the thread, so a training loop that
    // multiplies the same shapes every step allocates nothing.
    static A_PANEL: RefCell<AlignedBuf> = RefCell::default();
    static B_BLOCK: RefCell<AlignedBuf> = RefCell::default();
    // A split depth's tiles, block by block.
    static SPLIT: RefCell<AlignedBuf> = RefCell::default();
}

/// Floats of tiles a split depth keeps at once (4 MiB): the blocks run a
/// group at a time, so a long depth does not need a tile per block.
const SPLIT_FLOATS: usize = 1 << 20;

/// C's base pointer, shared by tasks that write disjoint tiles.
#[derive(Clone, Copy)]
struct TilePtr(*mut f32);
// SAFETY: the tasks of a block write disjoint tiles of C (see `gemm`), and
// a task of the next depth block, which writes the same tiles as the same
// task of this one, starts only after it has finished (`pipeline`), so
// sharing the pointer between threads cannot race.
unsafe impl Send for TilePtr {}
// SAFETY: as above.
unsafe impl Sync for TilePtr {}

/// `C = alpha * A B + beta * C` for logical `m x k` A and `k x n` B; `c`
/// spans exactly rows `0..m` (the last one `n` long). Sizes are non-zero.
/// `nc` is the width of a block of B ([`params::nc`](super::params::nc) but
/// for tests), a multiple of `K::NR`; it does not change the result.
#[allow(clippy::too_many_arguments)]
pub fn gemm<K: MicroKernel>(
    nc: usize,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: Operand,
    b: Operand,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) {
    gemm_from::<K>(nc, m, n, k, alpha, a, B::Operand(b), beta, c, ldc)
}

/// Where the driver takes B's packed blocks from.
#[derive(Clone, Copy)]
pub enum B<'a> {
    /// Packed from this operand, block by block, as they are needed.
    Operand(Operand<'a>),
    /// Already packed by [`pack_all`] for this kernel, `nc` and shape.
    Packed(&'a [f32]),
}

/// The blocks of a `k x n` B in the order they are multiplied (columns,
/// then depth), each `nc` columns and equal depths of at most KC: k = 800
/// runs as 4 x 200 rather than 3 x 256 + 32, whose last thin block would
/// cost a full pass over C for little work.
#[derive(Clone, Copy)]
struct Blocking {
    n: usize,
    k: usize,
    nc: usize,
    kc_block: usize,
    depth_blocks: usize,
}

impl Blocking {
    fn new(nc: usize, n: usize, k: usize) -> Self {
        let kc_block = k.div_ceil(k.div_ceil(KC));
        Self {
            n,
            k,
            nc,
            kc_block,
            depth_blocks: k.div_ceil(kc_block),
        }
    }

    fn count(&self) -> usize {
        self.n.div_ceil(self.nc) * self.depth_blocks
    }

    fn at(&self, i: usize) -> Block {
        let (jc, pc) = (
            (i / self.depth_blocks) * self.nc,
            (i % self.depth_blocks) * self.kc_block,
        );
        Block {
            jc,
            nc: self.nc.min(self.n - jc),
            pc,
            kc: self.kc_block.min(self.k - pc),
        }
    }
}

/// Floats of block `blk` packed for kernel `K`: whole panels of NR columns.
fn packed_len<K: MicroKernel>(blk: &Block) -> usize {
    blk.nc.div_ceil(K::NR) * blk.kc * K::NR
}

/// Packs panel `j` of block `blk` of `b` into `dst`.
fn pack_panel<K: MicroKernel>(b: &Operand, blk: &Block, j: usize, dst: &mut [f32]) {
    let col = j * K::NR;
    K::pack_b(b, blk.pc, blk.kc, blk.jc + col, K::NR.min(blk.nc - col), dst);
}

/// Every block of the logical `k x n` B packed for kernel `K` with blocks
/// `nc` wide, one after another in the order the driver multiplies them,
/// into `buf`, 64-byte aligned as the driver's own: what [`B::Packed`]
/// takes. Returns their length.
pub fn pack_all<K: MicroKernel>(nc: usize, k: usize, n: usize, b: Operand, buf: &mut AlignedBuf) -> usize {
    let blocking = Blocking::new(nc, n, k);
    let total = (0..blocking.count()).map(|i| packed_len::<K>(&blocking.at(i))).sum();
    let dst = buf.get(total);
    let mut at = 0;
    for blk in (0..blocking.count()).map(|i| blocking.at(i)) {
        let panel_len = blk.kc * K::NR;
        let len = packed_len::<K>(&blk);
        for (j, panel) in dst[at..at + len].chunks_mut(panel_len).enumerate() {
            pack_panel::<K>(&b, &blk, j, panel);
        }
        at += len;
    }
    total
}

/// [`gemm`] with B from `b`.
#[allow(clippy::too_many_arguments)]
pub fn gemm_from<K: MicroKernel>(
    nc: usize,
    m: usize,
    n: usize,
    k: usize,
    alpha: f32,
    a: Operand,
    b: B,
    beta: f32,
    c: &mut [f32],
    ldc: usize,
) {
    debug_assert_eq!(c.len(), (m - 1) * ldc + n);
    let parallel = m.saturating_mul(n).saturating_mul(k) >= PARALLEL_THRESHOLD && super::may_split();
    // Two plans, both with B packed. Few rows (a training batch): a task
    // is a strip of TASK_COL_PANELS column panels across every row, so that
    // each panel of B is read by the one core that runs its task while the
    // small A is read by both. Many rows: tasks are row panels across the
    // whole block of B, which stays in L2 while they meet it. B is packed
    // even for one task: rows 2 KiB apart fall into a few sets of L1, so a
    // panel read in place does not stay there between the A panels that
    // meet it (`docs/kernel-notes.md`, "Column strips for few rows").
    let many_rows = m >= MANY_ROWS;
    // Many rows: tasks of at least TASK_ROW_PANELS row panels, more when
    // there would be many more than TARGET_ROW_TASKS tasks, so that products
    // with short tiles (conv1's k = 25) do not spend their time starting
    // tasks.
    let row_panels_per_task = if many_rows {
        TASK_ROW_PANELS.max(m.div_ceil(K::MR) / TARGET_ROW_TASKS)
    } else {
        m.div_ceil(K::MR)
    };
    let task_rows = K::MR * row_panels_per_task;
    let task_cols = if many_rows { nc } else { K::NR * TASK_COL_PANELS };
    let c_ptr = TilePtr(c.as_mut_ptr());
    debug_assert!(nc.is_multiple_of(K::NR));
    let blocking = Blocking::new(nc, n, k);
    let (depth_blocks, block_count) = (blocking.depth_blocks, blocking.count());
    let block_at = |i: usize| blocking.at(i);
    let packed_len = packed_len::<K>;
    // Where each block starts in a prepacked B.
    let packed_at = |i: usize| (0..i).map(|i| packed_len(&block_at(i))).sum::<usize>();
    // Panel `j` of block `i` into `dst`: packed, or copied from the
    // prepacked blocks.
    let pack_panel = |i: usize, j: usize, dst: &mut [f32]| match b {
        B::Operand(b) => pack_panel::<K>(&b, &block_at(i), j, dst),
        B::Packed(all) => {
            let panel_len = block_at(i).kc * K::NR;
            let from = packed_at(i) + j * panel_len;
            dst[..panel_len].copy_from_slice(&all[from..from + panel_len]);
        }
    };
    let pack = |i: usize, packed: &mut [f32]| {
        let blk = block_at(i);
        packed[..packed_len(&blk)]
            .chunks_mut(blk.kc * K::NR)
            .enumerate()
            .for_each(|(j, dst)| pack_panel(i, j, dst));
    };
    let row_tasks = m.div_ceil(task_rows);
    let tasks_of = |blk: &Block| row_tasks * blk.nc.div_ceil(task_cols);
    // Task `t` of block `blk`: its tiles of C, multiplied by the block of B
    // packed in `packed`.
    // ... written into `out` (rows `ld` apart) with `beta`: C itself, or a
    // block's own tiles when the depth is split (below).
    let task_into = |blk: &Block, packed: &[f32], t: usize, out: TilePtr, ld: usize, beta: f32| {
        let Block { jc, nc, pc, kc } = *blk;
        let (row0, col0) = ((t % row_tasks) * task_rows, (t / row_tasks) * task_cols);
        let (rows, cols) = (task_rows.min(m - row0), task_cols.min(nc - col0));
        with_scratch(&A_PANEL, |abuf| {
            let panel_buf = abuf.get(kc * K::MR);
            for ir in (row0..row0 + rows).step_by(K::MR) {
                let mr = K::MR.min(m - ir);
                // A's panel where it lies; for the last rows of A, when
                // the kernel's edge tile would read all MR rows, a copy
                // padded with zero rows. (Copying the rows left over, in
                // every image's product and every depth block of the
                // weight gradients, took 2% of the fast recipe's run.)
                let (a_panel, rs_a, cs_a) = if mr < K::MR && !K::EDGE_READS_ITS_ROWS_ONLY {
                    pack_a(&a, ir, mr, pc, kc, K::MR, panel_buf);
                    (&panel_buf[..], 1, K::MR)
                } else {
                    (
                        &a.data[ir * a.row_stride + pc * a.col_stride..],
                        a.row_stride,
                        a.col_stride,
                    )
                };
                let rows_read = if K::EDGE_READS_ITS_ROWS_ONLY { mr } else { K::MR };
                debug_assert!(a_panel.len() > (rows_read - 1) * rs_a + (kc - 1) * cs_a);
                prefetch_a_ahead::<K>(&a, ir, pc, kc);
                for jr in (col0..col0 + cols).step_by(K::NR) {
                    let nr = K::NR.min(nc - jr);
                    let b_panel = &packed[(jr / K::NR) * kc * K::NR..];
                    // SAFETY: the tile (ir.., jc + jr..) of mr x nr is
                    // inside C (ir + mr <= m, jc + jr + nr <= n), and
                    // no other task writes it meanwhile (see `TilePtr`).
                    unsafe {
                        tile::<K>(
                            kc,
                            a_panel,
                            rs_a,
                            cs_a,
                            b_panel,
                            out,
                            ir * ld + jc + jr,
                            ld,
                            mr,
                            nr,
                            alpha,
                            beta,
                        )
                    };
                }
            }
        })
    };
    let task_of = |blk: &Block, packed: &[f32], t: usize| {
        task_into(blk, packed, t, c_ptr, ldc, if blk.pc == 0 { beta } else { 1.0 })
    };
    let block_len = (0..block_count).map(|i| packed_len(&block_at(i))).max().unwrap_or(0);
    // Few rows, few columns, a long depth (a convolution's weight gradient,
    // 144 x 25088 x 32): a block has fewer tasks than there are threads,
    // and the blocks follow one another, so one thread would do it all.
    // Then blocks run side by side, each into its own tiles from +0 with
    // beta = 0 (what the kernel adds to C for that block), and are added
    // into C in block order afterwards: C = C beta + v0, then C + v1, ...
    // is exactly the sum the blocks in turn would write, so the bits are
    // the same.
    let split_depth = parallel && n <= nc && depth_blocks >= 2 && tasks_of(&block_at(0)) < rayon::current_num_threads();
    if split_depth {
        let tile_len = m * n;
        let group = (SPLIT_FLOATS / tile_len).clamp(2, 64);
        return with_scratch(&SPLIT, |sbuf| {
            let tiles = sbuf.get(group * tile_len);
            for first in (0..depth_blocks).step_by(group) {
                let count = group.min(depth_blocks - first);
                tiles[..count * tile_len]
                    .par_chunks_mut(tile_len)
                    .enumerate()
                    .for_each(|(i, out)| {
                        let blk = block_at(first + i);
                        with_scratch(&B_BLOCK, |bbuf| {
                            let packed = bbuf.get(block_len);
                            pack(first + i, packed);
                            let out_ptr = TilePtr(out.as_mut_ptr());
                            (0..tasks_of(&blk)).for_each(|t| task_into(&blk, packed, t, out_ptr, n, 0.0));
                        });
                    });
                for (i, v) in tiles[..count * tile_len].chunks_exact(tile_len).enumerate() {
                    let beta = if first + i == 0 { beta } else { 1.0 };
                    for (row, v) in c.chunks_mut(ldc).zip(v.chunks_exact(n)) {
                        row[..n]
                            .iter_mut()
                            .zip(v)
                            .for_each(|(c, &v)| *c = epilogue(*c, beta, v));
                    }
                }
            }
        });
    }
    with_scratch(&B_BLOCK, |bbuf| {
        if parallel {
            let stage = |i: usize| {
                let blk = block_at(i);
                pipeline::Block {
                    panels: packed_len(&blk) / (blk.kc * K::NR),
                    panel_len: blk.kc * K::NR,
                    tasks: tasks_of(&blk),
                    continues_previous: blk.pc > 0,
                }
            };
            let task = |i: usize, t: usize, packed: &[f32]| task_of(&block_at(i), packed, t);
            let buffer = bbuf.get(pipeline::BUFFERS * block_len);
            pipeline::run(block_count, &stage, buffer, block_len, &pack_panel, &task);
        } else if let B::Packed(all) = b {
            // On one thread the prepacked blocks are read where they lie.
            let mut at = 0;
            for blk in (0..block_count).map(block_at) {
                let packed = &all[at..at + packed_len(&blk)];
                (0..tasks_of(&blk)).for_each(|t| task_of(&blk, packed, t));
                at += packed.len();
            }
        } else {
            let packed = bbuf.get(block_len);
            for i in 0..block_count {
                pack(i, packed);
                let blk = block_at(i);
                (0..tasks_of(&blk)).for_each(|t| task_of(&blk, packed, t));
            }
        }
    })
}

/// A block of B: columns `jc..jc + nc`, depth `pc..pc + kc`.
#[derive(Clone, Copy)]
struct Block {
    jc: usize,
    nc: usize,
    pc: usize,
    kc: usize,
}

/// Asks for the parts of A that the next row panels will read to be brought
/// into L2 while the current panel (rows `row0..row0 + MR`, columns
/// `col0..col0 + kc`) is multiplied.
///
/// - Row-major A: the next panel's rows. Each is a separate short stream,
///   `lda` apart, that the hardware prefetchers are slow to pick up, so
///   without this the first tile of every panel waits on memory.
/// - Transposed A (a weight gradient's Xᵀ): a panel reads `MR` floats from
///   each of `kc` stored rows, and the next panels move along those same
///   rows a few floats at a time, entering a new cache line of each of
///   them every line or two: `kc` streams at once, more than any hardware
///   prefetcher follows. So the line one past the panel's first row is
///   asked for in every stored row, into L2 (into L1 it lost). It gains
///   about a tenth on conv2's weight gradient (`docs/kernel-notes.md`,
///   "Prefetching the next panel").
#[inline(always)]
fn prefetch_a_ahead<K: MicroKernel>(a: &Operand, row0: usize, col0: usize, kc: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T1, _mm_prefetch};
        /// Floats in a 64-byte cache line.
        const LINE: usize = 16;
        // A prefetch never faults, so addresses past A (after its last
        // panel) are harmless; wrapping_add keeps the pointer sound.
        let base = a.data.as_ptr();
        if a.col_stride == 1 && a.row_stride >= 64 {
            for i in row0 + K::MR..row0 + 2 * K::MR {
                let row = base.wrapping_add(i * a.row_stride + col0);
                for p in (0..kc).step_by(LINE) {
                    // SAFETY: _mm_prefetch only hints the cache (SSE, baseline x86-64).
                    unsafe { _mm_prefetch::<_MM_HINT_T1>(row.wrapping_add(p).cast()) };
                }
            }
        } else if a.row_stride == 1 && a.col_stride >= 64 {
            let ahead = base.wrapping_add(row0 + LINE);
            for p in col0..col0 + kc {
                // SAFETY: as above.
                unsafe { _mm_prefetch::<_MM_HINT_T1>(ahead.wrapping_add(p * a.col_stride).cast()) };
            }
        }
    }
}

/// One `mr x nr` tile of C at `offset` from a packed panel of B: the
/// kernel's full tile, or its edge tile (AVX-512's and AVX2's write through
/// masks; the portable kernel's goes through a scratch tile,
/// `MicroKernel::tile_edge`'s default).
///
/// # Safety
/// `a` is readable for `kc` columns and MR rows (`mr` if
/// `K::EDGE_READS_ITS_ROWS_ONLY`) through `rs_a`, `cs_a`; the
/// `mr x nr` tile at `c + offset` (rows `ldc` apart) lies inside C and no one
/// else accesses it meanwhile.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn tile<K: MicroKernel>(
    kc: usize,
    a: &[f32],
    rs_a: usize,
    cs_a: usize,
    b_panel: &[f32],
    c: TilePtr,
    offset: usize,
    ldc: usize,
    mr: usize,
    nr: usize,
    alpha: f32,
    beta: f32,
) {
    // B panels narrower than NR are packed with zero padding, so the
    // kernel's NR columns are always readable.
    debug_assert!(b_panel.len() >= kc * K::NR);
    // A packed panel's rows are NR floats apart.
    let rs_b = K::NR;
    if mr == K::MR && nr == K::NR {
        // SAFETY: A and B are readable as the kernel needs (above and the
        // caller's contract); the tile is inside C (the caller's contract);
        // the ISA was checked by `sgemm_with`.
        unsafe {
            K::tile(
                kc,
                a.as_ptr(),
                rs_a,
                cs_a,
                b_panel.as_ptr(),
                rs_b,
                c.0.add(offset),
                ldc,
                alpha,
                beta,
            )
        };
    } else {
        // SAFETY: as above, for the mr x nr tile (A's panel has the rows
        // the edge tile reads: `mr` where it reads no more, else MR, a
        // partial panel being a padded copy).
        unsafe {
            K::tile_edge(
                kc,
                a.as_ptr(),
                rs_a,
                cs_a,
                b_panel.as_ptr(),
                rs_b,
                c.0.add(offset),
                ldc,
                mr,
                nr,
                alpha,
                beta,
            )
        };
    }
}
