//! A dense, row-major `f32` tensor: a [`Shape`] and a `Vec<f32>`, nothing else.
//!
//! Layers and kernels exchange data as plain slices; `Tensor` only keeps a
//! buffer and its shape together, and lets a buffer be reshaped in place so a
//! training loop can reuse its allocations from batch to batch.
//!
//! ```
//! use mnist_tensor::{Shape, Tensor};
//! let mut t = Tensor::zeros(Shape::new(&[2, 3]));
//! t.data_mut()[4] = 1.0;
//! assert_eq!(t.shape().dims(), &[2, 3]);
//! assert_eq!(t.row(1), &[0.0, 1.0, 0.0]);
//! ```

mod shape;

pub use shape::Shape;

/// A row-major `f32` tensor.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tensor {
    shape: Shape,
    data: Vec<f32>,
}

impl Tensor {
    /// A tensor of zeros.
    pub fn zeros(shape: Shape) -> Self {
        let data = vec![0.0; shape.len()];
        Self { shape, data }
    }

    /// A tensor filled with `value`.
    pub fn full(shape: Shape, value: f32) -> Self {
        let data = vec![value; shape.len()];
        Self { shape, data }
    }

    /// A tensor that takes ownership of `data`.
    ///
    /// # Panics
    /// If `data.len()` is not the number of elements of `shape`: that is a
    /// programming error, never a user's.
    pub fn from_vec(shape: Shape, data: Vec<f32>) -> Self {
        assert_eq!(
            shape.len(),
            data.len(),
            "shape {shape} needs {} elements, got {}",
            shape.len(),
            data.len()
        );
        Self { shape, data }
    }

    /// The shape.
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// The elements, row-major.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// The elements, row-major, mutable.
    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    /// The dimensions and the elements at once (the elements mutable).
    pub fn dims_and_data_mut(&mut self) -> (&[usize], &mut [f32]) {
        (self.shape.dims(), &mut self.data)
    }

    /// Gives back the buffer.
    pub fn into_vec(self) -> Vec<f32> {
        self.data
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when the tensor has no elements.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Size of the first dimension (the batch), 0 for a scalar.
    pub fn rows(&self) -> usize {
        self.shape.dims().first().copied().unwrap_or(0)
    }

    /// Number of elements per row: the product of every dimension but the first.
    pub fn row_len(&self) -> usize {
        self.shape.dims().iter().skip(1).product()
    }

    /// Row `i` (an element of the batch).
    pub fn row(&self, i: usize) -> &[f32] {
        let w = self.row_len();
        &self.data[i * w..(i + 1) * w]
    }

    /// Gives the tensor a new shape, reusing its buffer. The content is
    /// unspecified afterwards (kept where the size did not change, zeros where
    /// it grew); callers overwrite it. Allocates only when the buffer grows.
    pub fn reshape_for_overwrite(&mut self, shape: &Shape) {
        if self.shape != *shape {
            self.shape.clone_from(shape);
            self.data.resize(shape.len(), 0.0);
        }
    }

    /// Gives the tensor the dimensions `dims`, like
    /// [`reshape_for_overwrite`](Self::reshape_for_overwrite), without
    /// building a `Shape` when the dimensions are unchanged.
    pub fn set_dims(&mut self, dims: &[usize]) {
        if self.shape.dims() != dims {
            self.reshape_for_overwrite(&Shape::new(dims));
        }
    }

    /// Fills every element with `value`.
    pub fn fill(&mut self, value: f32) {
        self.data.fill(value);
    }
}

/// The README's examples, compiled and run as doc tests so that they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
