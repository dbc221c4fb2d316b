//! A counting global allocator: how much one input made the code under test allocate.
//!
//! Install it in a binary or test with `#[global_allocator] static A: CountingAlloc =
//! CountingAlloc;` and wrap each input in [`measure`]. The counts are per thread (the targets are
//! single-threaded), so tests running in parallel do not see each other's allocations.
//!
//! A single request above [`HARD_LIMIT`] bytes is refused outright (the process then aborts with
//! Rust's "memory allocation failed" message): an allocation that large can only come from a
//! length the network chose, and the fuzzer would rather stop than swap.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The largest single allocation granted, in bytes (1 GiB).
pub const HARD_LIMIT: usize = 1 << 30;

/// What one [`measure`]d call allocated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// The most bytes live at once during the call, above what was live when it started.
    pub peak: usize,
    /// Bytes requested in all, frees not subtracted.
    pub total: usize,
    /// How many allocations (and reallocations) were made.
    pub count: usize,
}

thread_local! {
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
    static TOTAL: Cell<usize> = const { Cell::new(0) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

fn note(grow: isize, requested: usize) {
    // `try_with`: allocations made while the thread's locals are torn down are not counted.
    let _ = LIVE.try_with(|live| {
        let now = live.get() + grow;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
    if requested > 0 {
        let _ = TOTAL.try_with(|t| t.set(t.get().saturating_add(requested)));
        let _ = COUNT.try_with(|c| c.set(c.get() + 1));
    }
}

/// The system allocator, counting.
#[derive(Clone, Copy, Debug, Default)]
pub struct CountingAlloc;

// The one place with `unsafe`: a `GlobalAlloc` cannot be written without it. Every call is
// forwarded to `System` with the caller's own arguments; the wrapper only counts.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > HARD_LIMIT {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded as received; `layout` satisfies `alloc`'s contract per our caller.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            note(layout.size() as isize, layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > HARD_LIMIT {
            return std::ptr::null_mut();
        }
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            note(layout.size() as isize, layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout` (we hand out only its blocks).
        unsafe { System.dealloc(ptr, layout) };
        note(-(layout.size() as isize), 0);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > HARD_LIMIT {
            return std::ptr::null_mut();
        }
        // SAFETY: `ptr` and `layout` come from a `System` allocation, as for `dealloc`.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            note(new_size as isize - layout.size() as isize, new_size);
        }
        p
    }
}

/// Runs `f` and returns what it allocated on this thread (with [`CountingAlloc`] installed as
/// the global allocator; without it every count is 0).
pub fn measure<R>(f: impl FnOnce() -> R) -> (R, Usage) {
    let start = LIVE.with(Cell::get);
    PEAK.with(|p| p.set(start));
    let total = TOTAL.with(Cell::get);
    let count = COUNT.with(Cell::get);
    let r = f();
    let usage = Usage {
        peak: usize::try_from(PEAK.with(Cell::get) - start).unwrap_or(0),
        total: TOTAL.with(Cell::get) - total,
        count: COUNT.with(Cell::get) - count,
    };
    (r, usage)
}
