//! Resuming: a run stopped after a record and continued with `fit_from`
//! from that record's snapshot (model, optimiser state, generators,
//! progress) ends bit for bit where the uninterrupted run ends; leaving
//! out any piece of the snapshot changes the result.

use mnist_io::Subset;
use mnist_train::{
    ActivationKind, Callback, Control, Data, FitConfig, History, Length, ModelSpec, OptimizerKind, OptimizerSpec,
    Progress, Snapshot, fit, fit_from,
};
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

/// 300 random 16-pixel examples, labelled by which quarter holds the most ink.
fn data() -> Subset {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    let pixels: Vec<u8> = (0..300 * 16).map(|_| rng.random()).collect();
    let labels = pixels
        .chunks(16)
        .map(|x| {
            let sums: Vec<u32> = x.chunks(4).map(|q| q.iter().map(|&p| p as u32).sum()).collect();
            (0..4).max_by_key(|&i| sums[i]).unwrap() as u8
        })
        .collect();
    Subset::with_width(pixels, labels, 16)
}

fn spec() -> ModelSpec {
    ModelSpec {
        hidden: vec![32, 32],
        activation: ActivationKind::Relu,
        dropout: 0.3,
        batch_norm: true,
        ..ModelSpec::default()
    }
}

fn config(length: Length) -> FitConfig {
    let config = FitConfig {
        batch_size: 32,
        schedule: optim::Schedule::Exponential { gamma: 0.9 },
        report_train: true,
        report_validation: Some(false),
        report_test: Some(false),
        ..FitConfig::default()
    };
    match length {
        Length::Epochs(epochs) => FitConfig {
            epochs: Some(epochs),
            ..config
        },
        Length::Steps {
            steps,
            with_replacement,
            report_every,
        } => FitConfig {
            steps: Some(steps),
            with_replacement,
            report_every: Some(report_every),
            ..config
        },
    }
}

fn adam() -> Box<dyn optim::Optimizer> {
    OptimizerSpec {
        optimizer: OptimizerKind::Adam,
        lr: 0.01,
        ..OptimizerSpec::default()
    }
    .build()
    .unwrap()
}

/// What a checkpoint file holds, kept in memory.
#[derive(Clone)]
struct Saved {
    tensors: Vec<Vec<f32>>,
    optimizer: optim::NamedState,
    rng: Xoshiro256PlusPlus,
    dropout: Vec<Xoshiro256PlusPlus>,
    progress: Progress,
}

/// Keeps the snapshot taken after record `at`.
struct KeepAt {
    at: usize,
    saved: Option<Saved>,
}

impl Callback for KeepAt {
    fn checkpoint(&mut self, s: &mut Snapshot<'_>) -> Control {
        if s.progress.history.records.len() == self.at {
            let mut tensors = Vec::new();
            s.net.model.visit_named(&mut |_, _, v| tensors.push(v.to_vec()));
            let mut dropout = Vec::new();
            s.net.model.visit_rngs(&mut |_, rng| dropout.push(rng.clone()));
            self.saved = Some(Saved {
                tensors,
                optimizer: s.optimizer.save_state(),
                rng: s.rng.clone(),
                dropout,
                progress: s.progress.clone(),
            });
        }
        Control::Continue
    }
}

/// The final parameters and history of a run, whole or resumed from `saved`.
fn run(length: Length, saved: Option<&Saved>, keep_at: usize) -> (Vec<Vec<f32>>, History, Option<Saved>) {
    let train = data();
    let empty = Subset::with_width(Vec::new(), Vec::new(), 16);
    let sets = Data {
        train: &train,
        validation: &empty,
        test: &empty,
    };
    // A different seed for the resumed run: everything must come from the snapshot.
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(if saved.is_some() { 99 } else { 1 });
    let mut net = spec().classifier_for(16, 4, &mut rng).unwrap();
    let mut optimizer = adam();
    let mut keep = KeepAt {
        at: keep_at,
        saved: None,
    };
    let config = config(length);
    let history = match saved {
        None => fit(&mut net, optimizer.as_mut(), &sets, &config, &mut rng, &mut [&mut keep]),
        Some(s) => {
            let mut tensors = s.tensors.iter();
            net.model
                .visit_named(&mut |_, _, v| v.copy_from_slice(tensors.next().unwrap()));
            let mut dropout = s.dropout.iter();
            net.model
                .visit_rngs(&mut |_, rng| *rng = dropout.next().unwrap().clone());
            optimizer.load_state(&s.optimizer).unwrap();
            rng = s.rng.clone();
            fit_from(
                &mut net,
                optimizer.as_mut(),
                &sets,
                &config,
                &mut rng,
                s.progress.clone(),
                &mut [&mut keep],
            )
        }
    }
    .unwrap();
    let mut tensors = Vec::new();
    net.model.visit_named(&mut |_, _, v| tensors.push(v.to_vec()));
    (tensors, history, keep.saved)
}

/// The history without its clock.
fn figures(history: &History) -> Vec<(usize, usize, u64, f64)> {
    history
        .records
        .iter()
        .map(|r| (r.epoch, r.step, r.cost.to_bits(), r.train.unwrap().accuracy))
        .collect()
}

const LENGTHS: [Length; 3] = [
    Length::Epochs(5),
    Length::Steps {
        steps: 70,
        with_replacement: false,
        report_every: 15,
    },
    Length::Steps {
        steps: 70,
        with_replacement: true,
        report_every: 15,
    },
];

#[test]
fn a_resumed_run_ends_bit_for_bit_where_the_whole_run_ends() {
    for length in LENGTHS {
        for at in [1, 2] {
            let (whole, whole_history, saved) = run(length, None, at);
            let saved = saved.expect("a snapshot after the record");
            assert_ne!(saved.tensors, whole, "{length:?}: the snapshot is not the end");
            let (resumed, resumed_history, _) = run(length, Some(&saved), 0);
            assert!(
                resumed == whole,
                "{length:?} from record {at}: resumed parameters differ"
            );
            assert_eq!(figures(&resumed_history), figures(&whole_history), "{length:?}");
        }
    }
}

/// Spoils one piece of a snapshot.
type Breakage = Box<dyn Fn(&mut Saved)>;

#[test]
fn every_piece_of_the_snapshot_matters() {
    // After 15 steps of 10 per epoch: the sampler is mid-epoch.
    let length = LENGTHS[1];
    let (whole, _, saved) = run(length, None, 1);
    let saved = saved.unwrap();
    let breakages: [(&str, Breakage); 4] = [
        (
            "optimizer's moments",
            Box::new(|s| {
                for (name, values) in &mut s.optimizer {
                    if name != "adam.step" {
                        values.fill(0.0);
                    }
                }
            }),
        ),
        (
            "training generator",
            Box::new(move |s| s.rng = Xoshiro256PlusPlus::seed_from_u64(5)),
        ),
        (
            "dropout generators",
            Box::new(move |s| {
                for rng in &mut s.dropout {
                    *rng = Xoshiro256PlusPlus::seed_from_u64(6);
                }
            }),
        ),
        (
            "sampler",
            Box::new(|s| s.progress.sampler = mnist_train::batches::Sampler::epochs()),
        ),
    ];
    for (what, breakage) in breakages {
        let mut broken = saved.clone();
        breakage(&mut broken);
        let (resumed, _, _) = run(length, Some(&broken), 0);
        assert!(resumed != whole, "without the {what} the run still ends the same");
    }
}
