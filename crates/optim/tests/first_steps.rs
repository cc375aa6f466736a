//! Every optimiser's first two steps against values computed by hand (in
//! f64) from its published update rule, written out in each comment. Every
//! case starts at w = 1 with gradient 0.5, then -1.

use mnist_optim::{AdaDelta, AdaGrad, Adam, AdamConfig, GradientDescent, Momentum, Optimizer, RmsProp};

fn two_steps(opt: &mut dyn Optimizer) -> [f32; 2] {
    let mut w = [1.0f32];
    let mut out = [0.0; 2];
    for (i, g) in [0.5f32, -1.0].into_iter().enumerate() {
        opt.begin_step();
        opt.update(0, &mut w, &[g]);
        out[i] = w[0];
    }
    out
}

fn assert_steps(name: &str, opt: &mut dyn Optimizer, want: [f64; 2]) {
    let got = two_steps(opt);
    for (g, w) in got.iter().zip(want) {
        assert!((*g as f64 - w).abs() < 2e-6, "{name}: got {got:?}, want {want:?}");
    }
}

#[test]
fn gradient_descent() {
    // w = 1 - 0.1 * 0.5 = 0.95; 0.95 + 0.1 = 1.05.
    assert_steps("sgd", &mut GradientDescent::new(0.1), [0.95, 1.05]);
}

#[test]
fn momentum() {
    // a = 0.5, w = 1 - 0.1 * 0.5 = 0.95; a = 0.9 * 0.5 - 1 = -0.55, w = 0.95 + 0.055.
    assert_steps("momentum", &mut Momentum::new(0.1, 0.9), [0.95, 1.005]);
}

#[test]
fn nesterov() {
    // a = 0.5, w = 1 - 0.1 (0.5 + 0.45) = 0.905;
    // a = -0.55, w = 0.905 - 0.1 (-1 - 0.495) = 1.0545.
    assert_steps("nesterov", &mut Momentum::nesterov(0.1, 0.9), [0.905, 1.0545]);
}

#[test]
fn adagrad() {
    // h = 0.25, w = 1 - 0.1 * 0.5 / (0.5 + 1e-7) = 0.90000002;
    // h = 1.25, w = 0.90000002 + 0.1 / (1.1180340 + 1e-7) = 0.98944273.
    assert_steps("adagrad", &mut AdaGrad::new(0.1, 1e-7), [0.900_000_02, 0.989_442_731_1]);
}

#[test]
fn rmsprop() {
    // h = 0.1 * 0.25 = 0.025, w = 1 - 0.1 * 0.5 / 0.15811388 = 0.68377243;
    // h = 0.9 * 0.025 + 0.1 = 0.1225, w = 0.68377243 + 0.1 / 0.35 = 0.96948664.
    assert_steps(
        "rmsprop",
        &mut RmsProp::new(0.1, 0.9, 1e-7),
        [0.683_772_434, 0.969_486_638],
    );
}

#[test]
fn adadelta() {
    // Eg = 0.0125, d = -sqrt(1e-6) / sqrt(0.012501) * 0.5 = -0.0044720, w = 0.99552804;
    // Edx = 0.05 d² = 1e-6, Eg = 0.061875, d = sqrt(2e-6) / sqrt(0.061876) = 0.0056852,
    // w = 1.00121324.
    assert_steps(
        "adadelta",
        &mut AdaDelta::new(1.0, 0.95, 1e-6),
        [0.995_528_043, 1.001_213_236],
    );
}

#[test]
fn adamw() {
    // w = 1 * (1 - 0.1 * 0.5) = 0.95, then Adam's step of 0.1 (see adam.rs):
    // 0.85000006; w = 0.85000006 * 0.95 = 0.80750006, then Adam's second step
    // (+0.03661040): 0.84411040.
    assert_steps(
        "adamw",
        &mut Adam::new(AdamConfig::adamw(0.1, 0.5)),
        [0.850_000_063, 0.844_110_402],
    );
}
