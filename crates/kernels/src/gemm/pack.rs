//! Packing: copying a block of an operand into the order the micro-kernel
//! reads it, once per block, so the kernel's loads are contiguous and
//! aligned. Transposes are absorbed here: the packed layout is the same
//! whether the operand was stored as is or transposed.

/// A strided, possibly transposed view of a matrix operand.
#[derive(Clone, Copy)]
pub struct Operand<'a> {
    pub data: &'a [f32],
    /// Distance between consecutive logical rows.
    pub row_stride: usize,
    /// Distance between consecutive logical columns.
    pub col_stride: usize,
}

impl Operand<'_> {
    #[inline(always)]
    fn at(&self, row: usize, col: usize) -> f32 {
        self.data[row * self.row_stride + col * self.col_stride]
    }
}

/// Packs rows `row0 .. row0 + rows` (at most `mr`) and columns
/// `col0 .. col0 + depth` of `a` into `dst` as `depth` groups of `mr`
/// values (column-major within the micro-panel); rows past `rows` are zero.
pub fn pack_a(a: &Operand, row0: usize, rows: usize, col0: usize, depth: usize, mr: usize, dst: &mut [f32]) {
    let dst = &mut dst[..depth * mr];
    if rows < mr {
        dst.fill(0.0);
    }
    if a.col_stride == 1 {
        // Stored row-major: read each row contiguously, write with stride mr.
        for r in 0..rows {
            let start = (row0 + r) * a.row_stride + col0;
            let src = &a.data[start..start + depth];
            for (p, &v) in src.iter().enumerate() {
                dst[p * mr + r] = v;
            }
        }
    } else if a.row_stride == 1 {
        // Stored transposed: each column of the panel is contiguous.
        for p in 0..depth {
            let start = (col0 + p) * a.col_stride + row0;
            dst[p * mr..p * mr + rows].copy_from_slice(&a.data[start..start + rows]);
        }
    } else {
        for p in 0..depth {
            for r in 0..rows {
                dst[p * mr + r] = a.at(row0 + r, col0 + p);
            }
        }
    }
}

/// Packs rows `row0 .. row0 + depth` and columns `col0 .. col0 + cols` (at
/// most `nr`) of `b` into `dst` as `depth` groups of `nr` values (row-major
/// within the micro-panel); columns past `cols` are zero.
pub fn pack_b(b: &Operand, row0: usize, depth: usize, col0: usize, cols: usize, nr: usize, dst: &mut [f32]) {
    let dst = &mut dst[..depth * nr];
    if cols < nr {
        dst.fill(0.0);
    }
    if b.col_stride == 1 {
        for p in 0..depth {
            let start = (row0 + p) * b.row_stride + col0;
            dst[p * nr..p * nr + cols].copy_from_slice(&b.data[start..start + cols]);
        }
    } else if b.row_stride == 1 {
        // Stored transposed: each logical column is contiguous in memory.
        // Go 16 rows at a time so the destination lines being filled
        // (16 x nr floats) stay in L1 while every column visits them.
        for p0 in (0..depth).step_by(16) {
            let rows = 16.min(depth - p0);
            for c in 0..cols {
                let start = (col0 + c) * b.col_stride + row0 + p0;
                for (p, &v) in b.data[start..start + rows].iter().enumerate() {
                    dst[(p0 + p) * nr + c] = v;
                }
            }
        }
    } else {
        for p in 0..depth {
            for c in 0..cols {
                dst[p * nr + c] = b.at(row0 + p, col0 + c);
            }
        }
    }
}

/// A copy of `depth` rows of a panel's width, `ld` apart, from `src` into
/// `dst` one after another: [`copy_rows`] compiled for one instruction set.
pub type CopyRows = unsafe fn(src: *const f32, ld: usize, depth: usize, dst: *mut f32);

/// Packs a full panel (`NR` columns) of a row-major B with `copy`, after
/// checking once that every read is inside B and every write inside `dst`.
pub fn pack_rows<const NR: usize>(
    b: &Operand,
    row0: usize,
    depth: usize,
    col0: usize,
    dst: &mut [f32],
    copy: CopyRows,
) {
    let ld = b.row_stride;
    assert!(b.col_stride == 1 && depth > 0);
    assert!(b.data.len() >= (row0 + depth - 1) * ld + col0 + NR && dst.len() >= depth * NR);
    // SAFETY: the bounds were asserted above; `copy` is a kernel's own, so
    // it runs only where the CPU has the kernel's instruction set.
    unsafe { copy(b.data.as_ptr().add(row0 * ld + col0), ld, depth, dst.as_mut_ptr()) }
}

/// How many rows ahead [`copy_rows`] prefetches.
const PACK_AHEAD: usize = 8;

/// Copies `depth` rows of `NR` floats, `ld` apart, from `src` into `dst`
/// one after another, asking for the row `PACK_AHEAD` rows on early: B's
/// rows are often a page or more apart, where the hardware prefetchers
/// stop. A kernel wraps it in a function compiled for its instruction set,
/// where the fixed-size copy becomes a few register moves a row instead of
/// a `memcpy` call.
///
/// # Safety
/// `depth` rows of `NR` floats, `ld` apart, are readable at `src`, and
/// `depth * NR` floats writable at `dst`.
#[inline(always)]
pub unsafe fn copy_rows<const NR: usize>(src: *const f32, ld: usize, depth: usize, dst: *mut f32) {
    for p in 0..depth {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
            // A prefetch only hints the cache and never faults, so rows
            // past B are harmless; wrapping_add keeps the address defined.
            let ahead = src.wrapping_add((p + PACK_AHEAD) * ld);
            // SAFETY: _mm_prefetch is SSE, baseline x86-64.
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(ahead.cast());
                _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(NR - 1).cast());
            }
        }
        // SAFETY: as the function's contract.
        unsafe { std::ptr::copy_nonoverlapping(src.add(p * ld), dst.add(p * NR), NR) };
    }
}

/// A transpose of one `W x W` block: reads `W` rows of `W` floats, `ld`
/// apart, at `src` and writes them transposed as `W` rows, `ld_dst` apart,
/// at `dst`; compiled for one instruction set.
pub type TransposeBlock = unsafe fn(src: *const f32, ld: usize, dst: *mut f32, ld_dst: usize);

/// Packs a full panel (`NR` columns) of a transposed B (its logical
/// columns contiguous, `b.col_stride` apart) by `W x W` blocks transposed in
/// registers, instead of element by element; the last `depth % W` rows
/// element by element.
pub fn pack_transposed<const NR: usize, const W: usize>(
    b: &Operand,
    row0: usize,
    depth: usize,
    col0: usize,
    dst: &mut [f32],
    transpose: TransposeBlock,
) {
    const { assert!(NR.is_multiple_of(W)) };
    let ld = b.col_stride;
    assert!(b.row_stride == 1 && depth > 0);
    // Every read is inside B (columns col0..col0 + NR, rows row0..row0 +
    // depth) and every write inside dst: checked once here for the
    // unchecked loads of `transpose`.
    assert!(b.data.len() >= (col0 + NR - 1) * ld + row0 + depth && dst.len() >= depth * NR);
    let full = depth / W * W;
    for p0 in (0..full).step_by(W) {
        for c0 in (0..NR).step_by(W) {
            // SAFETY: the bounds were asserted above; `transpose` is a
            // kernel's own, so it runs only where the CPU has its
            // instruction set.
            unsafe {
                transpose(
                    b.data.as_ptr().add((col0 + c0) * ld + row0 + p0),
                    ld,
                    dst.as_mut_ptr().add(p0 * NR + c0),
                    NR,
                )
            };
        }
    }
    for p in full..depth {
        for c in 0..NR {
            dst[p * NR + c] = b.data[(col0 + c) * ld + row0 + p];
        }
    }
}
