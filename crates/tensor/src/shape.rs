use std::fmt;

/// The dimensions of a tensor, outermost first (e.g. `[batch, features]` or
/// `[batch, channels, height, width]`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Shape(Vec<usize>);

impl Shape {
    /// A shape from its dimensions.
    pub fn new(dims: &[usize]) -> Self {
        Self(dims.to_vec())
    }

    /// The shape of an image of `channels` planes of `height x width`, laid
    /// out channels-last as the convolutions of this project take it:
    /// `[height, width, channels]` (MNIST: `Shape::image(1, 28, 28)` is
    /// `[28, 28, 1]`).
    pub fn image(channels: usize, height: usize, width: usize) -> Self {
        Self(vec![height, width, channels])
    }

    /// `[rows, cols]`.
    pub fn matrix(rows: usize, cols: usize) -> Self {
        Self(vec![rows, cols])
    }

    /// The dimensions.
    pub fn dims(&self) -> &[usize] {
        &self.0
    }

    /// Number of dimensions.
    pub fn rank(&self) -> usize {
        self.0.len()
    }

    /// Number of elements (1 for a scalar of rank 0).
    pub fn len(&self) -> usize {
        self.0.iter().product()
    }

    /// True when some dimension is 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The same shape with its first (batch) dimension replaced.
    pub fn with_batch(&self, batch: usize) -> Self {
        let mut dims = self.0.clone();
        if let Some(first) = dims.first_mut() {
            *first = batch;
        }
        Self(dims)
    }
}

impl From<&[usize]> for Shape {
    fn from(dims: &[usize]) -> Self {
        Self::new(dims)
    }
}

impl<const N: usize> From<[usize; N]> for Shape {
    fn from(dims: [usize; N]) -> Self {
        Self(dims.to_vec())
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[")?;
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                write!(f, ", ")?;
            }
            write!(f, "{d}")?;
        }
        write!(f, "]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn len_and_display() {
        let s = Shape::new(&[2, 1, 28, 28]);
        assert_eq!(s.len(), 2 * 28 * 28);
        assert_eq!(s.to_string(), "[2, 1, 28, 28]");
        assert_eq!(s.with_batch(5).dims(), &[5, 1, 28, 28]);
        assert_eq!(Shape::new(&[]).len(), 1);
        assert!(Shape::new(&[3, 0]).is_empty());
    }
}
