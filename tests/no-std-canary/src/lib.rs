//! Links the core without `std`. Nothing here runs; building it is the test.
#![no_std]

use lambda_runtime_types as _;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}

#[cfg(feature = "alloc")]
mod dummy_alloc {
    use core::alloc::{GlobalAlloc, Layout};

    struct Never;

    // SAFETY: never hands out memory, so it can never be misused.
    unsafe impl GlobalAlloc for Never {
        unsafe fn alloc(&self, _: Layout) -> *mut u8 {
            core::ptr::null_mut()
        }
        unsafe fn dealloc(&self, _: *mut u8, _: Layout) {}
    }

    #[global_allocator]
    static ALLOC: Never = Never;
}
