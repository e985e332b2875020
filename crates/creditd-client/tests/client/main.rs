//! The client's one test binary. Live tests start a real `creditd serve`
//! (see `common`); `coverage` holds the client's operation table against
//! `openapi.json`; `retries` drives the retry policy with a loopback server
//! that misbehaves on purpose.

mod common;
mod coverage;
mod history;
mod ledger;
mod others;
mod readme;
mod retries;
mod webhooks;
