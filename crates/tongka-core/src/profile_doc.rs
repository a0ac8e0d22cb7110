//! A member's profile as an automerge document: concurrent edits made at
//! different stores merge field by field (a register per field; the tags a
//! set whose concurrent adds all stay), whatever order they arrive in.
//!
//! Deterministic use, so node, tests and simulator agree byte for byte:
//! the automerge actor of a change is its origin node's name, its time is
//! the op's HLC milliseconds, and the registration's document is built the
//! same way on every node from the registration op. A profile op carries
//! the change its origin made (`Change::raw_bytes`); every node applies
//! that change. The document is kept serialised (`save()`, compact) and
//! loaded only while a change is made or applied; after a change applied
//! out of causal-history order the document is re-saved in a canonical
//! change order, so nodes holding the same ops hold the same bytes.
//! Reads use the materialised `Profile`, never the document.
//!
//! Layout (root map): `phone`, `name`, `notes` strings; `birthday`,
//! `gender`, `card_no`, `invited_by` strings, absent when unset; `tags` a
//! map from tag to `true`, created by the registration.

use std::collections::{BTreeSet, HashSet};

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{
    ActorId, Automerge, AutomergeError, Change, ObjType, ROOT, ReadDoc, ScalarValue, Value,
};

use crate::clock::Hlc;
use crate::ids::NodeId;
use crate::member::{Gender, Profile, ProfilePatch, TAGS_MAX};

/// A document or change that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DocError {
    #[error("automerge document: {0}")]
    Malformed(String),
    #[error("profile change authored by {author}, not by its origin {origin}")]
    Author { author: String, origin: NodeId },
    #[error("profile change depends on changes this document lacks")]
    MissingDeps,
}

pub(crate) fn malformed(e: impl std::fmt::Display) -> DocError {
    DocError::Malformed(e.to_string())
}

/// The author of `node`'s changes (automerge's actor id): its name's
/// bytes.
pub fn author_of(node: &NodeId) -> ActorId {
    ActorId::from(node.as_str().as_bytes())
}

pub(crate) fn options(at: Hlc) -> CommitOptions {
    CommitOptions::default().with_time(i64::try_from(at.ms).unwrap_or(i64::MAX))
}

fn gender_str(g: Gender) -> &'static str {
    match g {
        Gender::Female => "female",
        Gender::Male => "male",
        Gender::Other => "other",
    }
}

fn gender_of(s: &str) -> Option<Gender> {
    match s {
        "female" => Some(Gender::Female),
        "male" => Some(Gender::Male),
        "other" => Some(Gender::Other),
        _ => None,
    }
}

fn put_opt(
    tx: &mut impl Transactable,
    key: &str,
    v: Option<&str>,
) -> Result<(), automerge::AutomergeError> {
    match v {
        Some(v) => tx.put(ROOT, key, v),
        None => tx.delete(ROOT, key),
    }
}

/// The document a registration makes: equal bytes on every node.
pub fn initial(profile: &Profile, origin: &NodeId, at: Hlc) -> Automerge {
    let mut doc = Automerge::new();
    doc.set_actor(author_of(origin));
    let mut tx = doc.transaction();
    let r = (|| -> Result<(), automerge::AutomergeError> {
        tx.put(ROOT, "phone", profile.phone.as_str())?;
        tx.put(ROOT, "name", profile.name.as_str())?;
        tx.put(ROOT, "notes", profile.notes.as_str())?;
        for (k, v) in [
            ("birthday", profile.birthday.as_deref()),
            ("gender", profile.gender.map(gender_str)),
            ("card_no", profile.card_no.as_deref()),
            ("invited_by", profile.invited_by.as_deref()),
        ] {
            if let Some(v) = v {
                tx.put(ROOT, k, v)?;
            }
        }
        let tags = tx.put_object(ROOT, "tags", ObjType::Map)?;
        for t in &profile.tags {
            tx.put(&tags, t.as_str(), true)?;
        }
        Ok(())
    })();
    r.expect("writing fresh keys of a fresh document cannot fail");
    tx.commit_with(options(at));
    doc
}

pub fn load(bytes: &[u8]) -> Result<Automerge, DocError> {
    Automerge::load(bytes).map_err(malformed)
}

fn string(doc: &Automerge, key: &str) -> Option<String> {
    match doc.get(ROOT, key).ok()?? {
        (Value::Scalar(s), _) => match s.as_ref() {
            ScalarValue::Str(s) => Some(s.to_string()),
            _ => None,
        },
        _ => None,
    }
}

fn tags_obj(doc: &Automerge) -> Option<automerge::ObjId> {
    match doc.get(ROOT, "tags").ok()?? {
        (Value::Object(ObjType::Map), id) => Some(id),
        _ => None,
    }
}

/// The profile a document holds. Tags come sorted; past `TAGS_MAX` (which
/// concurrent adds can reach) the first `TAGS_MAX` are kept.
pub fn materialise(doc: &Automerge) -> Profile {
    let tags = tags_obj(doc)
        .map(|t| {
            doc.keys(&t)
                .collect::<BTreeSet<String>>()
                .into_iter()
                .take(TAGS_MAX)
                .collect()
        })
        .unwrap_or_default();
    Profile {
        phone: string(doc, "phone").unwrap_or_default(),
        name: string(doc, "name").unwrap_or_default(),
        birthday: string(doc, "birthday"),
        gender: string(doc, "gender").and_then(|g| gender_of(&g)),
        card_no: string(doc, "card_no"),
        invited_by: string(doc, "invited_by"),
        tags,
        notes: string(doc, "notes").unwrap_or_default(),
    }
}

/// Make one change of `doc` as `origin` at `at`: `write` puts what it
/// wants in one transaction, committed to `doc`. The change's bytes, or
/// `None` when it wrote nothing. Writing root-level keys of a loaded
/// document cannot fail.
pub(crate) fn make_change(
    doc: &mut Automerge,
    origin: &NodeId,
    at: Hlc,
    write: impl FnOnce(&mut automerge::transaction::Transaction<'_>) -> Result<(), AutomergeError>,
) -> Option<Vec<u8>> {
    doc.set_actor(author_of(origin));
    let mut tx = doc.transaction();
    write(&mut tx).expect("writing root-level keys of a loaded document cannot fail");
    let (hash, _) = tx.commit_with(options(at));
    hash?;
    doc.get_last_local_change().map(|c| c.raw_bytes().to_vec())
}

/// Make the change `patch` asks of `doc` as `origin` at `at`, commit it to
/// `doc`, and return its bytes (`None` when the patch writes nothing).
/// Fields given are written even when equal to the current value (an edit
/// asserts its value); tags are a set: the ones the patch lacks are
/// removed, the new ones added, so concurrent adds all stay.
pub fn change(
    doc: &mut Automerge,
    origin: &NodeId,
    at: Hlc,
    patch: &ProfilePatch,
) -> Option<Vec<u8>> {
    let current = materialise(doc);
    let tags = tags_obj(doc);
    make_change(doc, origin, at, |tx| {
        if let Some(v) = &patch.phone {
            tx.put(ROOT, "phone", v.as_str())?;
        }
        if let Some(v) = &patch.name {
            tx.put(ROOT, "name", v.trim())?;
        }
        if let Some(v) = &patch.birthday {
            put_opt(tx, "birthday", v.as_deref())?;
        }
        if let Some(v) = &patch.gender {
            put_opt(tx, "gender", v.map(gender_str))?;
        }
        if let Some(v) = &patch.card_no {
            put_opt(tx, "card_no", v.as_deref())?;
        }
        if let Some(v) = &patch.notes {
            tx.put(ROOT, "notes", v.as_str())?;
        }
        if let Some(want) = &patch.tags {
            let obj = match &tags {
                Some(t) => t.clone(),
                None => tx.put_object(ROOT, "tags", ObjType::Map)?,
            };
            let want: BTreeSet<&str> = want.iter().map(String::as_str).collect();
            for t in &current.tags {
                if !want.contains(t.as_str()) {
                    tx.delete(&obj, t.as_str())?;
                }
            }
            for t in want {
                if !current.tags.iter().any(|c| c == t) {
                    tx.put(&obj, t, true)?;
                }
            }
        }
        Ok(())
    })
}

/// Make the change a merge makes of the survivor's `doc`: blank fields
/// (birthday, gender, card number, referrer, notes) filled from `other`,
/// `other`'s tags added. `None` when it writes nothing.
pub fn fill_change(
    doc: &mut Automerge,
    origin: &NodeId,
    at: Hlc,
    other: &Profile,
) -> Option<Vec<u8>> {
    let current = materialise(doc);
    let tags = tags_obj(doc);
    make_change(doc, origin, at, |tx| {
        for (key, mine, theirs) in [
            (
                "birthday",
                current.birthday.as_deref(),
                other.birthday.as_deref(),
            ),
            (
                "gender",
                current.gender.map(gender_str),
                other.gender.map(gender_str),
            ),
            (
                "card_no",
                current.card_no.as_deref(),
                other.card_no.as_deref(),
            ),
            (
                "invited_by",
                current.invited_by.as_deref(),
                other.invited_by.as_deref(),
            ),
        ] {
            if let (None, Some(v)) = (mine, theirs) {
                tx.put(ROOT, key, v)?;
            }
        }
        if current.notes.is_empty() && !other.notes.is_empty() {
            tx.put(ROOT, "notes", other.notes.as_str())?;
        }
        let new: Vec<&String> = other
            .tags
            .iter()
            .filter(|t| !current.tags.contains(t))
            .collect();
        if !new.is_empty() {
            let obj = match &tags {
                Some(t) => t.clone(),
                None => tx.put_object(ROOT, "tags", ObjType::Map)?,
            };
            for t in new {
                tx.put(&obj, t.as_str(), true)?;
            }
        }
        Ok(())
    })
}

/// Apply a change made by `origin` (its bytes, from an op) to `doc`.
pub fn apply(doc: &mut Automerge, origin: &NodeId, bytes: &[u8]) -> Result<(), DocError> {
    let change = Change::from_bytes(bytes.to_vec()).map_err(malformed)?;
    if change.actor_id() != &author_of(origin) {
        return Err(DocError::Author {
            author: String::from_utf8_lossy(change.actor_id().to_bytes()).into_owned(),
            origin: origin.clone(),
        });
    }
    if change
        .deps()
        .iter()
        .any(|h| doc.get_change_by_hash(h).is_none())
    {
        return Err(DocError::MissingDeps);
    }
    // A change that depends on every head (it may also name its actor's
    // previous change) comes last in the canonical order too: appending it
    // keeps a canonical document canonical.
    let deps: HashSet<_> = change.deps().iter().copied().collect();
    let follows_heads = doc.get_heads().iter().all(|h| deps.contains(h));
    doc.apply_changes([change]).map_err(malformed)?;
    if !follows_heads {
        *doc = canonical(doc)?;
    }
    Ok(())
}

/// `doc` rebuilt with its changes applied in one order that depends only
/// on the set of changes (causal order, ties by hash), so `save()` gives
/// the same bytes on every node holding the same changes.
pub fn canonical(doc: &Automerge) -> Result<Automerge, DocError> {
    let mut pending = doc.get_changes(&[]);
    let mut done = HashSet::new();
    let mut out = Automerge::new();
    while !pending.is_empty() {
        let next = (0..pending.len())
            .filter(|&i| pending[i].deps().iter().all(|h| done.contains(h)))
            .min_by_key(|&i| pending[i].hash())
            .ok_or(DocError::MissingDeps)?;
        let ch = pending.swap_remove(next);
        done.insert(ch.hash());
        out.apply_changes([ch]).map_err(malformed)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> NodeId {
        NodeId::new(s).unwrap()
    }

    fn profile() -> Profile {
        Profile {
            phone: "13800000000".into(),
            name: "原名".into(),
            birthday: None,
            gender: Some(Gender::Female),
            card_no: Some("CARD1".into()),
            invited_by: None,
            tags: vec!["vip".into()],
            notes: String::new(),
        }
    }

    #[test]
    fn registration_documents_are_byte_identical() {
        let at = Hlc { ms: 42, count: 1 };
        let a = initial(&profile(), &n("store-1"), at).save();
        let b = initial(&profile(), &n("store-1"), at).save();
        assert_eq!(a, b);
        assert_eq!(materialise(&load(&a).unwrap()), profile());
    }

    #[test]
    fn tags_merge_as_a_set_and_changes_check_their_author() {
        let at = Hlc { ms: 1, count: 0 };
        let base = initial(&profile(), &n("a"), at).save();
        let mut x = load(&base).unwrap();
        let cx = change(
            &mut x,
            &n("b"),
            at,
            &ProfilePatch {
                tags: Some(vec!["vip".into(), "tea".into()]),
                ..Default::default()
            },
        )
        .unwrap();
        let mut y = load(&base).unwrap();
        let cy = change(
            &mut y,
            &n("c"),
            at,
            &ProfilePatch {
                tags: Some(vec!["coffee".into()]),
                ..Default::default()
            },
        )
        .unwrap();
        apply(&mut x, &n("c"), &cy).unwrap();
        apply(&mut y, &n("b"), &cx).unwrap();
        assert_eq!(x.save(), y.save());
        // c removed vip, b kept it without writing it: the removal stands;
        // both adds stay.
        assert_eq!(materialise(&x).tags, vec!["coffee", "tea"]);
        let mut z = load(&base).unwrap();
        assert!(matches!(
            apply(&mut z, &n("a"), &cx),
            Err(DocError::Author { .. })
        ));
        assert!(matches!(
            apply(&mut z, &n("b"), b"junk"),
            Err(DocError::Malformed(_))
        ));
    }
}
