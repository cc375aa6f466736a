//! The fit loop on XOR's four points: it learns with a binary head, it is
//! deterministic, records land where the length says, and early stopping
//! stops and restores.

use mnist_io::Subset;
use mnist_train::{
    ActivationKind, Batch, Data, EarlyStopping, FitConfig, History, InitKind, ModelSpec, OptimizerKind, OptimizerSpec,
    OutputKind, evaluate, fit,
};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

fn xor(labels: [u8; 4]) -> Subset {
    Subset::with_width(vec![0, 0, 0, 255, 255, 0, 255, 255], labels.to_vec(), 2)
}

fn spec(hidden: Vec<usize>) -> ModelSpec {
    ModelSpec {
        hidden,
        activation: ActivationKind::Sigmoid,
        output: OutputKind::Sigmoid,
        init: Some(InitKind::Uniform),
        bias_init: Some(InitKind::Zeros),
        init_std: 1.0,
        ..ModelSpec::default()
    }
}

fn sgd() -> Box<dyn optim::Optimizer> {
    sgd_with(1.0)
}

fn sgd_with(lr: f32) -> Box<dyn optim::Optimizer> {
    OptimizerSpec {
        optimizer: OptimizerKind::Sgd,
        lr,
        ..OptimizerSpec::default()
    }
    .build()
    .unwrap()
}

fn config(steps: usize, report_every: usize) -> FitConfig {
    FitConfig {
        steps: Some(steps),
        report_every: Some(report_every),
        batch_size: 4,
        report_train: true,
        report_validation: Some(true),
        report_test: Some(true),
        ..FitConfig::default()
    }
}

fn train_xor(seed: u64, hidden: Vec<usize>, steps: usize, validation: &Subset) -> (History, f64) {
    let data = xor([0, 1, 1, 0]);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut net = spec(hidden).classifier_for(2, 2, &mut rng).unwrap();
    let mut optimizer = sgd();
    let sets = Data {
        train: &data,
        validation,
        test: &data,
    };
    let history = fit(
        &mut net,
        optimizer.as_mut(),
        &sets,
        &config(steps, 500),
        &mut rng,
        &mut [],
    )
    .unwrap();
    let accuracy = evaluate(&mut net, &data, &mut Batch::default()).unwrap().accuracy;
    (history, accuracy)
}

#[test]
fn a_binary_classifier_learns_xor() {
    // Four sigmoid units and a large step: XOR is learnt from almost any
    // start (a 2-unit net, the ladder's E1, gets stuck for a third of seeds).
    let empty = Subset::default();
    let learnt = (1..=10)
        .filter(|&seed| train_xor(seed, vec![4], 3000, &empty).1 == 1.0)
        .count();
    assert!(learnt >= 9, "{learnt} of 10 seeds learnt XOR");
    let (history, _) = train_xor(1, vec![4], 3000, &empty);
    let first = history.records.first().unwrap().cost;
    let last = history.records.last().unwrap().cost;
    assert!(last < 0.05 && last < first / 5.0, "cost {first} -> {last}");
}

#[test]
fn the_same_seed_gives_the_same_history() {
    let empty = Subset::default();
    let strip = |h: History| -> Vec<(f64, Option<f64>)> {
        h.records.iter().map(|r| (r.cost, r.test.map(|m| m.loss))).collect()
    };
    let a = strip(train_xor(7, vec![3], 1000, &empty).0);
    let b = strip(train_xor(7, vec![3], 1000, &empty).0);
    let c = strip(train_xor(8, vec![3], 1000, &empty).0);
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn records_fall_every_report_and_at_the_end() {
    let empty = Subset::default();
    let (history, _) = train_xor(1, vec![2], 1200, &empty);
    let steps: Vec<usize> = history.records.iter().map(|r| r.step).collect();
    assert_eq!(steps, vec![500, 1000, 1200]);
    assert!(
        history.records.iter().all(|r| r.validation.is_none()),
        "no validation data"
    );
    assert!(history.records.iter().all(|r| r.train.is_some() && r.test.is_some()));
    assert!(!history.stopped_early);
}

#[test]
fn early_stopping_stops_and_restores_the_best_model() {
    // Validation labels are XOR's opposite: the better the net learns XOR,
    // the worse it does there, so the best record is the first.
    let data = xor([0, 1, 1, 0]);
    let opposite = xor([1, 0, 0, 1]);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    let mut net = spec(vec![4]).classifier_for(2, 2, &mut rng).unwrap();
    let mut optimizer = sgd();
    let sets = Data {
        train: &data,
        validation: &opposite,
        test: &data,
    };
    let mut stopping = EarlyStopping::new(2);
    let history = fit(
        &mut net,
        optimizer.as_mut(),
        &sets,
        &config(20_000, 500),
        &mut rng,
        &mut [&mut stopping],
    )
    .unwrap();
    assert!(history.stopped_early);
    let losses: Vec<f64> = history.records.iter().map(|r| r.validation.unwrap().loss).collect();
    let best = losses.iter().copied().fold(f64::INFINITY, f64::min);
    let best_at = losses.iter().position(|&l| l == best).unwrap();
    assert_eq!(
        history.records.len(),
        best_at + 3,
        "stops two records after the best: {losses:?}"
    );
    let now = evaluate(&mut net, &opposite, &mut Batch::default()).unwrap().loss;
    assert_eq!(now, best, "the best model is back");
    assert_eq!(stopping.best().unwrap().0, best_at + 1);
}

/// Counts what `Callback::diverged` hears, and asks to stop when told to.
struct Watch {
    heard: Vec<mnist_train::Divergence>,
    stop: bool,
}

impl mnist_train::Callback for Watch {
    fn diverged(&mut self, divergence: &mnist_train::Divergence) -> mnist_train::Control {
        self.heard.push(*divergence);
        if self.stop {
            mnist_train::Control::Stop
        } else {
            mnist_train::Control::Continue
        }
    }
}

/// A step far too large makes the cost NaN: the history says at which step
/// and epoch, callbacks hear it once, and one that asks to stop ends the run
/// at the end of that stretch, its record written.
#[test]
fn divergence_is_reported_once_and_can_stop_the_run() {
    let data = xor([0, 1, 1, 0]);
    let sets = Data {
        train: &data,
        validation: &data,
        test: &data,
    };
    let relu = ModelSpec {
        hidden: vec![8],
        output: OutputKind::Softmax,
        init: Some(InitKind::He),
        bias_init: Some(InitKind::Zeros),
        ..ModelSpec::default()
    };
    let run = |lr: f32, stop: bool| {
        let config = config(40, 10);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let mut net = relu.classifier_for(2, 2, &mut rng).unwrap();
        let mut optimizer = sgd_with(lr);
        let mut watch = Watch {
            heard: Vec::new(),
            stop,
        };
        let history = fit(
            &mut net,
            optimizer.as_mut(),
            &sets,
            &config,
            &mut rng,
            &mut [&mut watch],
        )
        .unwrap();
        (history, watch.heard)
    };
    let (history, heard) = run(1e30, false);
    let divergence = history.diverged.expect("the run diverged");
    assert_eq!(heard, [divergence], "heard once");
    assert!(divergence.step <= 10 && divergence.epoch == 1, "{divergence:?}");
    assert!(history.records[0].cost.is_nan());
    assert_eq!(history.records.len(), 4, "trained on to its end");

    let (stopped, heard) = run(1e30, true);
    assert_eq!(heard, [divergence]);
    assert_eq!(stopped.records.len(), 1, "stopped after the stretch it diverged in");
    assert!(stopped.stopped_early);

    // A run that does not diverge says so.
    let (calm, heard) = run(0.1, false);
    assert_eq!((calm.diverged, heard.len()), (None, 0));
}

/// A schedule by step sets the rate before every step, by epochs as by
/// steps: each record keeps its stretch's last rate (one cycle over 10
/// steps, 2 rising: 0.5, 1, then down by eighths), and the optimiser gets
/// its own rate back at the end (3 epochs of 4 steps: 2.4 rounds to 2 rising,
/// then tenths down).
#[test]
fn a_schedule_by_step_moves_the_rate_every_step() {
    let data = xor([0, 1, 1, 0]);
    let empty = Subset::default();
    let sets = Data {
        train: &data,
        validation: &empty,
        test: &data,
    };
    let cycle = optim::Schedule::OneCycle { warmup: 0.2 };
    let by_steps = FitConfig {
        schedule: cycle,
        ..config(10, 1)
    };
    // Batches of one: an epoch of XOR is 4 steps, so 3 epochs are 12.
    let by_epochs = FitConfig {
        schedule: cycle,
        epochs: Some(3),
        batch_size: 1,
        report_validation: Some(false),
        ..FitConfig::default()
    };
    for (config, want) in [
        (
            by_steps,
            vec![0.5, 1.0, 1.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125],
        ),
        (by_epochs, vec![0.9, 0.5, 0.1]),
    ] {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        let mut net = spec(vec![2]).classifier_for(2, 2, &mut rng).unwrap();
        let mut optimizer = sgd();
        let history = fit(&mut net, optimizer.as_mut(), &sets, &config, &mut rng, &mut []).unwrap();
        let rates: Vec<f32> = history.records.iter().map(|r| r.learning_rate).collect();
        assert_eq!(rates.len(), want.len());
        for (got, want) in rates.iter().zip(&want) {
            assert!((got - want).abs() < 1e-6, "{rates:?}");
        }
        assert_eq!(optimizer.learning_rate(), 1.0);
    }
}
