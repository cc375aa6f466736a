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
