//! Opening the db: the database created or checked (schema version,
//! format break, owning node), the initial catalogue written, the figures
//! backfilled from the log once (a database made before them), the history
//! index caught up, and the writer started.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex, mpsc};

use redb::{Database, Durability, ReadableDatabase, ReadableTable};
use tongka_core::catalogue::Product;
use tongka_core::clock::Hlc;
use tongka_core::ids::NodeId;

use crate::history::{catch_up_index, history_path};
use crate::tables::*;
use crate::values::u64_from;
use crate::writer::{CommitStats, write_products, writer_loop};
use crate::{Db, DbError, Shared, Summary};

/// State recovered at open.
#[derive(Debug, Clone)]
pub struct Recovered {
    pub hlc: Hlc,
}

pub struct DbOptions {
    pub node: NodeId,
    /// The most requests folded into one commit.
    pub max_batch: usize,
    /// How many requests may wait for the writer before `submit` blocks.
    pub queue_max: usize,
}

impl Db {
    /// Open (or create) the database at `path` for node `opts.node`,
    /// checking the schema version, and start the writer.
    pub fn open(path: &Path, opts: DbOptions) -> Result<(Db, Recovered), DbError> {
        let db = Database::create(path)?;
        let summary = Self::init(&db, &opts.node)?;
        let history = Database::create(history_path(path))?;
        let indexed = catch_up_index(&db, &history, &opts.node, &summary.vv)?;
        let entity = {
            let r = db.begin_read()?;
            let meta = r.open_table(META)?;
            meta.get("entity")?
                .map(|v| u64_from(v.value()))
                .unwrap_or(0)
        };
        let recovered = Recovered { hlc: summary.hlc };
        let shared = Arc::new(Shared {
            db,
            node: opts.node,
            entity: AtomicU64::new(entity),
            poisoned: Mutex::new(None),
            is_poisoned: AtomicBool::new(false),
            summary: Mutex::new(summary),
            stats: CommitStats::default(),
            watchers: Mutex::new(Vec::new()),
            history,
            unindexed: Mutex::new(Vec::new()),
            index_failed: AtomicBool::new(false),
            signer: std::sync::OnceLock::new(),
        });
        let (tx, rx) = mpsc::sync_channel(opts.queue_max.max(1));
        let w = shared.clone();
        let max_batch = opts.max_batch.max(1);
        let handle = std::thread::Builder::new()
            .name("tongka-writer".into())
            .spawn(move || writer_loop(&w, &rx, max_batch, indexed))
            .expect("spawn writer thread");
        Ok((
            Db {
                shared,
                tx,
                writer: Arc::new(Mutex::new(Some(handle))),
            },
            recovered,
        ))
    }

    fn init(db: &Database, node: &NodeId) -> Result<Summary, DbError> {
        let mut w = db.begin_write()?;
        w.set_durability(Durability::Immediate)?;
        let mut summary = {
            let mut meta = w.open_table(META)?;
            let schema = meta
                .get("schema")?
                .map(|v| u32::from_le_bytes(v.value()[..4].try_into().unwrap_or([0; 4])));
            match schema {
                None => {
                    meta.insert("schema", SCHEMA_VERSION.to_le_bytes().as_slice())?;
                    meta.insert("node", node.as_str().as_bytes())?;
                    meta.insert("instance", random_u64().to_le_bytes().as_slice())?;
                }
                // Before this schema (the format break was 8): refused, not upgraded.
                Some(found) if found < SCHEMA_VERSION => {
                    return Err(DbError::FormatTooOld { found });
                }
                Some(found) if found != SCHEMA_VERSION => {
                    return Err(DbError::Schema {
                        found,
                        expected: SCHEMA_VERSION,
                    });
                }
                Some(_) => {}
            }
            let stored_node = meta
                .get("node")?
                .map(|v| String::from_utf8_lossy(v.value()).into_owned());
            if let Some(found) = stored_node
                && found != node.as_str()
            {
                return Err(DbError::WrongNode {
                    found,
                    expected: node.to_string(),
                });
            }
            let (summary, totals) = (meta.get("summary")?, meta.get("totals")?);
            Summary::read(
                summary.as_ref().map(|v| v.value()),
                totals.as_ref().map(|v| v.value()),
            )?
        };
        for t in [MEMBERS, ORDERS, IDEM, PRODUCTS] {
            w.open_table(t)?;
        }
        w.open_table(OPS)?;
        w.open_table(PHONES)?;
        w.open_table(CARDS)?;
        w.open_table(BARCODES)?;
        w.open_table(DUPLICATES)?;
        w.open_table(REJECTED)?;
        w.open_table(REFUSED)?;
        w.open_table(MERGED)?;
        drop(crate::stock::StockTables::open(&w)?);
        drop(crate::closes::ClosesTables::open(&w)?);
        crate::figures::backfill(&w)?;
        crate::figures_more::backfill(&w)?;
        summary.held = crate::held::backfill(&w)?;
        init_catalogue(&w)?;
        w.commit()?;
        Ok(summary)
    }
}

/// A number unlikely to repeat (std's per-process random hash keys).
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

/// A new database gets the initial catalogue document, materialised in
/// `products` and `barcodes`.
fn init_catalogue(w: &redb::WriteTransaction) -> Result<(), DbError> {
    use tongka_core::catalogue_doc;
    let mut meta = w.open_table(META)?;
    if meta.get("catalogue")?.is_some() {
        return Ok(());
    }
    let mut products = w.open_table(PRODUCTS)?;
    let mut barcodes = w.open_table(BARCODES)?;
    let doc = catalogue_doc::initial();
    let initial = catalogue_doc::materialise(&doc).expect("the initial catalogue is valid");
    let rows: Vec<Product> = initial.into_values().collect();
    write_products(&mut products, &mut barcodes, &rows)?;
    meta.insert("catalogue", doc.save().as_slice())?;
    Ok(())
}
