//! The programme and catalogue documents (automerge): HQ's changes made
//! here (`change_programme`, `change_catalogue`) and those made elsewhere
//! applied in their place among remote ops.

use std::sync::Arc;

use tongka_core::catalogue::{Categories, Category, Product};
use tongka_core::catalogue_doc::{self, Catalogue};
use tongka_core::op::{Op, OpBody};
use tongka_core::programme::Programme;
use tongka_core::programme_doc;
use tongka_db::{CatalogueWrite, Effects};

use crate::account::Encoding;
use crate::core::durable;
use crate::{Engine, EngineError, Idem, Outcome};

/// The products of `now` whose materialised row differs from `before`'s
/// (the catalogue only grows: no product is removed).
fn changed_products(before: &Catalogue, now: &Catalogue) -> Vec<Product> {
    now.values()
        .filter(|p| before.get(&p.sku) != Some(*p))
        .cloned()
        .collect()
}

impl Engine {
    /// HQ (or a chain-less node) changes the programme to `asked`: an
    /// automerge change of the programme document, logged as a
    /// `ProgrammeChanged` op. Decisions made after it use it; ops made
    /// before keep what they decided. Answers once durable. Who may ask is
    /// the caller's check (the API: HQ or a node without a chain), and the
    /// engine refuses the draft of a store of a chain (`set_role`).
    pub async fn change_programme(
        &self,
        asked: Programme,
        by: String,
        idem: Option<Idem>,
    ) -> Result<(Outcome, bool), EngineError> {
        self.idempotent(idem, move |me, idem| async move {
            let (rx, outcome) = {
                let mut doc_bytes = me.core.programme_doc.lock().expect("programme lock");
                let mut doc = programme_doc::load(&doc_bytes)
                    .map_err(|e| EngineError::Internal(e.to_string()))?;
                let at = me.core.tick();
                let change = match programme_doc::change(&mut doc, &me.core.node, at, &asked) {
                    Ok(c) => c,
                    Err(programme_doc::ProgrammeDocError::Invalid(e)) => return Err(e.into()),
                    Err(e) => return Err(EngineError::Internal(e.to_string())),
                };
                let now = programme_doc::materialise(&doc)
                    .map_err(|e| EngineError::Internal(e.to_string()))?;
                let outcome = Outcome::Programme(now.clone());
                let Some(change) = change else {
                    // Nothing differs: nothing to log.
                    me.end_idem(idem.as_ref());
                    return Ok(outcome);
                };
                let body = OpBody::ProgrammeChanged {
                    change,
                    programme: now.clone(),
                };
                let (draft, _) = me.core.draft_at(by, idem.as_ref(), body, at)?;
                let saved = programme_doc::canonical(&doc)
                    .map_err(|e| EngineError::Internal(e.to_string()))?
                    .save();
                let effects = Effects {
                    programme: Some(saved.clone()),
                    idem: idem.as_ref().map(|i| i.record(&outcome)),
                    ..Default::default()
                };
                let key = idem.as_ref().map(|i| i.key.clone());
                let rx = me.core.submit_local(draft, effects, key);
                *doc_bytes = saved;
                *me.core.programme.write().expect("programme lock") = Arc::new(now);
                (rx, outcome)
            };
            durable(rx, outcome).await
        })
        .await
    }

    /// Apply HQ's `ProgrammeChanged` op made elsewhere: its change to the
    /// programme document, in its place among the ops handed to the
    /// writer. A change that does not apply is logged as rejected.
    fn apply_programme_remote(&self, op: Op, encoded: Encoding, on_durable: tongka_db::Done) {
        let OpBody::ProgrammeChanged { change, .. } = &op.body else {
            unreachable!("called for programme changes only")
        };
        let mut doc_bytes = self.core.programme_doc.lock().expect("programme lock");
        let mut effects = Effects::default();
        match programme_doc::apply_to(&doc_bytes, op.origin(), change) {
            Ok((bytes, now)) => {
                *doc_bytes = bytes.clone();
                effects.programme = Some(bytes);
                *self.core.programme.write().expect("programme lock") = Arc::new(now);
            }
            Err(e) => effects.rejected = Some(e.to_string()),
        }
        self.core.observe(op.hlc);
        self.core.submit_remote(op, encoded, effects, on_durable);
    }

    /// HQ (or a chain-less node) puts `products` (new ones or new
    /// versions) into the catalogue: an automerge change of the catalogue
    /// document, logged as a `CatalogueChanged` op and materialised in the
    /// same commit. Sales decided after it use the new prices; sales made
    /// before keep theirs. Answers the products as materialised, once
    /// durable. Who may ask is the caller's check (the API: HQ or a node
    /// without a chain), and the engine refuses the draft of a store of a
    /// chain (`set_role`).
    pub async fn change_catalogue(
        &self,
        products: Vec<Product>,
        by: String,
    ) -> Result<Vec<Product>, EngineError> {
        let rx = {
            let mut held = self.core.catalogue.lock().expect("catalogue lock");
            let mut doc =
                catalogue_doc::load(&held.0).map_err(|e| EngineError::Internal(e.to_string()))?;
            let at = self.core.tick();
            let change = match catalogue_doc::change(&mut doc, &self.core.node, at, &products) {
                Ok(c) => c,
                Err(catalogue_doc::CatalogueDocError::Invalid(e)) => return Err(e.into()),
                Err(e) => return Err(EngineError::Internal(e.to_string())),
            };
            let now = catalogue_doc::materialise(&doc)
                .map_err(|e| EngineError::Internal(e.to_string()))?;
            let answer: Vec<Product> = products
                .iter()
                .filter_map(|p| now.get(&p.sku).cloned())
                .collect();
            let Some(change) = change else {
                return Ok(answer);
            };
            let body = OpBody::CatalogueChanged { change, products };
            let (draft, _) = self.core.draft_at(by, None, body, at)?;
            let saved = catalogue_doc::canonical(&doc)
                .map_err(|e| EngineError::Internal(e.to_string()))?
                .save();
            let effects = Effects {
                catalogue: Some(CatalogueWrite {
                    doc: saved.clone(),
                    products: changed_products(&held.1, &now),
                }),
                ..Default::default()
            };
            let (tx, rx) = tokio::sync::oneshot::channel();
            self.core.db.submit(
                tongka_db::Source::Local(draft),
                effects,
                Box::new(move |res| {
                    let _ = tx.send(res.map(|_| answer));
                }),
            );
            let barcodes = catalogue_doc::barcodes(&now);
            *held = (saved, now, barcodes);
            rx
        };
        match rx.await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => Err(EngineError::Internal("the writer stopped".into())),
        }
    }

    /// The catalogue as this node holds it (products by sku, barcodes
    /// resolved) and its categories: what the API shows and imports
    /// against.
    pub fn catalogue(&self) -> Result<(Catalogue, Categories), EngineError> {
        let held = self.core.catalogue.lock().expect("catalogue lock");
        let doc = catalogue_doc::load(&held.0).map_err(|e| EngineError::Internal(e.to_string()))?;
        let cats =
            catalogue_doc::categories(&doc).map_err(|e| EngineError::Internal(e.to_string()))?;
        Ok((held.1.clone(), cats))
    }

    /// A product by sku, or by any of its barcodes, from the catalogue held.
    pub fn product(&self, sku: Option<&str>, barcode: Option<&str>) -> Option<Product> {
        let held = self.core.catalogue.lock().expect("catalogue lock");
        let sku = match (sku, barcode) {
            (Some(s), _) => s.to_string(),
            (None, Some(b)) => held.2.get(b)?.clone(),
            (None, None) => return None,
        };
        held.1.get(&sku).cloned()
    }

    /// HQ puts `asked` (new categories, renames, moves, attribute
    /// definitions) into the catalogue document: a `CatalogueChanged` op
    /// (its `products` empty), as `change_catalogue`. Answers the
    /// categories as materialised, once durable.
    pub async fn change_categories(
        &self,
        asked: Vec<Category>,
        by: String,
    ) -> Result<Categories, EngineError> {
        let rx = {
            let mut held = self.core.catalogue.lock().expect("catalogue lock");
            let mut doc =
                catalogue_doc::load(&held.0).map_err(|e| EngineError::Internal(e.to_string()))?;
            let at = self.core.tick();
            let change =
                match catalogue_doc::change_categories(&mut doc, &self.core.node, at, &asked) {
                    Ok(c) => c,
                    Err(catalogue_doc::CatalogueDocError::Invalid(e)) => return Err(e.into()),
                    Err(e) => return Err(EngineError::Internal(e.to_string())),
                };
            let answer = catalogue_doc::categories(&doc)
                .map_err(|e| EngineError::Internal(e.to_string()))?;
            let Some(change) = change else {
                return Ok(answer);
            };
            let body = OpBody::CatalogueChanged {
                change,
                products: Vec::new(),
            };
            let (draft, _) = self.core.draft_at(by, None, body, at)?;
            let saved = catalogue_doc::canonical(&doc)
                .map_err(|e| EngineError::Internal(e.to_string()))?
                .save();
            let effects = Effects {
                catalogue: Some(CatalogueWrite {
                    doc: saved.clone(),
                    products: Vec::new(),
                }),
                ..Default::default()
            };
            let (tx, rx) = tokio::sync::oneshot::channel();
            self.core.db.submit(
                tongka_db::Source::Local(draft),
                effects,
                Box::new(move |res| {
                    let _ = tx.send(res.map(|_| answer));
                }),
            );
            held.0 = saved;
            rx
        };
        match rx.await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => Err(EngineError::Internal("the writer stopped".into())),
        }
    }

    /// Apply HQ's `CatalogueChanged` op made elsewhere: its change to the
    /// catalogue document, materialised in the same commit, in its place
    /// among the ops handed to the writer. A change that does not apply is
    /// logged as rejected.
    fn apply_catalogue_remote(&self, op: Op, encoded: Encoding, on_durable: tongka_db::Done) {
        let OpBody::CatalogueChanged { change, .. } = &op.body else {
            unreachable!("called for catalogue changes only")
        };
        let mut held = self.core.catalogue.lock().expect("catalogue lock");
        let mut effects = Effects::default();
        match catalogue_doc::apply_to(&held.0, op.origin(), change) {
            Ok((bytes, now)) => {
                effects.catalogue = Some(CatalogueWrite {
                    doc: bytes.clone(),
                    products: changed_products(&held.1, &now),
                });
                let barcodes = catalogue_doc::barcodes(&now);
                *held = (bytes, now, barcodes);
            }
            Err(e) => effects.rejected = Some(e.to_string()),
        }
        self.core.observe(op.hlc);
        self.core.submit_remote(op, encoded, effects, on_durable);
    }

    /// Apply a programme or catalogue change made elsewhere (stored as
    /// received when its encoding is given).
    pub(crate) fn apply_document_remote(
        &self,
        op: Op,
        encoded: Encoding,
        on_durable: tongka_db::Done,
    ) {
        if matches!(op.body, OpBody::CatalogueChanged { .. }) {
            self.apply_catalogue_remote(op, encoded, on_durable);
        } else {
            self.apply_programme_remote(op, encoded, on_durable);
        }
    }
}
