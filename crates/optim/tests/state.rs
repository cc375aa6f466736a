//! An optimiser's saved state, loaded into a fresh optimiser of the same
//! kind, continues bit for bit as the original does: what checkpoints need.

use mnist_optim::{AdaDelta, AdaGrad, Adam, AdamConfig, BiasCorrection, GradientDescent, Momentum, Optimizer, RmsProp};

/// A name and a way to make a fresh optimiser of that kind.
type Maker = (&'static str, fn() -> Box<dyn Optimizer>);

fn optimizers() -> Vec<Maker> {
    vec![
        ("sgd", || Box::new(GradientDescent::new(0.1))),
        ("momentum", || Box::new(Momentum::new(0.05, 0.9))),
        ("nesterov", || Box::new(Momentum::nesterov(0.05, 0.9))),
        ("adagrad", || Box::new(AdaGrad::new(0.1, 1e-7))),
        ("rmsprop", || Box::new(RmsProp::new(0.01, 0.9, 1e-7))),
        ("adam", || Box::new(Adam::new(AdamConfig::tensorflow(0.01)))),
        ("adam-moments", || {
            Box::new(Adam::new(AdamConfig {
                correction: BiasCorrection::Moments,
                ..AdamConfig::tensorflow(0.01)
            }))
        }),
        ("adadelta", || Box::new(AdaDelta::new(1.0, 0.95, 1e-6))),
    ]
}

/// A deterministic gradient for step `t` of a parameter.
fn gradient(values: &[f32], t: usize) -> Vec<f32> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| v * 0.5 + ((i * 7 + t * 13) % 11) as f32 * 0.01 - 0.05)
        .collect()
}

fn steps(opt: &mut dyn Optimizer, params: &mut [Vec<f32>], from: usize, to: usize) {
    for t in from..to {
        opt.begin_step();
        for (slot, p) in params.iter_mut().enumerate() {
            let g = gradient(p, t);
            opt.update(slot, p, &g);
        }
    }
}

#[test]
fn a_loaded_state_continues_bit_for_bit() {
    for (name, make) in optimizers() {
        let start = vec![vec![0.3f32, -1.2, 2.0, 0.0, 0.7], vec![-0.4f32, 0.9, 1.5]];
        let mut original = make();
        let mut params = start.clone();
        steps(original.as_mut(), &mut params, 0, 7);
        let saved = original.save_state();
        let mut resumed = make();
        resumed.load_state(&saved).unwrap_or_else(|e| panic!("{name}: {e}"));
        let mut resumed_params = params.clone();
        steps(original.as_mut(), &mut params, 7, 15);
        steps(resumed.as_mut(), &mut resumed_params, 7, 15);
        assert_eq!(params, resumed_params, "{name}");
        if name != "sgd" {
            // Without the state, the continuation differs: the test can fail.
            let mut fresh = make();
            let mut fresh_params = start.clone();
            steps(fresh.as_mut(), &mut fresh_params, 0, 7);
            let mut cold = make();
            steps(cold.as_mut(), &mut fresh_params, 7, 15);
            assert_ne!(params, fresh_params, "{name}: state makes no difference?");
        }
    }
}

#[test]
fn foreign_state_is_an_error_that_names_the_entry() {
    let mut adam = Adam::new(AdamConfig::tensorflow(0.01));
    adam.begin_step();
    let mut p = vec![1.0f32; 3];
    adam.update(0, &mut p, &[0.1, 0.2, 0.3]);
    let state = adam.save_state();
    let e = Momentum::new(0.1, 0.9).load_state(&state).unwrap_err();
    assert!(e.contains("adam.step"), "{e}");
    let e = GradientDescent::new(0.1).load_state(&state).unwrap_err();
    assert!(e.contains("keeps none"), "{e}");
    let e = Adam::new(AdamConfig::tensorflow(0.01))
        .load_state(&vec![("adam.0.m".to_string(), vec![0.0])])
        .unwrap_err();
    assert!(e.contains("lacks adam.step"), "{e}");
}
