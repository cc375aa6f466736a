//! Matrix views on `f32` slices: what a GEMM call says instead of rows,
//! columns, leading dimensions and transpose flags in a row.
//!
//! A view borrows a row-major slice and carries its logical shape, the
//! distance between its stored rows (the leading dimension) and whether it
//! is read transposed. [`MatRef::t`] transposes without copying, so a
//! layer's weight gradient reads as its formula:
//!
//! ```
//! use mnist_kernels::{MatMut, MatRef, sgemm};
//!
//! let (batch, inputs, outputs) = (2, 3, 2);
//! let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]; // batch x inputs
//! let dy = [1.0, 0.0, 0.0, 1.0]; // batch x outputs
//! let mut dw = [0.0; 6]; // inputs x outputs
//!
//! // dW = xᵀ dy
//! let x = MatRef::new(&x, batch, inputs);
//! let dy = MatRef::new(&dy, batch, outputs);
//! sgemm(1.0, x.t(), dy, 0.0, MatMut::new(&mut dw, inputs, outputs));
//! assert_eq!(dw, [1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
//! ```
//!
//! Shapes and lengths are checked when a view is made and when views are
//! multiplied; a mismatch is a programming error and panics with the
//! shapes named, before any element is touched.

/// Whether an operand is used as stored or transposed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transpose {
    /// Use the matrix as stored.
    No,
    /// Use the transpose of the stored matrix.
    Yes,
}

/// A read-only view of a row-major matrix, as stored or transposed.
#[derive(Clone, Copy, Debug)]
pub struct MatRef<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    ld: usize,
    transposed: bool,
}

impl<'a> MatRef<'a> {
    /// `rows x cols`, stored contiguously row after row.
    ///
    /// # Panics
    /// If `data` is shorter than `rows * cols`.
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        Self::with_ld(data, rows, cols, cols)
    }

    /// `rows x cols` whose stored rows start `ld` elements apart (a block
    /// of a wider matrix).
    ///
    /// # Panics
    /// If `ld < cols` (with `cols > 0`), or `data` is too short for the
    /// last row.
    pub fn with_ld(data: &'a [f32], rows: usize, cols: usize, ld: usize) -> Self {
        check_storage("MatRef", data.len(), rows, cols, ld);
        MatRef {
            data,
            rows,
            cols,
            ld,
            transposed: false,
        }
    }

    /// The transpose, reading the same storage.
    #[must_use]
    pub fn t(self) -> Self {
        MatRef {
            rows: self.cols,
            cols: self.rows,
            transposed: !self.transposed,
            ..self
        }
    }

    /// Logical rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Logical columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Distance between two stored rows.
    pub fn ld(&self) -> usize {
        self.ld
    }

    /// Whether the view reads its storage transposed.
    pub fn transpose(&self) -> Transpose {
        if self.transposed { Transpose::Yes } else { Transpose::No }
    }

    /// The storage the view reads.
    pub fn data(&self) -> &'a [f32] {
        self.data
    }

    /// Element `(row, col)` of the logical matrix.
    ///
    /// # Panics
    /// If the position is outside the matrix.
    pub fn at(&self, row: usize, col: usize) -> f32 {
        assert!(
            row < self.rows && col < self.cols,
            "({row}, {col}) is outside a {} x {} matrix",
            self.rows,
            self.cols
        );
        let (stored_row, stored_col) = if self.transposed { (col, row) } else { (row, col) };
        self.data[stored_row * self.ld + stored_col]
    }

    /// Distances between logical rows and between logical columns.
    pub(crate) fn strides(&self) -> (usize, usize) {
        if self.transposed { (1, self.ld) } else { (self.ld, 1) }
    }
}

/// A mutable view of a row-major matrix: the output of a product.
#[derive(Debug)]
pub struct MatMut<'a> {
    data: &'a mut [f32],
    rows: usize,
    cols: usize,
    ld: usize,
}

impl<'a> MatMut<'a> {
    /// `rows x cols`, stored contiguously row after row.
    ///
    /// # Panics
    /// If `data` is shorter than `rows * cols`.
    pub fn new(data: &'a mut [f32], rows: usize, cols: usize) -> Self {
        Self::with_ld(data, rows, cols, cols)
    }

    /// `rows x cols` whose rows start `ld` elements apart.
    ///
    /// # Panics
    /// If `ld < cols` (with `cols > 0`), or `data` is too short for the
    /// last row.
    pub fn with_ld(data: &'a mut [f32], rows: usize, cols: usize, ld: usize) -> Self {
        check_storage("MatMut", data.len(), rows, cols, ld);
        MatMut { data, rows, cols, ld }
    }

    /// Rows.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Columns.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Distance between two rows.
    pub fn ld(&self) -> usize {
        self.ld
    }

    /// The storage, from the first element to the end of the slice given.
    pub fn data(&mut self) -> &mut [f32] {
        self.data
    }

    /// The parts of the view a product writes: storage, rows, columns, ld.
    pub(crate) fn into_parts(self) -> (&'a mut [f32], usize, usize, usize) {
        (self.data, self.rows, self.cols, self.ld)
    }
}

fn check_storage(what: &str, len: usize, rows: usize, cols: usize, ld: usize) {
    assert!(
        cols == 0 || ld >= cols,
        "{what}: leading dimension {ld} is less than the row width {cols}"
    );
    let needed = if rows == 0 || cols == 0 {
        0
    } else {
        (rows - 1) * ld + cols
    };
    assert!(
        len >= needed,
        "{what}: a {rows} x {cols} matrix with leading dimension {ld} needs {needed} elements, the slice has {len}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transposed_view_reads_the_same_storage_across() {
        let data: Vec<f32> = (0..12).map(|i| i as f32).collect();
        let m = MatRef::with_ld(&data, 2, 3, 5);
        assert_eq!((m.rows(), m.cols()), (2, 3));
        assert_eq!(m.at(1, 2), 7.0);
        let t = m.t();
        assert_eq!((t.rows(), t.cols(), t.transpose()), (3, 2, Transpose::Yes));
        assert_eq!(t.at(2, 1), 7.0);
        assert_eq!(t.strides(), (1, 5));
        assert_eq!(t.t().at(1, 2), 7.0);
    }

    #[test]
    #[should_panic(expected = "needs 8 elements, the slice has 7")]
    fn a_short_slice_is_refused_when_the_view_is_made() {
        MatRef::with_ld(&[0.0; 7], 2, 3, 5);
    }

    #[test]
    #[should_panic(expected = "leading dimension 2 is less than the row width 3")]
    fn a_leading_dimension_narrower_than_a_row_is_refused() {
        MatMut::with_ld(&mut [0.0; 9], 3, 3, 2);
    }

    #[test]
    fn empty_matrices_need_no_storage() {
        assert_eq!(MatRef::new(&[], 0, 5).t().cols(), 0);
        assert_eq!(MatMut::new(&mut [], 4, 0).rows(), 4);
    }
}
