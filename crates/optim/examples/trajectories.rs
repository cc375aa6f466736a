//! Prints, as CSV, the paths of the optimisers on the NumPy course's
//! function x²/20 + y² from (-7, 2), 30 steps each, with the course's
//! learning rates, for plotting:
//!
//! `cargo run -p mnist-optim --example trajectories > trajectories.csv`

use mnist_optim::surface::{course_gradient, descend};
use mnist_optim::{AdaGrad, Adam, AdamConfig, GradientDescent, Momentum, Optimizer, RmsProp};

fn main() {
    let runs: Vec<(&str, Box<dyn Optimizer>)> = vec![
        ("SGD lr 0.95", Box::new(GradientDescent::new(0.95))),
        ("Momentum lr 0.1", Box::new(Momentum::new(0.1, 0.9))),
        ("AdaGrad lr 1.5", Box::new(AdaGrad::new(1.5, 1e-7))),
        ("RMSProp lr 0.3", Box::new(RmsProp::new(0.3, 0.99, 1e-7))),
        ("Adam lr 0.3", Box::new(Adam::new(AdamConfig::tensorflow(0.3)))),
    ];
    println!("optimizer,step,x,y");
    for (name, mut opt) in runs {
        for (step, p) in descend(opt.as_mut(), [-7.0, 2.0], course_gradient, 30)
            .iter()
            .enumerate()
        {
            println!("{name},{step},{},{}", p[0], p[1]);
        }
    }
}
