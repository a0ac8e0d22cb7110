//! `tongka bench profiles`: what profiles as automerge documents cost.
//!
//! 1. Size: the registration's document and a document after edits from
//!    three stores, saved (`save()`, the bytes a member keeps in redb) and
//!    the member's whole persisted state.
//! 2. Resident memory of a loaded document: `documents` copies of the
//!    edited document loaded at once and kept; `VmRSS` of this process
//!    before and after, divided by the copies.
//! 3. Cost of a profile op: decide (load, change, save) + apply at the
//!    origin, and applying a concurrent change from another store (the
//!    canonical re-save path), each over `edits` ops, per op.
//! 4. A node does not keep documents: `members` members registered and
//!    each edited once through the engine (account actors, real redb
//!    store), `VmRSS` before and after the edits while every account actor
//!    is still alive, compared with what `members` resident documents would
//!    take; then the actors passivate.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::sync::Semaphore;
use tongka_actors::{Engine, EngineConfig, Outcome};
use tongka_core::clock::{Hlc, VersionVector};
use tongka_core::ids::{MemberId, NodeId, OpId};
use tongka_core::member::{Gender, Profile, ProfilePatch};
use tongka_core::op::{Op, OpBody, OpDraft};
use tongka_core::programme::Programme;
use tongka_core::state::MemberState;
use tongka_db::Db;

use crate::catchup::{mib, opt_load};
use crate::{phone, run_id, sys};

#[derive(Debug, Clone)]
pub struct ProfileBenchOptions {
    /// Copies of an edited document loaded at once (resident memory).
    pub documents: usize,
    /// Profile ops timed (each kind).
    pub edits: usize,
    /// Members registered and edited through the engine.
    pub members: usize,
}

impl Default for ProfileBenchOptions {
    fn default() -> Self {
        ProfileBenchOptions {
            documents: 5000,
            edits: 5000,
            members: 20_000,
        }
    }
}

#[derive(Debug, Clone)]
pub struct ProfileReport {
    pub registration_doc_bytes: usize,
    pub edited_doc_bytes: usize,
    pub edits_in_doc: usize,
    pub member_state_bytes: usize,
    pub documents: usize,
    pub resident_per_doc: Option<u64>,
    pub edits: usize,
    pub local_edit_us: f64,
    pub concurrent_apply_us: f64,
    pub members: usize,
    pub rss_before_edits: Option<u64>,
    pub rss_after_edits: Option<u64>,
    pub active_after_edits: usize,
    pub edits_per_sec: f64,
    pub active_after_idle: usize,
    pub load: Option<f64>,
}

fn node(s: &str) -> NodeId {
    NodeId::new(s).expect("valid node name")
}

fn op(origin: &NodeId, seq: u64, at: Hlc, body: OpBody) -> Op {
    OpDraft {
        hlc: at,
        by: "bench".into(),
        idem: None,
        body,
    }
    .stamp(
        OpId {
            origin: origin.clone(),
            seq,
        },
        VersionVector::new(),
    )
}

fn profile(i: usize) -> Profile {
    Profile {
        phone: phone(0, i),
        name: format!("会员{i}"),
        birthday: Some("1990-01-02".into()),
        gender: Some(Gender::Female),
        card_no: Some(format!("CARD{i:08}")),
        invited_by: None,
        tags: vec!["vip".into(), "tea".into()],
        notes: "喜欢拿铁，少糖".into(),
    }
}

fn patch(k: usize) -> ProfilePatch {
    match k % 4 {
        0 => ProfilePatch {
            name: Some(format!("会员改名{k}")),
            ..Default::default()
        },
        1 => ProfilePatch {
            notes: Some(format!("第 {k} 次到店，喜欢美式")),
            ..Default::default()
        },
        2 => ProfilePatch {
            tags: Some(vec!["vip".into(), format!("t{k}")]),
            ..Default::default()
        },
        _ => ProfilePatch {
            birthday: Some(Some(format!("19{:02}-0{}-1{}", k % 100, 1 + k % 9, k % 10))),
            ..Default::default()
        },
    }
}

/// A patch that always changes something (values never written before).
fn unique_patch(k: usize) -> ProfilePatch {
    ProfilePatch {
        name: k.is_multiple_of(2).then(|| format!("名{k}")),
        notes: (k % 2 == 1).then(|| format!("备注 {k}")),
        tags: k
            .is_multiple_of(3)
            .then(|| vec!["vip".into(), format!("u{k}")]),
        ..Default::default()
    }
}

/// A member registered at `home` and edited `edits` times by three stores.
fn edited_member(edits: usize) -> MemberState {
    let home = node("store-1");
    let stores = [node("store-1"), node("store-2"), node("store-3")];
    let reg = op(
        &home,
        1,
        Hlc { ms: 1, count: 0 },
        OpBody::MemberRegistered {
            member: MemberId::mint(&home, 1),
            profile: profile(1),
            opening: None,
        },
    );
    let mut m = MemberState::registered(&reg).expect("registration");
    for k in 0..edits {
        let at = Hlc {
            ms: 10 + k as u64,
            count: 0,
        };
        let s = &stores[k % 3];
        let body = m
            .decide_profile_update(s, at, patch(k))
            .expect("document")
            .expect("a change");
        m.apply(&op(s, 2 + k as u64, at, body)).expect("apply");
    }
    m
}

fn rss() -> Option<u64> {
    sys::proc_memory("/proc/self/status").0
}

pub async fn profiles(opts: ProfileBenchOptions) -> anyhow::Result<ProfileReport> {
    // 1. Sizes.
    let fresh = edited_member(0);
    let registration_doc_bytes = fresh.profile_document()?.save().len();
    let edits_in_doc = 12;
    let edited = edited_member(edits_in_doc);
    let doc_bytes = edited.profile_doc.clone().expect("edited");
    let member_state_bytes = postcard::to_allocvec(&edited)?.len();

    // 2. Resident memory of loaded documents.
    let documents = opts.documents.max(1);
    let before = rss();
    let mut loaded = Vec::with_capacity(documents);
    for _ in 0..documents {
        loaded.push(tongka_core::profile_doc::load(&doc_bytes)?);
    }
    let after = rss();
    let resident_per_doc = before
        .zip(after)
        .map(|(b, a)| a.saturating_sub(b) / documents as u64);
    std::hint::black_box(&loaded);
    drop(loaded);

    // 3. Cost of a profile op.
    let edits = opts.edits.max(1);
    let origin = node("store-2");
    // Each op on the member as edited above (a typical history), not on
    // a document grown by the loop itself.
    let started = Instant::now();
    for k in 0..edits {
        let at = Hlc {
            ms: 1000 + k as u64,
            count: 0,
        };
        let mut m = edited.clone();
        let body = m
            .decide_profile_update(&origin, at, unique_patch(k))?
            .context("a change")?;
        m.apply(&op(&origin, 100, at, body))?;
        std::hint::black_box(&m);
    }
    let local_edit_us = started.elapsed().as_secs_f64() * 1e6 / edits as f64;
    // Concurrent: store-3 edited the same version; applying its change
    // after store-2's is the re-save path.
    let other = node("store-3");
    let mut pairs = Vec::with_capacity(edits);
    for k in 0..edits {
        let at = Hlc {
            ms: 1000 + k as u64,
            count: 0,
        };
        let mine = edited
            .decide_profile_update(&origin, at, unique_patch(k))?
            .context("a change")?;
        let theirs = edited
            .decide_profile_update(&other, at, unique_patch(k + edits))?
            .context("a change")?;
        let mut base = edited.clone();
        base.apply(&op(&origin, 100, at, mine))?;
        pairs.push((base, op(&other, 100, at, theirs)));
    }
    let started = Instant::now();
    for (base, theirs) in &mut pairs {
        base.apply(theirs)?;
    }
    let concurrent_apply_us = started.elapsed().as_secs_f64() * 1e6 / edits as f64;
    drop(pairs);

    // 4. A node with many members.
    let dir = tempfile::tempdir()?;
    let (db, recovered) = Db::open(
        &dir.path().join("node.redb"),
        crate::actor::db_options(node("bench-store")),
    )
    .context("opening the store")?;
    let engine = Engine::new(
        db.clone(),
        Programme::default(),
        recovered.hlc,
        EngineConfig {
            max_in_flight: 4096,
            idle_passivate: Duration::from_secs(1),
        },
    );
    let run = run_id();
    let ids = register_all(&engine, run, opts.members).await?;
    let rss_before_edits = rss();
    let started = Instant::now();
    edit_all(&engine, &ids).await?;
    let edits_per_sec = ids.len() as f64 / started.elapsed().as_secs_f64();
    let rss_after_edits = rss();
    let active_after_edits = engine.active_accounts();
    let deadline = Instant::now() + Duration::from_secs(30);
    while engine.active_accounts() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let active_after_idle = engine.active_accounts();
    drop(engine);
    tokio::task::spawn_blocking(move || db.close()).await?;

    Ok(ProfileReport {
        registration_doc_bytes,
        edited_doc_bytes: doc_bytes.len(),
        edits_in_doc,
        member_state_bytes,
        documents,
        resident_per_doc,
        edits,
        local_edit_us,
        concurrent_apply_us,
        members: ids.len(),
        rss_before_edits,
        rss_after_edits,
        active_after_edits,
        edits_per_sec,
        active_after_idle,
        load: sys::load_avg(),
    })
}

const WIDTH: usize = 256;

async fn register_all(engine: &Engine, run: u64, n: usize) -> anyhow::Result<Vec<MemberId>> {
    let gate = Arc::new(Semaphore::new(WIDTH));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let permit = gate.clone().acquire_owned().await?;
        let engine = engine.clone();
        let mut p = profile(i);
        p.phone = phone(run, i);
        p.card_no = Some(format!("C{run:x}{i}").chars().take(32).collect());
        tasks.spawn(async move {
            let _permit = permit;
            let _admitted = engine.admit();
            match engine.register("bench".into(), None, p).await {
                Ok((Outcome::Member(m), _)) => Ok(m.id),
                Ok(other) => Err(anyhow::anyhow!("unexpected {other:?}")),
                Err(e) => Err(anyhow::anyhow!("register: {e}")),
            }
        });
    }
    let mut ids = Vec::with_capacity(n);
    while let Some(r) = tasks.join_next().await {
        ids.push(r??);
    }
    Ok(ids)
}

async fn edit_all(engine: &Engine, ids: &[MemberId]) -> anyhow::Result<()> {
    let gate = Arc::new(Semaphore::new(WIDTH));
    let mut tasks = tokio::task::JoinSet::new();
    for (k, id) in ids.iter().enumerate() {
        let permit = gate.clone().acquire_owned().await?;
        let engine = engine.clone();
        let id = id.clone();
        tasks.spawn(async move {
            let _permit = permit;
            engine
                .update_profile("bench".into(), id, patch(k))
                .await
                .map_err(|e| anyhow::anyhow!("edit: {e}"))
        });
    }
    while let Some(r) = tasks.join_next().await {
        r??;
    }
    Ok(())
}

fn opt_kib(b: Option<u64>) -> String {
    b.map_or_else(|| "?".into(), |b| format!("{:.1} KiB", b as f64 / 1024.0))
}

impl fmt::Display for ProfileReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "profiles benchmark: member profiles as automerge documents (load average {})",
            opt_load(self.load)
        )?;
        writeln!(
            f,
            "  saved document        registration {} B; after {} edits from 3 stores {} B; the member's whole persisted state {} B",
            self.registration_doc_bytes,
            self.edits_in_doc,
            self.edited_doc_bytes,
            self.member_state_bytes
        )?;
        writeln!(
            f,
            "  loaded document       {} resident each (VmRSS growth over {} loaded copies of the edited document)",
            opt_kib(self.resident_per_doc),
            self.documents
        )?;
        writeln!(
            f,
            "  profile op            {:.1} µs to decide and apply an edit at its origin (load, change, save, materialise); {:.1} µs to apply a concurrent edit from another store (re-saved in canonical order); {} ops each",
            self.local_edit_us, self.concurrent_apply_us, self.edits
        )?;
        let growth = self
            .rss_before_edits
            .zip(self.rss_after_edits)
            .map(|(b, a)| a.saturating_sub(b));
        let if_resident = self
            .resident_per_doc
            .map(|d| d.saturating_mul(self.members as u64));
        writeln!(
            f,
            "  node, {} members      each edited once through the engine ({:.0} edits/s, durable): VmRSS {} → {} (+{}) with {} account actors alive; {} documents kept resident would take {}; account actors after idling: {}",
            self.members,
            self.edits_per_sec,
            self.rss_before_edits
                .map_or("?".into(), |b| format!("{:.0} MiB", mib(b))),
            self.rss_after_edits
                .map_or("?".into(), |b| format!("{:.0} MiB", mib(b))),
            growth.map_or("?".into(), |b| format!("{:.0} MiB", mib(b))),
            self.active_after_edits,
            self.members,
            if_resident.map_or("?".into(), |b| format!("{:.0} MiB", mib(b))),
            self.active_after_idle
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn profile_bench_runs_and_keeps_no_document() {
        let r = profiles(ProfileBenchOptions {
            documents: 50,
            edits: 50,
            members: 200,
        })
        .await
        .unwrap();
        assert_eq!(r.members, 200);
        assert!(r.edited_doc_bytes > r.registration_doc_bytes);
        assert_eq!(r.active_after_idle, 0, "every account passivated");
        println!("{r}");
    }
}
