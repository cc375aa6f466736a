//! A trained model as a library user meets it: load it, classify images.

use std::collections::HashMap;
use std::path::Path;

use mnist_io::IMAGE_PIXELS;
use nn::{Classifier, NnError};
use tensor::Shape;
use train::{Batch, ModelSpec};

use crate::error::Result;
use crate::file::{self, Loaded};

/// A model read from a model file (or a checkpoint), ready to classify.
pub struct Model {
    /// The network, in evaluation mode when classifying (dropout off,
    /// batch norm on its running statistics).
    pub classifier: Classifier,
    /// Its architecture, as the file describes it.
    pub arch: ModelSpec,
    /// The file's metadata: `format`, `architecture`, `training` and, in a
    /// checkpoint, the run's state.
    pub metadata: HashMap<String, String>,
    batch: Batch,
}

impl Model {
    /// Reads `path`: any file [`save`](crate::save) or a
    /// [`Checkpointer`](crate::Checkpointer) wrote, today's format or an
    /// earlier one. Everything wrong with the file is a [`StoreError`]
    /// naming it.
    ///
    /// [`StoreError`]: crate::StoreError
    pub fn load(path: &Path) -> Result<Self> {
        let Loaded {
            model, arch, metadata, ..
        } = file::load_with(path)?;
        Ok(Self {
            classifier: Classifier::new(model),
            arch,
            metadata,
            batch: Batch::default(),
        })
    }

    /// The class probabilities for one MNIST-style image: 28x28 pixels,
    /// row by row, 0 the background and 255 the ink (what `mnist_io`
    /// reads; a photo or a drawing goes through `cli::digit` first). Ten
    /// for a softmax model, one digit each; for a sigmoid (binary) model,
    /// the probability of class 1 alone. An image of another size is an
    /// [`NnError::Shape`] naming both sizes.
    pub fn classify(&mut self, image: &[u8]) -> std::result::Result<Vec<f32>, NnError> {
        if image.len() != IMAGE_PIXELS {
            return Err(NnError::Shape {
                layer: "an image to classify".into(),
                expected: Shape::new(&[IMAGE_PIXELS]),
                found: Shape::new(&[image.len()]),
            });
        }
        let one = mnist_io::Subset::new(image.to_vec(), vec![0]);
        self.batch.gather_range(&self.classifier, &one, 0, 1);
        self.classifier.evaluate(&self.batch.x, &self.batch.labels)?;
        Ok(self.classifier.probabilities().to_vec())
    }
}

/// The most probable class of what [`Model::classify`] returned (the
/// last of equal ones; 0 for an empty slice).
pub fn most_likely(probabilities: &[f32]) -> usize {
    probabilities
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |(d, _)| d)
}
