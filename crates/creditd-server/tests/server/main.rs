//! The server's integration tests, one binary: the real app end to end
//! (the HTTP API, roles and sign-in, plans, the history and its downloads,
//! the dashboard, operations, the OpenAPI contract, webhooks), every module
//! starting its servers through [`common::Server`].
//!
//! `tests/metrics_memory.rs` stays a binary of its own: it installs a
//! counting global allocator and measures every live heap byte of the
//! process, which other tests running beside it would disturb.

mod common;

mod api;
mod dashboard;
mod funding;
mod history;
mod money_in;
mod openapi;
mod ops;
mod plans;
mod prices;
mod roles;
mod statements;
mod topup;
mod tryout;
mod webhooks;
