//! The WAL bound, in a test binary of its own: it measures the WAL's size
//! against a writer and readers that take turns with the checkpoint in
//! real time, so it must not share two cores with the conformance suite's
//! other tests (under that load a reader's 2 ms snapshot outlasts the
//! checkpoint's waits and the run measures the scheduler, not the cap).
//! Cargo runs test binaries one after another.

#[path = "engine/bounds.rs"]
mod bounds;
