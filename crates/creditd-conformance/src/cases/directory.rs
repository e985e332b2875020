//! The directory: members, owners, keys, sessions and sign-in links.

use super::*;

/// Members, keys, sessions and sign-in links: the rules every engine keeps.
pub async fn directory_rules(t: &mut Ctx) {
    use creditd_store::directory::{DirectoryError, KeyScope, LoginLink, Member, MemberPatch, NewKey, Role, Session};
    let s = t.store.as_ref();
    new_org(s, "o").await;
    let d = s.directory();
    let now = t.clock.now();
    let later = |secs_: i64| now.checked_add(secs(secs_)).expect("time");
    let member = |email: &str, role| Member {
        org_id: "o".into(),
        email: email.into(),
        name: format!("Name of {email}"),
        role,
        created_at: now,
    };
    fn err<T>(r: Result<T, DirectoryError>) -> Result<(), &'static str> {
        r.map(|_| ()).map_err(|e| e.code().as_str())
    }
    assert_eq!(
        err(d.add_member(member("a@x.io", Role::Admin)).await),
        Err("validation_error"),
        "first must be an owner"
    );
    assert_eq!(
        err(d.add_member(Member { org_id: "nope".into(), ..member("a@x.io", Role::Owner) }).await),
        Err("not_found")
    );
    let owner = d.add_member(member("  Ann@X.io ", Role::Owner)).await.expect("owner");
    assert_eq!(owner.email, "ann@x.io");
    assert_eq!(err(d.add_member(member("ANN@x.io", Role::Member)).await), Err("already_exists"));
    assert_eq!(err(d.add_member(member("not-an-email", Role::Member)).await), Err("validation_error"));
    d.add_member(member("bob@x.io", Role::Member)).await.expect("bob");
    let emails: Vec<String> = d.members("o").await.expect("members").into_iter().map(|m| m.email).collect();
    assert_eq!(emails, vec!["ann@x.io".to_string(), "bob@x.io".to_string()]);
    assert_eq!(err(d.members("nope").await), Err("not_found"));
    assert_eq!(d.member("o", "BOB@x.io").await.expect("member").map(|m| m.role), Some(Role::Member));
    assert_eq!(d.member("o", "zed@x.io").await.expect("member"), None);
    // The last owner stays.
    let demote = MemberPatch { name: None, role: Some(Role::Admin) };
    assert_eq!(err(d.update_member("o", "ann@x.io", demote.clone()).await), Err("last_owner"));
    assert_eq!(err(d.remove_member("o", "ann@x.io", now).await), Err("last_owner"));
    let promote = MemberPatch { name: Some("Bob B.".into()), role: Some(Role::Owner) };
    let bob = d.update_member("o", "bob@x.io", promote).await.expect("promote");
    assert_eq!((bob.name.as_str(), bob.role), ("Bob B.", Role::Owner));
    d.update_member("o", "ann@x.io", demote).await.expect("demote now that bob owns too");
    assert_eq!(err(d.update_member("o", "zed@x.io", MemberPatch::default()).await), Err("not_found"));
    // Keys.
    let key = |id: &str, scope| NewKey {
        id: id.into(),
        prefix: format!("ck_{id}"),
        name: format!("key {id}"),
        scope,
        secret_hash: creditd_store::directory::secret_hash(&format!("secret-{id}")),
        created_at: now,
    };
    let svc =
        d.create_key(key("k1", KeyScope::Service { org_ids: Some(vec!["o".into()]) })).await.expect("service key");
    assert_eq!(svc.revoked_at, None);
    let mine = d
        .create_key(key("k2", KeyScope::Member { org_id: "o".into(), email: "Ann@x.io".into() }))
        .await
        .expect("member key");
    assert_eq!(mine.scope, KeyScope::Member { org_id: "o".into(), email: "ann@x.io".into() });
    assert_eq!(err(d.create_key(key("k1", KeyScope::Service { org_ids: None })).await), Err("already_exists"));
    assert_eq!(
        err(d.create_key(key("k3", KeyScope::Member { org_id: "o".into(), email: "zed@x.io".into() })).await),
        Err("not_found")
    );
    let found = d.key_by_hash(&creditd_store::directory::secret_hash("secret-k2")).await.expect("by hash");
    assert_eq!(found.map(|k| k.id), Some("k2".to_string()));
    assert_eq!(d.key_by_hash("0000").await.expect("by hash"), None);
    assert_eq!(d.keys(Some("o")).await.expect("keys").len(), 2);
    assert_eq!(d.keys(Some("other")).await.expect("keys").len(), 0);
    d.touch_keys(&[("k1".into(), later(10)), ("k1".into(), later(5))]).await.expect("touch");
    d.touch_keys(&[("k1".into(), later(1))]).await.expect("touch earlier");
    assert_eq!(d.key("k1").await.expect("key").and_then(|k| k.last_used_at), Some(later(10)));
    let revoked = d.revoke_key("k1", later(20)).await.expect("revoke");
    assert_eq!(revoked.revoked_at, Some(later(20)));
    assert_eq!(d.revoke_key("k1", later(30)).await.expect("again").revoked_at, Some(later(20)), "the first time stays");
    assert_eq!(err(d.revoke_key("nope", now).await), Err("not_found"));
    // Sign-in links: once, not after they expire.
    let link = LoginLink { org_id: "o".into(), email: "ann@x.io".into(), created_at: now, expires_at: later(600) };
    d.create_login_link("h1", link.clone()).await.expect("link");
    assert_eq!(
        err(d.create_login_link("h2", LoginLink { email: "zed@x.io".into(), ..link.clone() }).await),
        Err("not_found")
    );
    d.create_login_link("h3", link.clone()).await.expect("link");
    assert_eq!(d.redeem_login_link("h1", later(1)).await.expect("redeem"), Some(link.clone()));
    assert_eq!(d.redeem_login_link("h1", later(2)).await.expect("again"), None);
    assert_eq!(d.redeem_login_link("h3", later(600)).await.expect("expired"), None);
    // Sessions.
    let session = Session {
        org_id: "o".into(),
        email: "ann@x.io".into(),
        csrf_token: "csrf".into(),
        created_at: now,
        expires_at: later(60),
    };
    d.create_session("s1", session.clone()).await.expect("session");
    assert_eq!(d.session("s1", later(1)).await.expect("session"), Some(session.clone()));
    assert_eq!(d.session("s1", later(60)).await.expect("expired"), None);
    d.create_session("s2", session.clone()).await.expect("session");
    d.delete_session("s2").await.expect("delete");
    assert_eq!(d.session("s2", later(1)).await.expect("deleted"), None);
    // Removing a member revokes their keys and ends their sessions.
    d.create_session("s3", Session { expires_at: later(3600), ..session }).await.expect("session");
    d.remove_member("o", "ann@x.io", later(40)).await.expect("remove ann");
    assert_eq!(d.key("k2").await.expect("key").and_then(|k| k.revoked_at), Some(later(40)));
    assert_eq!(d.session("s3", later(1)).await.expect("session"), None);
    // Ann's sessions and unused links went with her; the used link h1 remains until it expires.
    assert_eq!(d.purge_expired(later(100_000)).await.expect("purge"), 1);
}
