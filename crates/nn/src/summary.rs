//! `summary()`: the model as Keras prints it, one row per layer with its
//! output shape and parameter count, then the totals.

use std::collections::HashMap;
use std::fmt::Write;

use crate::Sequential;
use crate::plan::{LayerPlan, counts};

/// Thousands separated by commas, as Keras prints counts: 1,195,018.
pub fn with_commas(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl Sequential {
    /// The Keras-style names of the layers: the kind in lower case, with
    /// `_1`, `_2`, ... after the first of each kind (`dense`, `dense_1`).
    pub fn layer_names(&self) -> Vec<String> {
        names(self.layers().map(|layer| layer.kind()))
    }

    /// Each layer as a [`LayerPlan`]: what [`crate::plan::plan`] says of the
    /// description it was built from.
    pub fn layer_plans(&self) -> Vec<LayerPlan> {
        self.layers()
            .zip(self.layer_output_shapes())
            .map(|(layer, shape)| LayerPlan {
                kind: layer.kind(),
                output: shape.dims().to_vec(),
                params: layer.param_count(),
                non_trainable: layer.non_trainable_count(),
            })
            .collect()
    }

    /// The model as Keras' `model.summary()` prints it.
    pub fn summary(&self) -> String {
        summary_of(&self.layer_plans())
    }
}

/// Keras-style names for layers of these kinds, in order.
fn names<'a>(kinds: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    kinds
        .map(|kind| {
            let base = snake_case(kind);
            let count = seen.entry(base.clone()).or_insert(0);
            let name = if *count == 0 { base } else { format!("{base}_{count}") };
            *count += 1;
            name
        })
        .collect()
}

/// A model's layers, planned or built, as Keras' `model.summary()` prints
/// them; counts that do not fit a `usize` in total print as "too many".
pub fn summary_of(plan: &[LayerPlan]) -> String {
    let names = names(plan.iter().map(|l| l.kind));
    // Keras' widths, the first column widened for long names
    // (`max_pooling2d_1 (MaxPooling2D)`) so the columns stay aligned.
    let first = plan
        .iter()
        .zip(&names)
        .map(|(layer, name)| name.len() + layer.kind.len() + 4)
        .max()
        .unwrap_or(0)
        .max(28);
    let rule = |c: char| c.to_string().repeat(first + 37);
    let mut out = String::new();
    let _ = writeln!(out, "Model: \"sequential\"");
    let _ = writeln!(out, "{}", rule('_'));
    let _ = writeln!(
        out,
        " {:<first$}{:<26}{:<10}",
        "Layer (type)", "Output Shape", "Param #"
    );
    let _ = writeln!(out, "{}", rule('='));
    for (i, (layer, name)) in plan.iter().zip(&names).enumerate() {
        let dims: Vec<String> = std::iter::once("None".to_string())
            .chain(layer.output.iter().map(|d| d.to_string()))
            .collect();
        let _ = writeln!(
            out,
            " {:<first$}{:<26}{:<10}",
            format!("{name} ({})", layer.kind),
            format!("({})", dims.join(", ")),
            layer.params + layer.non_trainable
        );
        if i + 1 < plan.len() {
            let _ = writeln!(out);
        }
    }
    let count = |n: Option<usize>| n.map_or("too many".to_string(), with_commas);
    let totals = counts(plan);
    let _ = writeln!(out, "{}", rule('='));
    let _ = writeln!(
        out,
        "Total params: {}",
        count(totals.and_then(|(p, n)| p.checked_add(n)))
    );
    let _ = writeln!(out, "Trainable params: {}", count(totals.map(|(p, _)| p)));
    let _ = writeln!(out, "Non-trainable params: {}", count(totals.map(|(_, n)| n)));
    let _ = writeln!(out, "{}", rule('_'));
    out
}

/// `BatchNorm` -> `batch_norm`, `ReLU` -> `re_lu` as Keras names it.
fn snake_case(kind: &str) -> String {
    let mut out = String::new();
    for (i, c) in kind.chars().enumerate() {
        if c.is_uppercase() {
            let prev_lower = i > 0 && kind.chars().nth(i - 1).is_some_and(|p| p.is_lowercase());
            if prev_lower {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Dense, Dropout, DropoutKind, Init, Relu};
    use rand::SeedableRng;
    use tensor::Shape;

    /// The Keras chapter's deep and wide network: 1,195,018 parameters.
    #[test]
    fn the_keras_chapters_model() {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(0);
        let mut model = Sequential::new(Shape::new(&[784]));
        let mut width = 784;
        for _ in 0..4 {
            model
                .push(Dense::new(width, 512, &Init::XavierUniform, &Init::Zeros, &mut rng))
                .unwrap();
            model.push(Relu).unwrap();
            model.push(Dropout::new(0.7, DropoutKind::Inverted, 1)).unwrap();
            width = 512;
        }
        model
            .push(Dense::new(512, 10, &Init::XavierUniform, &Init::Zeros, &mut rng))
            .unwrap();
        assert_eq!(model.param_count(), 1_195_018);
        let text = model.summary();
        assert!(text.contains("Total params: 1,195,018"), "{text}");
        assert!(text.contains("Non-trainable params: 0"), "{text}");
        assert!(
            text.contains(" dense (Dense)               (None, 512)               401920"),
            "{text}"
        );
        assert!(
            text.contains(" dense_4 (Dense)             (None, 10)                5130"),
            "{text}"
        );
        assert!(text.contains(" dropout_3 (Dropout)"), "{text}");
        assert_eq!(with_commas(0), "0");
        assert_eq!(with_commas(1000), "1,000");
        assert_eq!(snake_case("BatchNorm"), "batch_norm");
    }

    /// `max_pooling2d_1 (MaxPooling2D)` is longer than Keras' column: the
    /// column widens and every row's shape starts at the same place.
    #[test]
    fn columns_stay_aligned_with_long_names() {
        let mut rng = rand_xoshiro::Xoshiro256PlusPlus::seed_from_u64(0);
        let model = crate::Builder::new(Shape::image(1, 28, 28))
            .conv2d(4, 3, crate::Padding::Same)
            .max_pool(2)
            .conv2d(4, 3, crate::Padding::Same)
            .max_pool(2)
            .flatten()
            .dense(10)
            .build(&mut rng)
            .unwrap();
        let text = model.summary();
        let columns: Vec<usize> = text.lines().filter_map(|l| l.find("(None")).collect();
        assert_eq!(columns.len(), 6, "{text}");
        assert!(columns.iter().all(|&c| c == columns[0]), "{text}");
        assert!(text.contains("max_pooling2d_1 (MaxPooling2D)"), "{text}");
    }
}
