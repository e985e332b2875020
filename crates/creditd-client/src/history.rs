//! The credit history: its filters, its pages, and a stream that follows
//! the cursors.
//!
//! Pages by cursor never skip or repeat an event while new ones arrive
//! (the server's cursor is a position, not an offset), so [`Pages`] reads
//! the whole history of the filters page after page until the server gives
//! no `next_cursor`.

use creditd_core::{Event, EventKind, Pool, Status};
use futures_util::stream::{self, BoxStream, StreamExt, TryStreamExt};

use crate::error::Error;
use crate::types::Page;

macro_rules! names {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name { $($(#[$vm])* $variant),+ }

        impl $name {
            /// Every value, as the document lists them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value as sent.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }
    };
}

names! {
    /// A named time range, in the organisation's zone (`RangeName`).
    Range {
        /// Today.
        Today = "today",
        /// Yesterday.
        Yesterday = "yesterday",
        /// This week (from Monday).
        ThisWeek = "this_week",
        /// Last week.
        LastWeek = "last_week",
        /// This month.
        ThisMonth = "this_month",
        /// Last month.
        LastMonth = "last_month",
        /// The last 28 days.
        Last28Days = "last_28_days",
        /// `date_from`/`date_to`.
        Custom = "custom",
    }
}

names! {
    /// An export's file format (`ExportFormat`).
    ExportFormat {
        /// Comma-separated values.
        Csv = "csv",
        /// An Excel workbook.
        Xlsx = "xlsx",
    }
}

names! {
    /// An export's columns (`ExportLayout`).
    ExportLayout {
        /// The report layout (Case Name, Case ID, User's Name, …).
        Report = "report",
        /// Seed FPT's layout.
        Fpt = "fpt",
        /// Seed 001's event columns.
        Events = "events",
        /// Every field of each event.
        Full = "full",
    }
}

names! {
    /// An export's row order (`ExportOrder`).
    ExportOrder {
        /// Newest first.
        Newest = "newest",
        /// Oldest first.
        Oldest = "oldest",
    }
}

/// Which events: the filters `listCreditEvents` and `exportCreditEvents`
/// share. Empty: every event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HistoryFilter {
    /// A named range (or `Custom` with the dates below).
    pub range: Option<Range>,
    /// From this date or instant (inclusive), as the server reads it
    /// (`2026-05-01` in the org's zone, or an RFC 3339 instant).
    pub date_from: Option<String>,
    /// Up to this date or instant.
    pub date_to: Option<String>,
    /// Any of these kinds.
    pub event_type: Vec<EventKind>,
    /// Any of these pools.
    pub pool: Vec<Pool>,
    /// This project.
    pub project_id: Option<String>,
    /// Any of these services.
    pub service: Vec<String>,
    /// Any of these statuses.
    pub status: Vec<Status>,
    /// This user.
    pub user_email: Option<String>,
}

impl HistoryFilter {
    /// The query pairs; lists are sent as repeated parameters.
    pub(crate) fn pairs(&self, out: &mut Vec<(String, String)>) {
        let mut put = |k: &str, v: &str| out.push((k.to_owned(), v.to_owned()));
        if let Some(r) = self.range {
            put("range", r.as_str());
        }
        if let Some(v) = &self.date_from {
            put("date_from", v);
        }
        if let Some(v) = &self.date_to {
            put("date_to", v);
        }
        for k in &self.event_type {
            put("event_type", k.as_str());
        }
        for p in &self.pool {
            put("pool", p.as_str());
        }
        if let Some(v) = &self.project_id {
            put("project_id", v);
        }
        for s in &self.service {
            put("service", s);
        }
        for s in &self.status {
            put("status", s.as_str());
        }
        if let Some(v) = &self.user_email {
            put("user_email", v);
        }
    }
}

/// Which page: a size and a cursor (deep pages) or an offset.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageRequest {
    /// 1–100; default the server's (50).
    pub limit: Option<u32>,
    /// A `next_cursor` from the previous page.
    pub cursor: Option<String>,
    /// Events to skip (shallow pages only; prefer the cursor).
    pub offset: Option<u64>,
}

impl PageRequest {
    pub(crate) fn pairs(&self, out: &mut Vec<(String, String)>) {
        // The client reads every field of each event (the core's `Event`).
        out.push(("fields".into(), "all".into()));
        if let Some(l) = self.limit {
            out.push(("limit".into(), l.to_string()));
        }
        if let Some(c) = &self.cursor {
            out.push(("cursor".into(), c.clone()));
        }
        if let Some(o) = self.offset {
            out.push(("offset".into(), o.to_string()));
        }
    }
}

/// What to export: the format, the layout, the order and the filters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportRequest {
    /// CSV or XLSX.
    pub format: ExportFormat,
    /// The columns; default the report layout.
    pub layout: Option<ExportLayout>,
    /// Default newest first.
    pub order: Option<ExportOrder>,
    /// Which events.
    pub filter: HistoryFilter,
}

impl ExportRequest {
    /// Every event as CSV in the server's default layout.
    pub fn csv() -> ExportRequest {
        ExportRequest { format: ExportFormat::Csv, layout: None, order: None, filter: HistoryFilter::default() }
    }

    /// Every event as an Excel workbook.
    pub fn xlsx() -> ExportRequest {
        ExportRequest { format: ExportFormat::Xlsx, ..ExportRequest::csv() }
    }

    pub(crate) fn pairs(&self) -> Vec<(String, String)> {
        let mut out = vec![("format".to_owned(), self.format.as_str().to_owned())];
        if let Some(l) = self.layout {
            out.push(("layout".into(), l.as_str().into()));
        }
        if let Some(o) = self.order {
            out.push(("order".into(), o.as_str().into()));
        }
        self.filter.pairs(&mut out);
        out
    }
}

/// The history's pages, one request each, following `next_cursor`.
///
/// `pages.next_page().await` gives the next page (`None` after the last);
/// [`Pages::into_stream`] and [`Pages::events`] give the same as streams.
pub struct Pages {
    client: crate::Client,
    org_id: String,
    filter: HistoryFilter,
    page_size: Option<u32>,
    cursor: Option<String>,
    done: bool,
}

impl Pages {
    pub(crate) fn new(client: crate::Client, org_id: String, filter: HistoryFilter, page_size: Option<u32>) -> Pages {
        Pages { client, org_id, filter, page_size, cursor: None, done: false }
    }

    /// The next page, or `None` when the last one was read.
    pub async fn next_page(&mut self) -> Result<Option<Page>, Error> {
        if self.done {
            return Ok(None);
        }
        let req = PageRequest { limit: self.page_size, cursor: self.cursor.clone(), offset: None };
        let page = self.client.list_credit_events(&self.org_id, &self.filter, &req).await?;
        match &page.next_cursor {
            Some(c) if !c.is_empty() && !page.events.is_empty() => self.cursor = Some(c.clone()),
            _ => self.done = true,
        }
        Ok(Some(page))
    }

    /// The pages as a stream (boxed and pinned, so `try_next` works on it
    /// as it is).
    pub fn into_stream(self) -> BoxStream<'static, Result<Page, Error>> {
        stream::try_unfold(self, |mut pages| async move {
            let page = pages.next_page().await?;
            Ok(page.map(|p| (p, pages)))
        })
        .boxed()
    }

    /// Every event of every page, in the pages' order.
    pub fn events(self) -> BoxStream<'static, Result<Event, Error>> {
        self.into_stream().map_ok(|p| stream::iter(p.events.into_iter().map(Ok))).try_flatten().boxed()
    }
}
