//! Categories: a tree of any depth (each category names its parent, none
//! for a root), each defining attributes (产地, 颜色, 供应商…) that its
//! products and every subcategory's products may carry.
//!
//! Moves: an edit that would put a category under itself or under one of
//! its descendants (in its author's view) is refused (`category_cycle`).
//! Two concurrent moves can still make a cycle (A moved under B at one HQ
//! writer while B is moved under A at another): `resolve` then breaks
//! each cycle at its category with the lowest id (byte order), which
//! shows as a root, on every node alike, whatever order the moves
//! arrived in. A later move of that category puts it where HQ wants it.
//! Categories are never removed (as products), so a parent always exists
//! once seen; a parent not (yet) known shows as a root too.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{CategoryError, validate_sku};
use crate::text;

/// The most attributes one category defines.
pub const CATEGORY_ATTRIBUTES_MAX: usize = 20;
/// The most characters of a category's or an attribute's name.
pub const CATEGORY_NAME_LEN_MAX: usize = 40;
pub const ATTRIBUTE_NAME_LEN_MAX: usize = 20;

/// A category's id: HQ's choice, like a sku (1 to 32 ASCII letters,
/// digits, `-`, `_`).
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    minicbor::Encode,
    minicbor::Decode,
)]
#[serde(transparent)]
#[cbor(transparent)]
pub struct CategoryId(#[n(0)] pub String);

impl CategoryId {
    pub fn new(id: impl Into<String>) -> Result<CategoryId, CategoryError> {
        let id = id.into();
        validate_sku(&id).map_err(|_| CategoryError::Id)?;
        Ok(CategoryId(id))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for CategoryId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    pub id: CategoryId,
    pub name: String,
    pub parent: Option<CategoryId>,
    /// The attributes it defines (names, each once); its subcategories
    /// inherit them.
    pub attributes: Vec<String>,
}

impl Category {
    /// Check a category a client sets: its name and attribute names held
    /// to `text`'s rule (they are shown at the till and printed).
    pub fn validate(&self) -> Result<(), CategoryError> {
        validate_sku(self.id.as_str()).map_err(|_| CategoryError::Id)?;
        if let Some(p) = &self.parent {
            validate_sku(p.as_str()).map_err(|_| CategoryError::Id)?;
        }
        text::check_text(&self.name, 1, CATEGORY_NAME_LEN_MAX).map_err(CategoryError::Name)?;
        if self.attributes.len() > CATEGORY_ATTRIBUTES_MAX {
            return Err(CategoryError::AttributeCount);
        }
        let mut seen = BTreeSet::new();
        for a in &self.attributes {
            text::check_text(a, 1, ATTRIBUTE_NAME_LEN_MAX).map_err(CategoryError::Attributes)?;
            if !seen.insert(a.as_str()) {
                return Err(CategoryError::AttributeCount);
            }
        }
        Ok(())
    }
}

/// The categories by id, as materialised (cycles broken by `resolve`).
pub type Categories = BTreeMap<CategoryId, Category>;

/// Break every cycle of parents at its lowest id (module doc), and make a
/// category whose parent is unknown a root. Deterministic: depends only
/// on the set of categories.
pub fn resolve(cats: &mut Categories) {
    let ids: Vec<CategoryId> = cats.keys().cloned().collect();
    for p in cats.values_mut() {
        if p.parent.as_ref().is_some_and(|q| !ids.contains(q)) {
            p.parent = None;
        }
    }
    // Each category has one parent: a component holds at most one cycle.
    // Walk up from each id; a walk that meets itself found a cycle, broken
    // at its lowest id; walks then repeat until none is found.
    loop {
        let mut broke = false;
        for start in &ids {
            let mut path: Vec<&CategoryId> = vec![start];
            let mut at = start;
            while let Some(next) = cats.get(at).and_then(|c| c.parent.as_ref()) {
                if let Some(pos) = path.iter().position(|p| *p == next) {
                    let lowest = path[pos..].iter().min().map(|c| (*c).clone());
                    if let Some(lowest) = lowest
                        && let Some(c) = cats.get_mut(&lowest)
                    {
                        c.parent = None;
                        broke = true;
                    }
                    break;
                }
                path.push(next);
                at = next;
            }
            if broke {
                break;
            }
        }
        if !broke {
            return;
        }
    }
}

/// `id` and its ancestors, nearest first (cycles already broken).
pub fn lineage<'a>(cats: &'a Categories, id: &CategoryId) -> Vec<&'a Category> {
    let mut out: Vec<&Category> = Vec::new();
    let mut at = cats.get(id);
    while let Some(c) = at {
        if out.iter().any(|o| o.id == c.id) {
            break;
        }
        out.push(c);
        at = c.parent.as_ref().and_then(|p| cats.get(p));
    }
    out
}

/// The attributes a product of category `id` may carry: its own and every
/// ancestor's, nearest first, each once.
pub fn attributes_of(cats: &Categories, id: &CategoryId) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in lineage(cats, id) {
        for a in &c.attributes {
            if !out.contains(a) {
                out.push(a.clone());
            }
        }
    }
    out
}

/// Whether putting `id` under `parent` makes a cycle in `cats` (the
/// author's view): `parent` is `id` or one of its descendants.
pub fn would_cycle(cats: &Categories, id: &CategoryId, parent: &CategoryId) -> bool {
    parent == id || lineage(cats, parent).iter().any(|c| &c.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn cat(id: &str, parent: Option<&str>) -> Category {
        Category {
            id: CategoryId(id.into()),
            name: id.into(),
            parent: parent.map(|p| CategoryId(p.into())),
            attributes: vec![format!("attr-{id}")],
        }
    }

    fn of(list: &[Category]) -> Categories {
        list.iter().map(|c| (c.id.clone(), c.clone())).collect()
    }

    #[test]
    fn attributes_are_inherited_nearest_first() {
        let cats = of(&[
            cat("food", None),
            cat("fruit", Some("food")),
            cat("apple", Some("fruit")),
        ]);
        assert_eq!(
            attributes_of(&cats, &CategoryId("apple".into())),
            vec!["attr-apple", "attr-fruit", "attr-food"]
        );
        assert!(would_cycle(
            &cats,
            &CategoryId("food".into()),
            &CategoryId("apple".into())
        ));
        assert!(!would_cycle(
            &cats,
            &CategoryId("apple".into()),
            &CategoryId("food".into())
        ));
    }

    #[test]
    fn a_cycle_breaks_at_its_lowest_id() {
        let mut cats = of(&[
            cat("b", Some("c")),
            cat("c", Some("a")),
            cat("a", Some("b")),
            cat("d", Some("b")),
            cat("e", Some("gone")),
        ]);
        resolve(&mut cats);
        assert_eq!(cats[&CategoryId("a".into())].parent, None);
        assert_eq!(
            cats[&CategoryId("b".into())].parent,
            Some(CategoryId("c".into()))
        );
        assert_eq!(cats[&CategoryId("e".into())].parent, None);
    }

    proptest! {
        /// Any parent pointers: after `resolve` no cycle is left and the
        /// result does not depend on the order categories were listed in.
        #[test]
        fn resolve_leaves_a_forest(parents in proptest::collection::vec(proptest::option::of(0u8..8), 1..8)) {
            let list: Vec<Category> = parents.iter().enumerate().map(|(i, p)| {
                let id = format!("c{i}");
                let parent = p.map(|p| format!("c{p}"));
                cat(&id, parent.as_deref())
            }).collect();
            let mut a = of(&list);
            let mut rev = list.clone();
            rev.reverse();
            let mut b = of(&rev);
            resolve(&mut a);
            resolve(&mut b);
            prop_assert_eq!(&a, &b);
            for id in a.keys() {
                prop_assert!(lineage(&a, id).len() <= a.len());
                let mut seen = BTreeSet::new();
                let mut at = Some(id.clone());
                while let Some(x) = at {
                    prop_assert!(seen.insert(x.clone()), "cycle through {}", x);
                    at = a[&x].parent.clone();
                }
            }
        }
    }
}
