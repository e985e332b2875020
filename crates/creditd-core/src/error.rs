//! Every refusal the ledger can answer, and the one list of error codes.
//!
//! It exists so that an error code is a fact stated once: [`ErrorCode`] lists
//! every code the API can answer with its stable string and HTTP status, and
//! the core, the store and the server all name codes through it. The core has
//! no HTTP crate, so the status is a plain `u16`. Errors only: the checked
//! arithmetic that returns them is in `effects`.

use jiff::Timestamp;

use crate::money::Micros;

macro_rules! error_codes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal, $status:literal;)+) => {
        /// A stable, machine-readable error code with the HTTP status it is
        /// answered with. Clients match on [`ErrorCode::as_str`]; the strings
        /// never change once released.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ErrorCode {
            $($(#[$doc])* $variant),+
        }

        impl ErrorCode {
            /// Every code, in the order listed.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),+];

            /// The code's stable string (the `code` of the API's error shape).
            pub const fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code),+ }
            }

            /// The HTTP status the code is answered with.
            pub const fn status(self) -> u16 {
                match self { $(ErrorCode::$variant => $status),+ }
            }
        }

        impl std::str::FromStr for ErrorCode {
            type Err = ();
            fn from_str(s: &str) -> Result<ErrorCode, ()> {
                match s { $($code => Ok(ErrorCode::$variant),)+ _ => Err(()) }
            }
        }
    };
}

error_codes! {
    /// The request is well-formed but a value breaks a rule.
    ValidationError = "validation_error", 422;
    /// A debit, usage or hold asks for more than is available.
    InsufficientCredits = "insufficient_credits", 409;
    /// No open or settled hold has that id.
    HoldNotFound = "hold_not_found", 404;
    /// The hold was already debited, released or timed out.
    HoldAlreadySettled = "hold_already_settled", 409;
    /// The hold ran past its time and was released.
    HoldExpired = "hold_expired", 409;
    /// A debit larger than its hold.
    DebitExceedsHold = "debit_exceeds_hold", 422;
    /// No purchase has that id.
    PurchaseNotFound = "purchase_not_found", 404;
    /// The purchase has already succeeded or failed.
    PurchaseAlreadySettled = "purchase_already_settled", 409;
    /// Only a succeeded purchase can be reversed (not a processing or
    /// failed one).
    PurchaseNotReversible = "purchase_not_reversible", 409;
    /// The purchase has already been reversed (at most once).
    PurchaseAlreadyReversed = "purchase_already_reversed", 409;
    /// A refund names neither a debited hold nor a usage.
    RefundTargetNotFound = "refund_target_not_found", 404;
    /// The refund's target cannot be refunded.
    NotRefundable = "not_refundable", 409;
    /// A refund larger than what is still refundable.
    RefundExceedsConsumed = "refund_exceeds_consumed", 422;
    /// An amount or time out of the representable range.
    AmountOverflow = "amount_overflow", 422;
    /// An identity started its monthly number of conversations.
    ConversationLimitReached = "conversation_limit_reached", 409;
    /// The month already has the plan's number of identities.
    IdentityLimitReached = "identity_limit_reached", 409;
    /// A spending cap would be exceeded.
    CapExceeded = "cap_exceeded", 409;
    /// An operation names a price its organisation's price book lacks (or
    /// the organisation has no price book).
    UnknownPrice = "unknown_price", 422;
    /// A parent that would make a cycle or a fourth level of organisations.
    OrgTreeInvalid = "org_tree_invalid", 409;
    /// A transfer between organisations that are not parent and child or
    /// siblings.
    OrgsNotRelated = "orgs_not_related", 422;
    /// The state broke one of the ledger's invariants; nothing was stored.
    BrokenInvariant = "broken_invariant", 500;
    /// The organisation, member, key, endpoint or route does not exist.
    NotFound = "not_found", 404;
    /// Something with that id already exists.
    AlreadyExists = "already_exists", 409;
    /// An idempotency key reused with a different request.
    IdempotencyConflict = "idempotency_conflict", 409;
    /// A stored record that cannot be read back.
    RecordUnreadable = "record_unreadable", 409;
    /// The writer queue is full.
    Overloaded = "overloaded", 503;
    /// The store is shutting down.
    ShuttingDown = "shutting_down", 503;
    /// The storage failed; the request was not applied.
    StorageError = "storage_error", 500;
    /// The last owner of an organisation cannot go.
    LastOwner = "last_owner", 409;
    /// The organisation has its maximum number of webhook endpoints.
    TooManyEndpoints = "too_many_endpoints", 409;
    /// No or an unknown API key or session.
    Unauthorized = "unauthorized", 401;
    /// The caller's role does not allow this.
    Forbidden = "forbidden", 403;
    /// A session request without its CSRF token.
    CsrfFailed = "csrf_failed", 403;
    /// A sign-in link that is unknown, used or expired.
    LoginLinkInvalid = "login_link_invalid", 410;
    /// A body that is not JSON.
    InvalidJson = "invalid_json", 400;
    /// A body that could not be read.
    InvalidBody = "invalid_body", 400;
    /// A body over the size limit.
    PayloadTooLarge = "payload_too_large", 413;
    /// A body that is not sent as JSON.
    UnsupportedMediaType = "unsupported_media_type", 415;
    /// A route that does not take that method.
    MethodNotAllowed = "method_not_allowed", 405;
    /// A body that did not arrive in time.
    RequestTimeout = "request_timeout", 408;
    /// Too many exports are running.
    TooManyExports = "too_many_exports", 429;
    /// The store is not reachable.
    NotReady = "not_ready", 503;
    /// No metrics recorder is installed.
    MetricsUnavailable = "metrics_unavailable", 503;
    /// The node that writes the organisation (its home) took the write and
    /// did not answer: it may or may not have been applied.
    PeerUnavailable = "peer_unavailable", 503;
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refusal. Nothing persisted has changed when one is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// More was asked than is available (including the overdraft limit).
    #[error("insufficient credits: {requested} requested, {available} available")]
    InsufficientCredits {
        /// What could be spent.
        available: Micros,
        /// What was asked.
        requested: Micros,
    },
    /// No hold has that id.
    #[error("hold {0} not found")]
    HoldNotFound(String),
    /// The hold is no longer open.
    #[error("hold {hold_id} is already {status}")]
    HoldAlreadySettled {
        /// The hold.
        hold_id: String,
        /// How it was settled (`debited`, `released`, ...).
        status: &'static str,
    },
    /// The hold timed out before this settle arrived.
    #[error("hold {hold_id} timed out at {expired_at} and its credits were released; hold again to go on")]
    HoldExpired {
        /// The hold.
        hold_id: String,
        /// When it timed out.
        expired_at: Timestamp,
    },
    /// A debit larger than the amount held.
    #[error("debit of {requested} exceeds the {held} held by hold {hold_id}")]
    DebitExceedsHold {
        /// The hold.
        hold_id: String,
        /// What it holds.
        held: Micros,
        /// What the debit asked.
        requested: Micros,
    },
    /// No purchase has that id.
    #[error("purchase {0} not found")]
    PurchaseNotFound(String),
    /// The purchase has already been settled.
    #[error("purchase {purchase_id} is already {status}")]
    PurchaseAlreadySettled {
        /// The purchase.
        purchase_id: String,
        /// `succeeded` or `failed`.
        status: &'static str,
    },
    /// A reversal of a purchase that has not succeeded.
    #[error("purchase {purchase_id} is {status}: only a succeeded purchase can be reversed{hint}")]
    PurchaseNotReversible {
        /// The purchase.
        purchase_id: String,
        /// `processing` or `failed`.
        status: &'static str,
        /// What to do instead, if anything.
        hint: &'static str,
    },
    /// A second reversal of a purchase.
    #[error("purchase {0} has already been reversed; a purchase is reversed at most once")]
    PurchaseAlreadyReversed(String),
    /// A refund whose target is neither a debited hold nor a usage.
    #[error("{0} not found: a refund refers to a debited hold or a usage")]
    RefundTargetNotFound(String),
    /// The target exists but cannot be refunded.
    #[error("{refers_to} cannot be refunded: {why}")]
    NotRefundable {
        /// The target.
        refers_to: String,
        /// Why not.
        why: &'static str,
    },
    /// A refund larger than what is left to refund.
    #[error("refund of {requested} exceeds the {refundable} still refundable for {refers_to}")]
    RefundExceedsConsumed {
        /// The target.
        refers_to: String,
        /// What may still be refunded.
        refundable: Micros,
        /// What was asked.
        requested: Micros,
    },
    /// A value that breaks a rule; the message says which.
    #[error("{0}")]
    Invalid(String),
    /// An amount or time out of range.
    #[error("amount overflow")]
    Overflow,
    /// An identity has started its monthly number of conversations.
    #[error("identity {identity} has started its {limit} conversations for {month}; the count resets on the 1st")]
    ConversationLimit {
        /// The identity.
        identity: String,
        /// Conversations per identity and month.
        limit: u32,
        /// The month (`YYYY-MM`).
        month: String,
    },
    /// The month already has the plan's number of identities.
    #[error("the plan includes {limit} identities and {month} already has that many; {identity} cannot start one")]
    IdentityLimit {
        /// The identity refused.
        identity: String,
        /// Identities per month.
        limit: u32,
        /// The month (`YYYY-MM`).
        month: String,
    },
    /// A spending cap would be exceeded.
    #[error("{subject} may spend {limit} credits this period and has used {used}; {requested} more is over the cap")]
    CapExceeded {
        /// Who is capped (a user or a project).
        subject: String,
        /// The cap for the period.
        limit: Micros,
        /// Spent so far this period.
        used: Micros,
        /// What was asked.
        requested: Micros,
    },
    /// A priced operation names a price the org's book lacks, or the org has
    /// no book in force.
    #[error("unknown price {price:?}: {}", if book.is_empty() { "the organisation has no price book in force".to_string() } else { format!("price book {book} has no such price") })]
    UnknownPrice {
        /// The key named.
        price: String,
        /// The book looked in; empty when there is none.
        book: String,
    },
    /// A draw names a block the state does not have: the state is broken.
    #[error("credit block {0} is missing from the state")]
    BlockMissing(String),
    /// A parent that would make a cycle or a fourth level (see `tree`).
    #[error("{0}")]
    OrgTree(String),
    /// A transfer between organisations that are not parent and child or
    /// siblings (see `tree`).
    #[error("organizations {from} and {to} are not parent and child or siblings; credits move only between those")]
    NotRelated {
        /// The sending organisation.
        from: String,
        /// The receiving organisation.
        to: String,
    },
}

impl LedgerError {
    /// Stable machine-readable code, used in the API's error shape.
    pub fn code(&self) -> ErrorCode {
        match self {
            LedgerError::InsufficientCredits { .. } => ErrorCode::InsufficientCredits,
            LedgerError::HoldNotFound(_) => ErrorCode::HoldNotFound,
            LedgerError::HoldAlreadySettled { .. } => ErrorCode::HoldAlreadySettled,
            LedgerError::HoldExpired { .. } => ErrorCode::HoldExpired,
            LedgerError::DebitExceedsHold { .. } => ErrorCode::DebitExceedsHold,
            LedgerError::PurchaseNotFound(_) => ErrorCode::PurchaseNotFound,
            LedgerError::PurchaseAlreadySettled { .. } => ErrorCode::PurchaseAlreadySettled,
            LedgerError::PurchaseNotReversible { .. } => ErrorCode::PurchaseNotReversible,
            LedgerError::PurchaseAlreadyReversed(_) => ErrorCode::PurchaseAlreadyReversed,
            LedgerError::RefundTargetNotFound(_) => ErrorCode::RefundTargetNotFound,
            LedgerError::NotRefundable { .. } => ErrorCode::NotRefundable,
            LedgerError::RefundExceedsConsumed { .. } => ErrorCode::RefundExceedsConsumed,
            LedgerError::Invalid(_) => ErrorCode::ValidationError,
            LedgerError::Overflow => ErrorCode::AmountOverflow,
            LedgerError::ConversationLimit { .. } => ErrorCode::ConversationLimitReached,
            LedgerError::IdentityLimit { .. } => ErrorCode::IdentityLimitReached,
            LedgerError::CapExceeded { .. } => ErrorCode::CapExceeded,
            LedgerError::UnknownPrice { .. } => ErrorCode::UnknownPrice,
            LedgerError::BlockMissing(_) => ErrorCode::BrokenInvariant,
            LedgerError::OrgTree(_) => ErrorCode::OrgTreeInvalid,
            LedgerError::NotRelated { .. } => ErrorCode::OrgsNotRelated,
        }
    }

    /// Whether the thing named does not exist (404) rather than the request
    /// being refused (409/422).
    pub fn is_not_found(&self) -> bool {
        self.code().status() == 404
    }
}

/// A state that breaks one of the invariants [`crate::OrgState::check_invariants`]
/// checks; the message names the invariant and the values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("broken invariant: {0}")]
pub struct BrokenInvariant(pub String);

pub(crate) fn invalid(msg: impl Into<String>) -> LedgerError {
    LedgerError::Invalid(msg.into())
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<str> for ErrorCode {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}
