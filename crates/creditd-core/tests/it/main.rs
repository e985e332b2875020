//! The core's one integration-test binary: the ledger rules (`ledger`) and
//! plans, periods and conversations (`plans`), each a module of its own.

mod ledger;
mod plans;
mod prices;
mod reversal;
mod topup;
