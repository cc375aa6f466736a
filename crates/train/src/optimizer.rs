//! Which optimiser, with its settings: a spec the command line and the
//! ladder's TOML both describe, and the builder.

use optim::{AdaDelta, AdaGrad, Adam, AdamConfig, BiasCorrection, GradientDescent, Momentum, Optimizer, RmsProp};
use serde::{Deserialize, Serialize};

use crate::SpecError;

/// Optimisers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerKind {
    /// Plain gradient descent: w -= lr g.
    Sgd,
    /// Momentum (--momentum, 0.9 by default).
    Momentum,
    /// Nesterov's accelerated gradient (--momentum).
    Nesterov,
    /// AdaGrad with epsilon 1e-7, as the NumPy course.
    Adagrad,
    /// RMSProp with rho 0.9 and epsilon 1e-7.
    Rmsprop,
    /// Adam with TensorFlow's defaults (beta1 0.9, beta2 0.999, epsilon 1e-8;
    /// see --adam-beta1, --adam-beta2, --adam-epsilon and --adam-correction).
    Adam,
    /// AdamW: Adam with decoupled weight decay (--decoupled-decay).
    Adamw,
    /// AdaDelta (rho 0.95, epsilon 1e-6); --lr scales its step (1 in the paper).
    Adadelta,
}

/// Where Adam's bias correction goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[serde(rename_all = "kebab-case")]
pub enum CorrectionKind {
    /// In the step size, epsilon added to sqrt(v) (TensorFlow).
    StepSize,
    /// On the moments, as the paper's Algorithm 1.
    Moments,
}

/// An optimiser and its settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "clap", derive(clap::Args))]
#[serde(default, deny_unknown_fields)]
pub struct OptimizerSpec {
    /// The optimiser.
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value = "sgd"))]
    pub optimizer: OptimizerKind,
    /// Learning rate.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 0.01))]
    pub lr: f32,
    /// Momentum of --optimizer momentum and nesterov.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 0.9))]
    pub momentum: f32,
    /// Adam's and AdamW's beta1: how slowly the mean of the gradients moves.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 0.9))]
    pub adam_beta1: f32,
    /// Adam's and AdamW's beta2: how slowly the mean of the squared
    /// gradients moves.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 0.999))]
    pub adam_beta2: f32,
    /// Epsilon of Adam and AdamW.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 1e-8))]
    pub adam_epsilon: f32,
    /// Where Adam's bias correction goes: in the step size with epsilon added
    /// to sqrt(v) (TensorFlow, the NumPy course), or on the moments (the paper).
    #[cfg_attr(feature = "clap", arg(long, value_enum, default_value = "step-size"))]
    pub adam_correction: CorrectionKind,
    /// AdamW's decoupled weight decay: w -= lr * decay * w before each step.
    #[cfg_attr(feature = "clap", arg(long, default_value_t = 0.01))]
    pub decoupled_decay: f32,
}

impl Default for OptimizerSpec {
    fn default() -> Self {
        Self {
            optimizer: OptimizerKind::Sgd,
            lr: 0.01,
            momentum: 0.9,
            adam_beta1: 0.9,
            adam_beta2: 0.999,
            adam_epsilon: 1e-8,
            adam_correction: CorrectionKind::StepSize,
            decoupled_decay: 0.01,
        }
    }
}

impl OptimizerSpec {
    /// Checks the numbers' ranges.
    pub fn validate(&self) -> Result<(), SpecError> {
        let positive = |name: &str, x: f32| {
            if x.is_finite() && x > 0.0 {
                Ok(())
            } else {
                Err(SpecError(format!("{name} must be a positive number, got {x}")))
            }
        };
        positive("lr", self.lr)?;
        positive("adam-epsilon", self.adam_epsilon)?;
        if !(self.decoupled_decay.is_finite() && self.decoupled_decay >= 0.0) {
            return Err(SpecError(format!(
                "decoupled-decay must be a non-negative number, got {}",
                self.decoupled_decay
            )));
        }
        for (name, x) in [
            ("momentum", self.momentum),
            ("adam-beta1", self.adam_beta1),
            ("adam-beta2", self.adam_beta2),
        ] {
            if !(0.0..1.0).contains(&x) {
                return Err(SpecError(format!("{name} must be in [0, 1), got {x}")));
            }
        }
        Ok(())
    }

    /// Buffers the optimiser keeps per parameter (Adam's two moments, a
    /// momentum's velocity), for the memory a run needs.
    pub fn state_per_param(&self) -> u32 {
        match self.optimizer {
            OptimizerKind::Sgd => 0,
            OptimizerKind::Momentum | OptimizerKind::Nesterov | OptimizerKind::Adagrad | OptimizerKind::Rmsprop => 1,
            OptimizerKind::Adam | OptimizerKind::Adamw | OptimizerKind::Adadelta => 2,
        }
    }

    /// The optimiser the spec describes, fresh (no state yet).
    pub fn build(&self) -> Result<Box<dyn Optimizer>, SpecError> {
        self.validate()?;
        Ok(match self.optimizer {
            OptimizerKind::Sgd => Box::new(GradientDescent::new(self.lr)),
            OptimizerKind::Momentum => Box::new(Momentum::new(self.lr, self.momentum)),
            OptimizerKind::Nesterov => Box::new(Momentum::nesterov(self.lr, self.momentum)),
            OptimizerKind::Adagrad => Box::new(AdaGrad::new(self.lr, 1e-7)),
            OptimizerKind::Rmsprop => Box::new(RmsProp::new(self.lr, 0.9, 1e-7)),
            OptimizerKind::Adam | OptimizerKind::Adamw => Box::new(Adam::new(AdamConfig {
                beta1: self.adam_beta1,
                beta2: self.adam_beta2,
                epsilon: self.adam_epsilon,
                correction: match self.adam_correction {
                    CorrectionKind::StepSize => BiasCorrection::StepSize,
                    CorrectionKind::Moments => BiasCorrection::Moments,
                },
                weight_decay: if self.optimizer == OptimizerKind::Adamw {
                    self.decoupled_decay
                } else {
                    0.0
                },
                ..AdamConfig::tensorflow(self.lr)
            })),
            OptimizerKind::Adadelta => Box::new(AdaDelta::new(self.lr, 0.95, 1e-6)),
        })
    }
}
