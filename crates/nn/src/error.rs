use tensor::Shape;

/// What can go wrong when data meets a model.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum NnError {
    /// A tensor's shape is not the one a layer takes.
    #[error("{layer}: expected shape {expected} (per example), found {found}")]
    Shape {
        /// Which layer (position and kind) or which input.
        layer: String,
        /// The shape expected, without the batch dimension.
        expected: Shape,
        /// The shape found, without the batch dimension.
        found: Shape,
    },

    /// A layer cannot follow the one before it.
    #[error("layer {index} ({kind}) cannot take input of shape {input}: it {reason}")]
    Incompatible {
        /// Position of the layer in the model.
        index: usize,
        /// The layer's type.
        kind: &'static str,
        /// The per-example shape it was given.
        input: Shape,
        /// Why it cannot take it.
        reason: String,
    },

    /// Labels and examples disagree in number, or a label is out of range.
    #[error("labels: {0}")]
    Labels(String),
    /// A model description that does not make a model: an unknown layer,
    /// a bad argument, a layer that cannot follow the previous one.
    #[error("model spec: {0}")]
    Spec(String),
}
