//! One layer of a model's description, before its weights exist, and the
//! text form of a list of them, e.g.
//! `conv2d(32,5,same) relu maxpool(2) flatten dense(1024) relu dropout(0.5) dense(10)`:
//! what the `Builder` builds and a plan counts.

use std::fmt;

use crate::{DropoutKind, Init, NnError, Padding};

/// One layer of a description, before its weights exist.
#[derive(Clone, Debug, PartialEq)]
pub enum LayerSpec {
    /// Fully connected, `units` outputs.
    Dense {
        /// Outputs.
        units: usize,
        /// Initialiser of the weights.
        weight_init: Init,
        /// Initialiser of the biases.
        bias_init: Init,
    },
    /// Square convolution, channels-last.
    Conv2d {
        /// Output channels.
        filters: usize,
        /// Kernel side.
        kernel: usize,
        /// Step between windows.
        stride: usize,
        /// SAME or VALID, as TensorFlow.
        padding: Padding,
        /// Initialiser of the weights.
        weight_init: Init,
        /// Initialiser of the biases.
        bias_init: Init,
    },
    /// Max pooling over `size x size` windows with stride `stride`, SAME.
    MaxPool {
        /// Window side.
        size: usize,
        /// Step between windows.
        stride: usize,
    },
    /// `[h, w, c]` to `[h·w·c]`.
    Flatten,
    /// max(0, x).
    Relu,
    /// max(slope x, x).
    LeakyRelu(f32),
    /// 1 / (1 + e^-x).
    Sigmoid,
    /// tanh x.
    Tanh,
    /// Drops `rate` of the units in training.
    Dropout {
        /// Fraction dropped (Keras' rate; keep = 1 - rate).
        rate: f32,
        /// Where the scaling goes.
        kind: DropoutKind,
    },
    /// Batch normalisation over the last axis (features, or channels).
    BatchNorm,
}

impl fmt::Display for LayerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let padding = |p: &Padding| match p {
            Padding::Same => "same",
            Padding::Valid => "valid",
        };
        match self {
            LayerSpec::Dense { units, .. } => write!(f, "dense({units})"),
            LayerSpec::Conv2d {
                filters,
                kernel,
                stride,
                padding: p,
                ..
            } => write!(f, "conv2d({filters},{kernel},{},{stride})", padding(p)),
            LayerSpec::MaxPool { size, stride } => write!(f, "maxpool({size},{stride})"),
            LayerSpec::Flatten => write!(f, "flatten"),
            LayerSpec::Relu => write!(f, "relu"),
            LayerSpec::LeakyRelu(slope) => write!(f, "leakyrelu({slope})"),
            LayerSpec::Sigmoid => write!(f, "sigmoid"),
            LayerSpec::Tanh => write!(f, "tanh"),
            LayerSpec::Dropout { rate, .. } => write!(f, "dropout({rate})"),
            LayerSpec::BatchNorm => write!(f, "batchnorm"),
        }
    }
}

/// Parses a line of layers separated by spaces (or commas between layers,
/// or `->`): `dense(N)`, `conv2d(FILTERS,KERNEL[,same|valid[,STRIDE]])`,
/// `maxpool(SIZE[,STRIDE])`, `flatten`, `relu`, `leakyrelu(SLOPE)`,
/// `sigmoid`, `tanh`, `dropout(RATE)`, `batchnorm`. Weighted layers take
/// `weight_init` and `bias_init`.
pub fn parse(text: &str, weight_init: &Init, bias_init: &Init) -> Result<Vec<LayerSpec>, NnError> {
    let mut layers = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ',' || c == '-' || c == '>');
        if rest.is_empty() {
            break;
        }
        let name_end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let name = rest[..name_end].to_ascii_lowercase();
        rest = &rest[name_end..];
        let mut args: Vec<&str> = Vec::new();
        if let Some(inner) = rest.strip_prefix('(') {
            let close = inner
                .find(')')
                .ok_or_else(|| NnError::Spec(format!("{name}: '(' without ')'")))?;
            args = inner[..close]
                .split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .collect();
            rest = &inner[close + 1..];
        }
        if name.is_empty() {
            return Err(NnError::Spec(format!(
                "unexpected {:?}",
                rest.chars().next().unwrap_or(' ')
            )));
        }
        layers.push(layer(&name, &args, weight_init, bias_init)?);
    }
    if layers.is_empty() {
        return Err(NnError::Spec("no layers".into()));
    }
    Ok(layers)
}

fn layer(name: &str, args: &[&str], weight_init: &Init, bias_init: &Init) -> Result<LayerSpec, NnError> {
    let bad = |why: &str| NnError::Spec(format!("{name}({}): {why}", args.join(",")));
    let count = |min: usize, max: usize| {
        if (min..=max).contains(&args.len()) {
            Ok(())
        } else if min == max {
            Err(bad(&format!("takes {min} argument(s)")))
        } else {
            Err(bad(&format!("takes {min} to {max} arguments")))
        }
    };
    let int = |i: usize| -> Result<usize, NnError> {
        args[i]
            .parse()
            .map_err(|_| bad(&format!("{:?} is not a whole number", args[i])))
    };
    let real = |i: usize| -> Result<f32, NnError> {
        args[i]
            .parse()
            .map_err(|_| bad(&format!("{:?} is not a number", args[i])))
    };
    Ok(match name {
        "dense" => {
            count(1, 1)?;
            LayerSpec::Dense {
                units: int(0)?,
                weight_init: *weight_init,
                bias_init: *bias_init,
            }
        }
        "conv2d" | "conv" => {
            count(2, 4)?;
            let padding = match args.get(2).map(|p| p.to_ascii_lowercase()).as_deref() {
                None | Some("same") => Padding::Same,
                Some("valid") => Padding::Valid,
                Some(other) => return Err(bad(&format!("padding {other:?} is not same or valid"))),
            };
            LayerSpec::Conv2d {
                filters: int(0)?,
                kernel: int(1)?,
                stride: if args.len() > 3 { int(3)? } else { 1 },
                padding,
                weight_init: *weight_init,
                bias_init: *bias_init,
            }
        }
        "maxpool" | "max_pool" | "pool" => {
            count(1, 2)?;
            let size = int(0)?;
            LayerSpec::MaxPool {
                size,
                stride: if args.len() > 1 { int(1)? } else { size },
            }
        }
        "flatten" => {
            count(0, 0)?;
            LayerSpec::Flatten
        }
        "relu" => {
            count(0, 0)?;
            LayerSpec::Relu
        }
        "leakyrelu" | "leaky_relu" => {
            count(0, 1)?;
            LayerSpec::LeakyRelu(if args.is_empty() { 0.3 } else { real(0)? })
        }
        "sigmoid" => {
            count(0, 0)?;
            LayerSpec::Sigmoid
        }
        "tanh" => {
            count(0, 0)?;
            LayerSpec::Tanh
        }
        "dropout" => {
            count(1, 1)?;
            LayerSpec::Dropout {
                rate: real(0)?,
                kind: DropoutKind::Inverted,
            }
        }
        "batchnorm" | "batch_norm" => {
            count(0, 0)?;
            LayerSpec::BatchNorm
        }
        other => {
            return Err(NnError::Spec(format!(
                "{other:?} is not a layer: dense, conv2d, maxpool, flatten, relu, leakyrelu, sigmoid, tanh, dropout, batchnorm"
            )));
        }
    })
}
