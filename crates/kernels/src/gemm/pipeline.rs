//! Runs the blocks of a product on several threads with no wait for all of
//! them between one block and the next.
//!
//! A product is a sequence of blocks of B. Each block is packed (a number of
//! panels, each packed on its own) and then multiplied (a number of tasks,
//! each a region of C). Work items are taken in one fixed order from a
//! shared counter by every thread of the pool:
//!
//! ```text
//! pack 0 | pack 1, tasks of 0 | pack 2, tasks of 1 | ...
//! ```
//!
//! so a block's panels are packed by whichever threads come first, just
//! before the tasks of the block before it. An item waits only for what it
//! needs, each of which comes earlier in the order:
//! - a task waits for its block's panels, and, when its block continues the
//!   previous one (the next depth block of the same columns), for the same
//!   task of the previous block, which wrote the same tiles of C: so every
//!   element of C is still summed block after block, in the same order,
//!   whichever thread runs what;
//! - packing into one of the three buffers waits until the tasks of the
//!   block that last used it are done.
//!
//! Before, each block was a rayon parallel loop, and every thread waited at
//! its end for the slowest task and for the packing of the next block. On
//! this machine a thread is often held up for a moment by the hypervisor;
//! then the other one idled. Now it goes on to the next block's tasks.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::scratch::with_scratch;

/// One block of the product.
#[derive(Clone, Copy)]
pub struct Block {
    /// Panels to pack.
    pub panels: usize,
    /// Floats in one packed panel.
    pub panel_len: usize,
    /// Tasks that multiply it.
    pub tasks: usize,
    /// Whether its tasks add to the tiles of C that the same tasks of the
    /// previous block wrote (so must come after them).
    pub continues_previous: bool,
}

#[derive(Clone, Copy)]
enum Item {
    Pack { block: usize, panel: usize },
    Task { block: usize, task: usize },
}

/// Buffers that packed blocks rotate through: the one being multiplied,
/// the next one being packed, and the one before, whose last tasks may
/// still be running.
pub const BUFFERS: usize = 3;

/// A pointer to the packing buffers, shared by the threads.
#[derive(Clone, Copy)]
struct Shared(*mut f32);
// SAFETY: the threads write disjoint panels, and read a block only after
// all of its panels are written and before any is written again (see
// `run`).
unsafe impl Send for Shared {}
// SAFETY: as above.
unsafe impl Sync for Shared {}

impl Shared {
    /// The start of block `b`'s buffer (a method, so that closures capture
    /// the whole `Shared` rather than its raw pointer).
    fn block(self, b: usize, block_len: usize) -> *mut f32 {
        self.0.wrapping_add((b % BUFFERS) * block_len)
    }
}

/// Packs and multiplies blocks `0..count` (`block(b)` says what block `b`
/// is) on the current rayon pool's threads:
/// `pack(b, j, dst)` packs panel `j` of block `b` into `dst`, and
/// `task(b, t, packed)` runs task `t` of block `b` on its packed panels.
/// `buffer` holds [`BUFFERS`] blocks of `block_len` floats, each at least
/// `panels * panel_len` of every block.
pub fn run(
    count: usize,
    block: &(dyn Fn(usize) -> Block + Sync),
    buffer: &mut [f32],
    block_len: usize,
    pack: &(dyn Fn(usize, usize, &mut [f32]) + Sync),
    task: &(dyn Fn(usize, usize, &[f32]) + Sync),
) {
    assert!(buffer.len() >= BUFFERS * block_len);
    assert!((0..count).map(block).all(|b| b.panels * b.panel_len <= block_len));
    with_scratch(&SCRATCH, |scratch| {
        run_with(scratch, count, block, buffer, block_len, pack, task)
    })
}

/// The bookkeeping of one product: the items in order, where each block's
/// task flags start, and the counters and flags the items wait on. Kept per
/// thread and refilled for each product.
#[derive(Default)]
struct Scratch {
    items: Vec<Item>,
    first_flag: Vec<usize>,
    panels_packed: Vec<AtomicUsize>,
    tasks_finished: Vec<AtomicUsize>,
    task_done: Vec<AtomicBool>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

/// [`run`] with its bookkeeping in `scratch`.
#[allow(clippy::too_many_arguments)]
fn run_with(
    scratch: &mut Scratch,
    count: usize,
    block_at: &(dyn Fn(usize) -> Block + Sync),
    buffer: &mut [f32],
    block_len: usize,
    pack: &(dyn Fn(usize, usize, &mut [f32]) + Sync),
    task: &(dyn Fn(usize, usize, &[f32]) + Sync),
) {
    let Scratch {
        items,
        first_flag,
        panels_packed,
        tasks_finished,
        task_done,
    } = scratch;
    let pack_items = |b: usize| (0..block_at(b).panels).map(move |panel| Item::Pack { block: b, panel });
    items.clear();
    items.extend(pack_items(0));
    for b in 0..count {
        if b + 1 < count {
            items.extend(pack_items(b + 1));
        }
        items.extend((0..block_at(b).tasks).map(|task| Item::Task { block: b, task }));
    }
    // Where block b's task flags start in `task_done`.
    first_flag.clear();
    first_flag.extend((0..count).map(block_at).scan(0, |next, b| {
        let first = *next;
        *next += b.tasks;
        Some(first)
    }));
    let counters = |v: &mut Vec<AtomicUsize>| {
        v.clear();
        v.resize_with(count, || AtomicUsize::new(0));
    };
    counters(panels_packed);
    counters(tasks_finished);
    task_done.clear();
    task_done.resize_with((0..count).map(|b| block_at(b).tasks).sum(), || AtomicBool::new(false));
    let (items, first_flag, panels_packed, tasks_finished, task_done) =
        (&*items, &*first_flag, &*panels_packed, &*tasks_finished, &*task_done);
    let next_item = AtomicUsize::new(0);
    // Set when an item panics, so that the threads waiting for it stop
    // waiting (and panic too) instead of spinning for ever.
    let failed = AtomicBool::new(false);
    let wait = |ready: &dyn Fn() -> bool| wait_until(ready, &failed);
    let base = Shared(buffer.as_mut_ptr());
    let slot = move |b: usize| base.block(b, block_len);

    let worker = || {
        while let Some(&item) = items.get(next_item.fetch_add(1, Ordering::Relaxed)) {
            let _flag_a_panic = FlagPanic(&failed);
            match item {
                Item::Pack { block, panel } => {
                    if block >= BUFFERS {
                        let last_user = block - BUFFERS;
                        let tasks = block_at(last_user).tasks;
                        wait(&|| tasks_finished[last_user].load(Ordering::Acquire) == tasks);
                    }
                    let len = block_at(block).panel_len;
                    // SAFETY: the panel lies inside this block's buffer
                    // (asserted above); no other item writes it, and no task
                    // reads this buffer until every panel of the block is
                    // packed: the tasks of the block that used it before are
                    // finished (just waited for) and this block's tasks wait
                    // for `panels_packed`.
                    let dst = unsafe { std::slice::from_raw_parts_mut(slot(block).add(panel * len), len) };
                    pack(block, panel, dst);
                    panels_packed[block].fetch_add(1, Ordering::Release);
                }
                Item::Task { block, task: t } => {
                    let blk = block_at(block);
                    wait(&|| panels_packed[block].load(Ordering::Acquire) == blk.panels);
                    if blk.continues_previous {
                        let before = &task_done[first_flag[block - 1] + t];
                        wait(&|| before.load(Ordering::Acquire));
                    }
                    // SAFETY: every panel of this block is packed (waited for
                    // above), and none of this buffer is written again
                    // until every task of this block has finished.
                    let packed = unsafe { std::slice::from_raw_parts(slot(block), blk.panels * blk.panel_len) };
                    task(block, t, packed);
                    task_done[first_flag[block] + t].store(true, Ordering::Release);
                    tasks_finished[block].fetch_add(1, Ordering::Release);
                }
            }
        }
    };
    // Every item waits only for earlier items, each already taken by a
    // thread that is running it, so the loop cannot deadlock; a worker that
    // no other thread picks up is run by this one at the end of its join,
    // finding no items left. Joins rather than a scope's spawns, which
    // allocate a job each.
    workers(rayon::current_num_threads(), &worker);
}

/// Runs `n` copies of `worker`, as a tree of `rayon::join`s.
fn workers(n: usize, worker: &(dyn Fn() + Sync)) {
    if n <= 1 {
        worker();
    } else {
        rayon::join(|| workers(n / 2, worker), || workers(n - n / 2, worker));
    }
}

/// Spins briefly, then yields, until `ready` holds: the waits are short
/// (another thread finishing one item) unless that thread lost its core.
/// Panics if an item panicked, as what is waited for may never come.
fn wait_until(ready: &dyn Fn() -> bool, failed: &AtomicBool) {
    let mut spins = 0u32;
    while !ready() {
        assert!(!failed.load(Ordering::Relaxed), "another part of the product panicked");
        if spins < 64 {
            spins += 1;
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
}

/// Sets its flag if dropped while its thread unwinds from a panic.
struct FlagPanic<'a>(&'a AtomicBool);

impl Drop for FlagPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// On many threads, every task sees its own block's panels (not the
    /// next block's, packed into a reused buffer too early), and the tasks
    /// that continue a block run after the same task of the block before.
    #[test]
    fn tasks_see_their_own_block_and_follow_the_previous_one() {
        const PANEL: usize = 64;
        // Two groups of columns, the second four depth blocks long, so
        // buffers are reused while tasks of earlier blocks may still run.
        let continues = [false, true, true, false, true, true, true];
        let blocks: Vec<Block> = continues
            .iter()
            .map(|&continues_previous| Block {
                panels: 3,
                panel_len: PANEL,
                tasks: 5,
                continues_previous,
            })
            .collect();
        let block_len = 3 * PANEL;
        let value = |b: usize, j: usize, i: usize| (b * 1000 + j * 100 + i) as f32;
        for _ in 0..50 {
            let order: Vec<Mutex<Vec<usize>>> = (0..5).map(|_| Mutex::new(Vec::new())).collect();
            let pack = |b: usize, j: usize, dst: &mut [f32]| {
                for (i, x) in dst.iter_mut().enumerate() {
                    *x = value(b, j, i);
                    if i % 16 == 0 {
                        std::thread::yield_now(); // widen any race window
                    }
                }
            };
            let task = |b: usize, t: usize, packed: &[f32]| {
                std::thread::yield_now();
                for (k, &x) in packed.iter().enumerate() {
                    assert_eq!(x, value(b, k / PANEL, k % PANEL), "block {b} read a panel not its own");
                }
                order[t].lock().unwrap().push(b);
            };
            let mut buffer = vec![0.0; BUFFERS * block_len];
            let pool = rayon::ThreadPoolBuilder::new().num_threads(8).build().unwrap();
            pool.install(|| run(blocks.len(), &|b| blocks[b], &mut buffer, block_len, &pack, &task));
            for (t, seen) in order.iter().enumerate() {
                let seen = seen.lock().unwrap();
                let mut sorted = seen.clone();
                sorted.sort_unstable();
                assert_eq!(
                    sorted,
                    (0..blocks.len()).collect::<Vec<_>>(),
                    "task {t} ran once per block"
                );
                let at = |b| seen.iter().position(|&x| x == b).unwrap();
                for (b, _) in continues.iter().enumerate().filter(|(_, c)| **c) {
                    assert!(at(b - 1) < at(b), "task {t} of block {b} ran before block {}", b - 1);
                }
            }
        }
    }
}
