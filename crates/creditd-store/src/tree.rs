//! The facts a tree change needs, gathered the same way by both engines:
//! the new parent's ancestors and the height of the org's own subtree (the
//! rule itself is `creditd_core::tree::check_parent`).

use creditd_core::tree::MAX_LEVELS;

/// The ancestors of `parent` (its parent first), read with `parent_of`
/// (which answers `OrgNotFound` for a missing org), at most
/// [`MAX_LEVELS`] of them: enough to refuse a fourth level or a cycle.
pub fn ancestors<E>(
    parent: &str,
    mut parent_of: impl FnMut(&str) -> Result<Option<String>, E>,
) -> Result<Vec<String>, E> {
    let mut out = Vec::new();
    let mut at = parent_of(parent)?;
    while let Some(p) = at {
        if out.len() >= MAX_LEVELS || out.contains(&p) {
            out.push(p);
            break;
        }
        at = parent_of(&p)?;
        out.push(p);
    }
    Ok(out)
}

/// How many levels of children `org` has (0: none), read with
/// `children_of` (the direct children of a set of orgs), counting no
/// further than [`MAX_LEVELS`].
pub fn subtree_height<E>(
    org: &str,
    mut children_of: impl FnMut(&[String]) -> Result<Vec<String>, E>,
) -> Result<usize, E> {
    let mut level = vec![org.to_string()];
    let mut height = 0;
    while height < MAX_LEVELS {
        level = children_of(&level)?;
        if level.is_empty() {
            break;
        }
        height += 1;
    }
    Ok(height)
}

/// The SQL (both engines) for the direct children of one org.
pub const CHILDREN_SQL_SQLITE: &str = "SELECT org_id FROM orgs WHERE parent_id = ?1 ORDER BY org_id";
