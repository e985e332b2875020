//! History queries: filters, page limits and cursors, parsed once into types
//! the engines trust.

use creditd_core::{Event, EventKind, Pool, Status};
use jiff::Timestamp;
use serde::Serialize;

/// Filters of the credit history; every one optional, all combined with AND,
/// values within one filter with OR.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Inclusive lower bound.
    pub date_from: Option<Timestamp>,
    /// Exclusive upper bound.
    pub date_to: Option<Timestamp>,
    /// Only events of these kinds.
    pub kinds: Vec<EventKind>,
    /// Only events drawn from or credited to these pools.
    pub pools: Vec<Pool>,
    /// Only events of this project.
    pub project_id: Option<String>,
    /// Only events of these services.
    pub services: Vec<String>,
    /// Only events with these statuses.
    pub statuses: Vec<Status>,
    /// Only events of this user (by email).
    pub user_email: Option<String>,
}

impl EventFilter {
    /// Whether `e` passes the filter; the reference the SQL must agree with.
    pub fn matches(&self, e: &Event) -> bool {
        self.date_from.is_none_or(|t| e.created_at >= t)
            && self.date_to.is_none_or(|t| e.created_at < t)
            && (self.kinds.is_empty() || self.kinds.contains(&e.kind))
            && (self.pools.is_empty() || e.pool.is_some_and(|p| self.pools.contains(&p)))
            && self.project_id.as_ref().is_none_or(|p| e.project_id.as_ref() == Some(p))
            && (self.services.is_empty() || e.service.as_ref().is_some_and(|s| self.services.contains(s)))
            && (self.statuses.is_empty() || self.statuses.contains(&e.status))
            && self.user_email.as_ref().is_none_or(|u| e.user_email.as_ref() == Some(u))
    }
}

/// A page size between 1 and 100.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageLimit(u32);

impl PageLimit {
    /// The largest page.
    pub const MAX: u32 = 100;
    /// The page size when none is asked for: 50.
    pub const DEFAULT: PageLimit = PageLimit(50);

    /// `None` outside `1..=MAX`.
    pub fn new(limit: u32) -> Option<Self> {
        (1..=Self::MAX).contains(&limit).then_some(PageLimit(limit))
    }

    /// The page size.
    pub fn get(self) -> u32 {
        self.0
    }
}

/// Where a page starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageStart {
    /// Skip this many matching events (newest first).
    Offset(u64),
    /// Events with a sequence number below this one.
    Before(u64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
/// One history page request: which events, how many, from where.
pub struct EventQuery {
    /// Which events.
    pub filter: EventFilter,
    /// At most this many events on the page.
    pub limit: PageLimit,
    /// Where the page starts.
    pub start: PageStart,
}

impl Default for EventQuery {
    fn default() -> Self {
        EventQuery { filter: EventFilter::default(), limit: PageLimit::DEFAULT, start: PageStart::Offset(0) }
    }
}

/// One page of history.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Page {
    /// The page's events, newest first.
    pub events: Vec<Event>,
    /// The page size asked for.
    pub limit: u32,
    /// The offset asked for; absent when the page was asked for by cursor.
    pub offset: Option<u64>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl Page {
    /// Builds a page from up to `limit + 1` fetched rows.
    pub fn from_rows(mut events: Vec<Event>, query: &EventQuery) -> Page {
        let limit = query.limit.get() as usize;
        let more = events.len() > limit;
        events.truncate(limit);
        let next_cursor = if more { events.last().map(|e| encode_cursor(e.seq)) } else { None };
        let offset = match query.start {
            PageStart::Offset(o) => Some(o),
            PageStart::Before(_) => None,
        };
        Page { events, limit: limit as u32, offset, next_cursor }
    }
}

/// Cursors are opaque to clients; today they carry the last sequence seen.
pub fn encode_cursor(seq: u64) -> String {
    format!("c{seq:x}")
}

/// The sequence a cursor from [`encode_cursor`] carries; `None` for text
/// that is not one.
pub fn decode_cursor(cursor: &str) -> Option<u64> {
    cursor.strip_prefix('c').and_then(|hex| u64::from_str_radix(hex, 16).ok())
}

/// The order an export lists events in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Order {
    /// Newest first, like the history pages.
    #[default]
    NewestFirst,
    /// Oldest first: the order a ledger is replayed in, and the order
    /// `creditd import` reads a full export in.
    OldestFirst,
}

impl Order {
    /// The order's stable name (`newest`, `oldest`).
    pub fn as_str(self) -> &'static str {
        match self {
            Order::NewestFirst => "newest",
            Order::OldestFirst => "oldest",
        }
    }
}
