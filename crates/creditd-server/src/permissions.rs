//! Who may do what: the one permission table.
//!
//! Every handler names the [`Action`] it performs and asks
//! `principal.require(Action::X, org)?` (see [`crate::auth::Principal`])
//! before it touches the store. The table in docs/roles.md is generated from
//! [`TABLE`] ([`markdown_table`]) and a test keeps the two equal.
//!
//! Two rules sit outside the table because they are about reach, not role:
//! - a key or session reaches only its own organisation(s); any other org
//!   answers exactly as a missing one does (404, same body);
//! - only an all-organisations service key creates service keys.

/// Who is asking, as far as permissions go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Who {
    /// A platform service key (the bootstrap key or a stored one).
    Service,
    Owner,
    Admin,
    Member,
}

impl Who {
    pub const ALL: [Who; 4] = [Who::Service, Who::Owner, Who::Admin, Who::Member];

    pub fn as_str(self) -> &'static str {
        match self {
            Who::Service => "service key",
            Who::Owner => "owner",
            Who::Admin => "admin",
            Who::Member => "member",
        }
    }
}

/// Everything a request can do to an organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// The organisation, its balance and summary, and one's own caps.
    ReadSummary,
    /// One's own usage this period (`GET …/me`).
    ReadOwnUsage,
    /// The credit history, verify, notifications.
    ReadHistory,
    /// CSV and Excel exports.
    Export,
    /// Usage by user, action, project and day; conversation breakdowns.
    ReadAnalytics,
    /// Holds, usage, debit and release (a member: only their own holds),
    /// starting conversations.
    Consume,
    /// Grants (`POST …/credits` with `kind: grant`).
    Grant,
    /// Adjustments.
    Adjust,
    /// Purchases, vouchers, subscription credits, settling purchases,
    /// refunds, billing records.
    WriteCredits,
    /// Reversing a purchase (a refund or chargeback at the payment
    /// provider).
    ReversePurchases,
    /// Choosing the plan and the low-balance threshold.
    ManagePlan,
    /// The member list.
    ReadMembers,
    /// Adding, renaming, changing the role of and removing admins and members.
    ManageMembers,
    /// Making someone an owner, demoting or removing an owner.
    ManageOwners,
    /// Setting per-member and per-key caps; seeing everyone's.
    ManageCaps,
    /// Listing and revoking the member keys of anyone in the org (an owner's:
    /// also `ManageOwners`).
    ManageKeys,
    /// Creating a key that acts as another member (it would carry their
    /// role and name).
    IssueKeysForOthers,
    /// Creating, listing and revoking one's own member keys.
    ManageOwnKeys,
    /// Webhook endpoints: register, list, delete, see deliveries.
    ManageWebhooks,
    /// Changing the organisation's settings.
    ManageOrg,
    /// Creating organisations.
    CreateOrg,
    /// Writing a price book version (shared by every organisation: an
    /// all-organisations service key only).
    ManagePriceBooks,
    /// Reading price books and their versions.
    ReadPriceBooks,
}

/// One row: the action, what it covers, and service/owner/admin/member.
pub struct Row {
    pub action: Action,
    pub covers: &'static str,
    pub service: bool,
    pub owner: bool,
    pub admin: bool,
    pub member: bool,
}

const fn row(action: Action, covers: &'static str, [service, owner, admin, member]: [bool; 4]) -> Row {
    Row { action, covers, service, owner, admin, member }
}

const Y: bool = true;
const N: bool = false;

/// The permission table. Columns: service key, owner, admin, member.
pub const TABLE: &[Row] = &[
    row(Action::ReadSummary, "organisation, balance, summary, own caps", [Y, Y, Y, Y]),
    row(Action::ReadOwnUsage, "own usage this period (`GET …/me`)", [Y, Y, Y, Y]),
    row(Action::ReadHistory, "credit history, verify, notifications", [Y, Y, Y, N]),
    row(Action::Export, "CSV / Excel exports", [Y, Y, Y, N]),
    row(Action::ReadAnalytics, "usage by user, action, project, day; conversations", [Y, Y, Y, N]),
    row(Action::Consume, "holds, usage, debit, release (members: own holds), conversations", [Y, Y, Y, Y]),
    row(Action::Grant, "grants", [Y, Y, N, N]),
    row(Action::Adjust, "adjustments", [Y, Y, N, N]),
    row(Action::WriteCredits, "purchases, vouchers, subscription credits, settle, refunds, billing", [Y, N, N, N]),
    row(Action::ReversePurchases, "reverse purchases (refunds, chargebacks)", [Y, N, N, N]),
    row(Action::ManagePlan, "plan, low-balance threshold", [Y, N, N, N]),
    row(Action::ReadMembers, "member list", [Y, Y, Y, N]),
    row(Action::ManageMembers, "add, change, remove admins and members", [Y, Y, Y, N]),
    row(Action::ManageOwners, "make, demote, remove owners", [Y, Y, N, N]),
    row(Action::ManageCaps, "set caps, see everyone's", [Y, Y, Y, N]),
    row(Action::ManageKeys, "list, revoke member keys of anyone in the org (owners' keys: owners)", [Y, Y, Y, N]),
    row(Action::IssueKeysForOthers, "create a key that acts as another member", [Y, Y, N, N]),
    row(Action::ManageOwnKeys, "one's own member keys", [Y, Y, Y, Y]),
    row(Action::ManageWebhooks, "webhook endpoints and their deliveries", [Y, Y, Y, N]),
    row(Action::ManageOrg, "organisation settings (`PATCH`)", [Y, N, N, N]),
    row(Action::CreateOrg, "create organisations", [Y, N, N, N]),
    row(Action::ManagePriceBooks, "write price book versions (all-organisations keys only)", [Y, N, N, N]),
    row(Action::ReadPriceBooks, "read price books and their versions", [Y, N, N, N]),
];

/// Whether `who` may do `action` (in an organisation they reach).
pub fn allowed(who: Who, action: Action) -> bool {
    TABLE.iter().find(|r| r.action == action).is_some_and(|r| match who {
        Who::Service => r.service,
        Who::Owner => r.owner,
        Who::Admin => r.admin,
        Who::Member => r.member,
    })
}

impl Action {
    /// What the action covers, for error messages.
    pub fn describe(self) -> &'static str {
        TABLE.iter().find(|r| r.action == self).map_or("this", |r| r.covers)
    }
}

/// The table as Markdown, as docs/roles.md shows it.
pub fn markdown_table() -> String {
    let mark = |b: bool| if b { "✓" } else { "—" };
    let mut out =
        String::from("| action | covers | service key | owner | admin | member |\n|---|---|:-:|:-:|:-:|:-:|\n");
    for r in TABLE {
        out.push_str(&format!(
            "| `{:?}` | {} | {} | {} | {} | {} |\n",
            r.action,
            r.covers,
            mark(r.service),
            mark(r.owner),
            mark(r.admin),
            mark(r.member)
        ));
    }
    out
}
