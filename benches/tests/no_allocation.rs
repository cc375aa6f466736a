//! A training step allocates nothing once the first steps have sized every
//! buffer: the GEMM's packing buffers and bookkeeping, im2col's padded
//! rows and the layers' caches are all kept and reused. (rayon's
//! work-stealing deques allocate now and then, about once in five steps on
//! their own, which is what the bound below allows for.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use optim::{Adam, AdamConfig};

/// Counts every allocation and reallocation, on every thread.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as the caller's contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as the caller's contract.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as the caller's contract.
        unsafe { System.realloc(ptr, layout, size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The only test of this file, so that no other test allocates meanwhile.
#[test]
fn training_steps_do_not_allocate() {
    const STEPS: usize = 20;
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        for (name, mut net, x) in [
            ("mlp", benches::nets::mlp(1), benches::nets::pixels(&[100, 784])),
            ("cnn", benches::nets::cnn(1), benches::nets::pixels(&[50, 28, 28, 1])),
        ] {
            let labels: Vec<u8> = (0..x.rows()).map(|i| (i % 10) as u8).collect();
            let mut adam = Adam::new(AdamConfig::tensorflow(1e-4));
            let allocations = pool.install(|| {
                for _ in 0..3 {
                    train::train_step(&mut net, &x, &labels, &mut adam, None).unwrap();
                }
                let before = ALLOCATIONS.load(Ordering::Relaxed);
                for _ in 0..STEPS {
                    train::train_step(&mut net, &x, &labels, &mut adam, None).unwrap();
                }
                ALLOCATIONS.load(Ordering::Relaxed) - before
            });
            assert!(
                allocations <= STEPS / 2,
                "{name} on {threads} threads: {allocations} allocations in {STEPS} steps"
            );
        }
    }
}
