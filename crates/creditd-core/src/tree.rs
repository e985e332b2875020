//! Organisations in a tree: the rules of `parent_id`, as pure functions.
//!
//! An organisation may have a parent (a reseller, an enterprise) and
//! children (its customers, its teams), at most [`MAX_LEVELS`] levels in
//! all. The tree is stored beside the ledger (the `orgs.parent_id` column),
//! not in an org's state: a change to it concerns several organisations, so
//! the engines gather the facts (the new parent's ancestors, the height of
//! the org's own subtree) under a lock that serialises every tree change
//! and ask [`check_parent`]. Transfers ask [`relation`] with the two orgs'
//! parents read under the same row locks as the transfer itself.

use crate::error::LedgerError;

/// Most levels of organisations: a root, its children, their children.
pub const MAX_LEVELS: usize = 3;

/// How two organisations are related, as transfers need it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relation {
    /// The first is the second's parent.
    ParentOf,
    /// The first is the second's child.
    ChildOf,
    /// They have the same parent.
    Siblings,
}

/// How `a` (whose parent is `a_parent`) and `b` (whose parent is
/// `b_parent`) are related; none when they are the same org or neither
/// parent and child nor siblings (grandparents and cousins are not related
/// for transfers: a transfer moves credits one step).
pub fn relation(a: &str, a_parent: Option<&str>, b: &str, b_parent: Option<&str>) -> Option<Relation> {
    if a == b {
        return None;
    }
    if b_parent == Some(a) {
        Some(Relation::ParentOf)
    } else if a_parent == Some(b) {
        Some(Relation::ChildOf)
    } else if a_parent.is_some() && a_parent == b_parent {
        Some(Relation::Siblings)
    } else {
        None
    }
}

/// Whether `org` may take `parent` as its parent, given `parent`'s
/// ancestors (its parent first, then that one's parent, as far as they go;
/// an engine stops reading after [`MAX_LEVELS`]) and the height of `org`'s
/// own subtree (0: no children; 1: children but no grandchildren; …).
///
/// Refused with `org_tree_invalid`: `org` as its own parent, a parent below
/// `org` (a cycle), and a tree of more than [`MAX_LEVELS`] levels. Nothing
/// is written on a refusal: the engines change the column only after this
/// answers `Ok`.
pub fn check_parent(
    org: &str,
    parent: &str,
    parent_ancestors: &[String],
    subtree_height: usize,
) -> Result<(), LedgerError> {
    if org == parent {
        return Err(LedgerError::OrgTree(format!("organization {org} cannot be its own parent")));
    }
    if parent_ancestors.iter().any(|a| a == org) {
        return Err(LedgerError::OrgTree(format!(
            "organization {parent} is below {org}: making it {org}'s parent would make a cycle"
        )));
    }
    // Levels: the parent's ancestors, the parent, the org, the org's subtree.
    let levels = parent_ancestors.len().saturating_add(2).saturating_add(subtree_height);
    if levels > MAX_LEVELS {
        return Err(LedgerError::OrgTree(format!(
            "organizations nest at most {MAX_LEVELS} levels deep; under {parent} ({} level(s) from the top), \
             {org} and its {subtree_height} level(s) of children would make {levels}",
            parent_ancestors.len() + 1
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn relations() {
        assert_eq!(relation("p", None, "c", Some("p")), Some(Relation::ParentOf));
        assert_eq!(relation("c", Some("p"), "p", None), Some(Relation::ChildOf));
        assert_eq!(relation("a", Some("p"), "b", Some("p")), Some(Relation::Siblings));
        assert_eq!(relation("a", None, "b", None), None, "two roots are not siblings");
        assert_eq!(relation("a", Some("p"), "a", Some("p")), None, "not oneself");
        assert_eq!(relation("g", None, "c", Some("p")), None, "a grandparent is not related for transfers");
        assert_eq!(relation("a", Some("p"), "b", Some("q")), None, "cousins are not");
    }

    #[test]
    fn parents() {
        // (org, parent, parent's ancestors, subtree height, ok)
        let cases: &[(&str, &str, &[&str], usize, bool)] = &[
            ("c", "p", &[], 0, true),
            ("c", "p", &["g"], 0, true),
            ("c", "p", &["g", "h"], 0, false),
            ("c", "p", &[], 1, true),
            ("c", "p", &[], 2, false),
            ("c", "p", &["g"], 1, false),
            ("c", "c", &[], 0, false),
            ("c", "p", &["c"], 0, false),
            ("c", "p", &["g", "c"], 0, false),
        ];
        for &(org, parent, anc, h, ok) in cases {
            let r = check_parent(org, parent, &chain(anc), h);
            assert_eq!(r.is_ok(), ok, "{org} under {parent} {anc:?} height {h}: {r:?}");
            if let Err(e) = r {
                assert_eq!(e.code(), crate::ErrorCode::OrgTreeInvalid);
            }
        }
    }
}
