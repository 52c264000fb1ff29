//! Training passes on every core: on rayon's pool, its other threads kept awake.
//!
//! Burn's CPU backend splits a large matrix product across rayon's pool. From a thread
//! outside the pool, each product is handed over and the caller sleeps until it is done,
//! and a pool thread left without work goes to sleep within microseconds. On a 2-core machine
//! waking them for every product cost more than splitting gained: `bench train` at batch
//! 4096 ran 1.05M samples/s against 1.55M on one thread. `on_pool` runs the whole pass on one
//! pool thread while the others spin, taking each product's halves as soon as they appear:
//! 1.64M. The spinning occupies those cores only while the pass runs. Work too small for
//! Burn to split can still use them: [`side_by_side`] runs two independent halves at once.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, Ordering};

thread_local! {
    /// Whether this thread is running a pass or spinning for one. A thread that picks up a
    /// spinner while it is (waiting inside a product, say) drops it: spinning there would
    /// stop the work below it on its own stack from finishing.
    static OCCUPIED: Cell<bool> = const { Cell::new(false) };
}

/// Smallest matrix product (rows × inner × columns) Burn's CPU backend splits across threads.
const SPLIT_PRODUCT: usize = 192 * 192 * 192;

/// Pause hints between a spinner's looks for work.
const SPIN_CYCLES: usize = 64;

/// Whether a pass over `batch` rows through layers at most `widest` wide multiplies matrices
/// large enough to be split.
pub fn large_products(batch: usize, widest: usize) -> bool {
    batch * widest * widest >= SPLIT_PRODUCT
}

/// Runs `work` on a thread of rayon's global pool while its other threads wait for work
/// spinning instead of sleeping; returns what `work` returns. A pool of one thread has no one
/// to spin, so `work` runs on the caller rather than pay a hand-over.
pub fn on_pool<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    if rayon::current_num_threads() == 1 {
        return work();
    }
    let done = AtomicBool::new(false);
    rayon::scope(|scope| {
        // Set even if `work` panics, so the spinners stop and the panic reaches the caller.
        let _release = Release { done: &done, outer: OCCUPIED.replace(true) };
        for _ in 1..rayon::current_num_threads() {
            scope.spawn(|_| spin(&done));
        }
        work()
    })
}

/// `a` and `b` side by side when called on a pool with other threads (inside [`on_pool`],
/// where they are awake), else one after the other: from outside the pool a `join` would
/// hand both over and sleep.
pub fn side_by_side<A: Send, B: Send>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B + Send) -> (A, B) {
    if rayon::current_thread_index().is_some() && rayon::current_num_threads() > 1 {
        rayon::join(a, b)
    } else {
        (a(), b())
    }
}

/// Runs pending pieces of work (halves of products) until `done`.
fn spin(done: &AtomicBool) {
    if OCCUPIED.replace(true) {
        return;
    }
    while !done.load(Ordering::Acquire) {
        if rayon::yield_now() != Some(rayon::Yield::Executed) {
            // Looking for work touches the other threads' queues: not on every cycle.
            for _ in 0..SPIN_CYCLES {
                std::hint::spin_loop();
            }
        }
    }
    OCCUPIED.set(false);
}

/// Ends a pass: releases the spinners and restores the thread's state.
struct Release<'a> {
    done: &'a AtomicBool,
    outer: bool,
}

impl Drop for Release<'_> {
    fn drop(&mut self) {
        OCCUPIED.set(self.outer);
        self.done.store(true, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_pool_returns_the_work_s_result_and_releases_the_spinners() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        let sum = pool.install(|| on_pool(|| (1..=100).sum::<u32>()));
        assert_eq!(sum, 5050);
        // A second pass would hang if the first one's spinners were still running.
        assert_eq!(pool.install(|| on_pool(|| 7)), 7);
    }

    #[test]
    fn a_panicking_pass_reaches_the_caller_instead_of_hanging() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        let outcome = pool.install(|| std::panic::catch_unwind(|| on_pool(|| panic!("bad batch"))));
        assert!(outcome.is_err());
    }

    #[test]
    fn side_by_side_returns_both_halves_in_a_pass_on_a_one_thread_pool_and_outside_any_pool() {
        let thread = || std::thread::current().id();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        let (a, b) = pool.install(|| on_pool(|| side_by_side(|| (thread(), 2), || (thread(), 3))));
        assert_eq!((a.1, b.1), (2, 3));
        let (a, b) = side_by_side(|| (thread(), 2), || (thread(), 3));
        assert_eq!((a, b), ((thread(), 2), (thread(), 3)), "outside a pool both run on the caller");
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
        assert_eq!(one.install(|| side_by_side(|| 2, || 3)), (2, 3));
        assert_eq!(one.install(|| on_pool(|| side_by_side(|| 2, || 3))), (2, 3));
    }
}
