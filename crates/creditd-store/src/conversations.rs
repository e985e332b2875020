//! Conversation analytics: the query every engine answers and the SQL they
//! share (`conversations` table: org_id, seq, identity, campaign,
//! started_at, day, created_at; see the SQLite schema's migration 2).

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::sql::SqlValue;

/// Most groups one answer carries (one more is fetched to tell it was cut).
pub const MAX_CONVERSATION_GROUPS: usize = 1000;

/// What conversations are counted by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConversationGroup {
    /// The day `started_at` fell on in the org's zone (stored with the row).
    Day,
    /// The conversation's campaign (null key: none).
    Campaign,
    /// Who the conversation was with.
    Identity,
}

impl ConversationGroup {
    /// The `conversations` column grouped by.
    pub fn column(self) -> &'static str {
        match self {
            ConversationGroup::Day => "day",
            ConversationGroup::Campaign => "campaign",
            ConversationGroup::Identity => "identity",
        }
    }
}

/// Conversations started in `[from, to)`, grouped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConversationQuery {
    /// First instant counted (inclusive).
    pub from: Timestamp,
    /// End of the range (exclusive).
    pub to: Timestamp,
    /// What the counts are grouped by.
    pub group_by: ConversationGroup,
}

/// One group: its key (a `YYYY-MM-DD` day, a campaign, an identity; null
/// for conversations without a campaign) and how many conversations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConversationCount {
    /// The group's key; null for conversations without a campaign.
    pub key: Option<String>,
    /// How many conversations started in the range in this group.
    pub conversations: u64,
}

/// `SELECT key, count` for `q`: days in order, campaigns and identities
/// most conversations first; at most [`MAX_CONVERSATION_GROUPS`] + 1 rows.
/// `ph(n)` renders the n-th placeholder (`?n` or `$n`).
pub fn conversation_usage_sql(
    org_id: &str,
    q: &ConversationQuery,
    ph: impl Fn(usize) -> String,
) -> (String, Vec<SqlValue>) {
    let col = q.group_by.column();
    let order = match q.group_by {
        ConversationGroup::Day => "1",
        _ => "2 DESC, 1",
    };
    let sql = format!(
        "SELECT {col}, COUNT(*) FROM conversations WHERE org_id = {} AND started_at >= {} AND started_at < {} \
         GROUP BY 1 ORDER BY {order} LIMIT {}",
        ph(1),
        ph(2),
        ph(3),
        ph(4)
    );
    let args = vec![
        SqlValue::Text(org_id.to_string()),
        SqlValue::Int(q.from.as_microsecond()),
        SqlValue::Int(q.to.as_microsecond()),
        SqlValue::Int(MAX_CONVERSATION_GROUPS as i64 + 1),
    ];
    (sql, args)
}
