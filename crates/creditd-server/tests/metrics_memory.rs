//! The metrics recorder's memory does not grow with traffic when nobody
//! scrapes `/metrics`. Its own binary: it counts every live heap byte of
//! the process, which other tests running beside it would disturb.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Duration;

use axum::http::{Method, StatusCode};

struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(new_size as isize - layout.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn hits(n: usize) {
    let routes = [Some("/api/organizations/{org_id}/holds"), Some("/healthz"), None];
    for i in 0..n {
        let route = routes[i % routes.len()];
        let elapsed = Duration::from_micros((i % 5000) as u64);
        creditd_server::ops::record_request(route, &Method::POST, StatusCode::CREATED, elapsed);
    }
}

/// 200,000 requests with no scrape: the recorder holds the same few
/// bucketed series after them as after the first thousands. Before
/// [`creditd_server::ops::upkeep`] ran on its own, every latency sample
/// stayed buffered until a render (about 1.6 MB here, growing forever).
#[test]
fn recorder_memory_is_bounded_without_scrapes() {
    assert!(creditd_server::ops::recorder().is_some());
    hits(10_000); // every series exists, every buffer at its high-water mark
    let start = LIVE_BYTES.load(Ordering::Relaxed);
    let mut growth = Vec::new();
    for _ in 0..4 {
        hits(50_000);
        growth.push(LIVE_BYTES.load(Ordering::Relaxed) - start);
    }
    // One upkeep interval of samples (1,024 × 8 bytes) plus slack for the
    // sample buffers' block reuse; far below 50,000 samples (400 KB).
    for g in &growth {
        assert!(*g < 64 * 1024, "live heap grew by {g} bytes after requests with no scrape: {growth:?}");
    }
    // And what is rendered is the buckets, whatever the count.
    let text = creditd_server::ops::recorder().unwrap().render();
    assert!(text.contains(r#"creditd_http_request_duration_seconds_count{route="/healthz",method="POST"} "#), "{text}");
}
