//! Who may do what: the one permission table.
//!
//! Every handler names the [`Action`] it performs and asks
//! `principal.require(Action::X, org)?` (see [`crate::auth::Principal`])
//! before it touches the store. The table in docs/roles.md is generated from
//! [`TABLE`] ([`markdown_table`]) and a test keeps the two equal.
//!
//! Two rules sit outside the table because they are about reach, not role:
//! - a key or session reaches only its own organisation(s) and, for an
//!   owner, an admin or a service key, the organisations below them (their
//!   children and grandchildren, see `creditd_core::tree`), where they act
//!   as [`Who::Parent`]; any other org answers exactly as a missing one
//!   does (404, same body);
//! - only an all-organisations service key creates service keys.

/// Who is asking, as far as permissions go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Who {
    /// A platform service key (the bootstrap key or a stored one).
    Service,
    Owner,
    Admin,
    Member,
    /// An owner, admin or service key of an organisation above this one
    /// (its parent or grandparent), acting in this child. A child's own
    /// people never reach its parent.
    Parent,
}

impl Who {
    pub const ALL: [Who; 5] = [Who::Service, Who::Owner, Who::Admin, Who::Member, Who::Parent];

    pub fn as_str(self) -> &'static str {
        match self {
            Who::Service => "service key",
            Who::Owner => "owner",
            Who::Admin => "admin",
            Who::Member => "member",
            Who::Parent => "parent organisation's owner, admin or service key",
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
    /// The credit history, the balance as of a time, statements, verify,
    /// notifications.
    ReadHistory,
    /// CSV and Excel exports (of the history and of statements).
    Export,
    /// Usage by user, action, project and day; conversation breakdowns.
    ReadAnalytics,
    /// Holds, usage, debit and release (a member: only their own holds),
    /// starting conversations.
    Consume,
    /// Asking whether a hold or usage would be accepted, and what it would
    /// cost (`POST …/check`; a member: for themselves only).
    Check,
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
    /// Reading the auto top-up rule and the usage alert levels.
    ReadMoneyIn,
    /// Setting the auto top-up rule and the usage alert levels.
    ManageMoneyIn,
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
    /// Whether a child draws on its parent's balance, and its budget
    /// (`funding`, `funding_budget`): the parent's people decide, never
    /// the child's own, whose spending it is.
    ManageFunding,
    /// Creating organisations.
    CreateOrg,
    /// Writing a price book version (shared by every organisation: an
    /// all-organisations service key only).
    ManagePriceBooks,
    /// Reading price books and their versions.
    ReadPriceBooks,
    /// Moving credits to a parent, child or sibling (`POST …/transfers`):
    /// needed in both organisations.
    Transfer,
    /// Buy more: a processing purchase of one of the amounts the
    /// organisation is offered (`POST …/purchases/request`, the Plan tab).
    BuyMore,
    /// Change plan: choosing a catalogue plan (`POST …/plan/change`, the
    /// Plan tab); applied at once when the organisation is self-service,
    /// else sent as a `plan_change.requested` webhook.
    RequestPlanChange,
    /// Writing a plan catalogue entry (shared by every organisation: an
    /// all-organisations service key only).
    ManagePlanCatalogue,
    /// Reading the plan catalogue.
    ReadPlanCatalogue,
}

/// One row: the action, what it covers, and service/owner/admin/member/
/// parent.
pub struct Row {
    pub action: Action,
    pub covers: &'static str,
    pub service: bool,
    pub owner: bool,
    pub admin: bool,
    pub member: bool,
    pub parent: bool,
}

const fn row(action: Action, covers: &'static str, [service, owner, admin, member, parent]: [bool; 5]) -> Row {
    Row { action, covers, service, owner, admin, member, parent }
}

const Y: bool = true;
const N: bool = false;

/// The permission table. Columns: service key, owner, admin, member (in
/// their own organisation), parent (a parent's or grandparent's owner,
/// admin or service key, in a child).
pub const TABLE: &[Row] = &[
    row(Action::ReadSummary, "organisation, balance, summary, own caps", [Y, Y, Y, Y, Y]),
    row(Action::ReadOwnUsage, "own usage this period (`GET …/me`)", [Y, Y, Y, Y, Y]),
    row(
        Action::ReadHistory,
        "credit history, balance as of a time, statements, verify, notifications",
        [Y, Y, Y, N, Y],
    ),
    row(Action::Export, "CSV / Excel exports (history, statements)", [Y, Y, Y, N, Y]),
    row(Action::ReadAnalytics, "usage by user, action, project, day; conversations", [Y, Y, Y, N, Y]),
    row(Action::Consume, "holds, usage, debit, extend, release (members: own holds), conversations", [Y, Y, Y, Y, N]),
    row(Action::Check, "check a hold or usage before acting (members: for themselves)", [Y, Y, Y, Y, N]),
    row(Action::Grant, "grants", [Y, Y, N, N, N]),
    row(Action::Adjust, "adjustments", [Y, Y, N, N, N]),
    row(Action::WriteCredits, "purchases, vouchers, subscription credits, settle, refunds, billing", [Y, N, N, N, N]),
    row(Action::ReversePurchases, "reverse purchases (refunds, chargebacks)", [Y, N, N, N, N]),
    row(Action::ManagePlan, "plan, low-balance threshold", [Y, N, N, N, N]),
    row(Action::ReadMoneyIn, "read the auto top-up rule and the usage alert levels", [Y, Y, Y, Y, Y]),
    row(Action::ManageMoneyIn, "set the auto top-up rule and the usage alert levels", [Y, Y, Y, N, Y]),
    row(Action::ReadMembers, "member list", [Y, Y, Y, N, Y]),
    row(Action::ManageMembers, "add, change, remove admins and members", [Y, Y, Y, N, Y]),
    row(Action::ManageOwners, "make, demote, remove owners", [Y, Y, N, N, N]),
    row(Action::ManageCaps, "set caps, see everyone's", [Y, Y, Y, N, Y]),
    row(Action::ManageKeys, "list, revoke member keys of anyone in the org (owners' keys: owners)", [Y, Y, Y, N, N]),
    row(Action::IssueKeysForOthers, "create a key that acts as another member", [Y, Y, N, N, N]),
    row(Action::ManageOwnKeys, "one's own member keys", [Y, Y, Y, Y, N]),
    row(Action::ManageWebhooks, "webhook endpoints and their deliveries", [Y, Y, Y, N, N]),
    row(Action::ManageOrg, "organisation settings (`PATCH`), the dashboard's `locale` included", [Y, N, N, N, N]),
    row(Action::ManageFunding, "a child's `funding` and `funding_budget` (`PATCH`)", [Y, N, N, N, Y]),
    row(Action::CreateOrg, "create organisations", [Y, N, N, N, N]),
    row(Action::ManagePriceBooks, "write price book versions (all-organisations keys only)", [Y, N, N, N, N]),
    row(Action::ReadPriceBooks, "read price books and their versions", [Y, N, N, N, N]),
    row(Action::Transfer, "transfers to a parent, child or sibling (needed in both orgs)", [Y, Y, Y, N, Y]),
    row(Action::BuyMore, "Buy more: a processing purchase of an offered amount", [Y, Y, N, N, N]),
    row(Action::RequestPlanChange, "Change plan: choose a catalogue plan (applied if self-service)", [Y, Y, N, N, N]),
    row(Action::ManagePlanCatalogue, "write the plan catalogue (all-organisations keys only)", [Y, N, N, N, N]),
    row(Action::ReadPlanCatalogue, "read the plan catalogue", [Y, N, N, N, N]),
];

/// Whether `who` may do `action` (in an organisation they reach).
pub fn allowed(who: Who, action: Action) -> bool {
    TABLE.iter().find(|r| r.action == action).is_some_and(|r| match who {
        Who::Service => r.service,
        Who::Owner => r.owner,
        Who::Admin => r.admin,
        Who::Member => r.member,
        Who::Parent => r.parent,
    })
}

impl Action {
    /// What the action covers, for error messages.
    pub fn describe(self) -> &'static str {
        TABLE.iter().find(|r| r.action == self).map_or("this", |r| r.covers)
    }
}

impl Who {
    /// The role with its article: "an owner", "an admin", "a member".
    pub fn with_article(self) -> String {
        let name = self.as_str();
        let article = if name.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
        format!("{article} {name}")
    }
}

/// Whom a person refused `action` should ask, as the table says: "an
/// owner" when only owners may, "an owner or admin" when both may, "an
/// admin" when only admins may; `None` when no person of the organisation
/// may (a service key's action: the platform's operator does it).
pub fn who_to_ask(action: Action) -> Option<&'static str> {
    let r = TABLE.iter().find(|r| r.action == action)?;
    match (r.owner, r.admin) {
        (true, true) => Some("an owner or admin"),
        (true, false) => Some("an owner"),
        (false, true) => Some("an admin"),
        (false, false) => None,
    }
}

/// The refusal of `action` to `who`, in words: who they are, what the
/// action covers, and, for a person, whom to ask ([`who_to_ask`]).
pub fn refusal(who: Who, action: Action) -> String {
    let head = format!("{} may not do this: {}", who.with_article(), action.describe());
    match (who, who_to_ask(action)) {
        (Who::Service, _) => head,
        (_, Some(ask)) => format!("{head}; ask {ask} of the organisation"),
        (_, None) => format!("{head}; only the platform's operator (a service key) may"),
    }
}

/// The table as Markdown, as docs/roles.md shows it.
pub fn markdown_table() -> String {
    let mark = |b: bool| if b { "✓" } else { "—" };
    let mut out = String::from(
        "| action | covers | service key | owner | admin | member | parent |\n|---|---|:-:|:-:|:-:|:-:|:-:|\n",
    );
    for r in TABLE {
        out.push_str(&format!(
            "| `{:?}` | {} | {} | {} | {} | {} | {} |\n",
            r.action,
            r.covers,
            mark(r.service),
            mark(r.owner),
            mark(r.admin),
            mark(r.member),
            mark(r.parent)
        ));
    }
    out
}
