//! The node machine: the one copy of the orchestration above the pure
//! rules of `tongka-core`, driven alike by the node (`tongka-actors`) and by
//! the simulator (`tongka-sim`).
//!
//! It has the iroh-gossip shape: a machine takes an event and the time
//! (`handle(event, now)`) and returns effects for its driver to run; timers
//! are effects going out and events coming back. It does no IO: no tokio,
//! no clock, no disk, no network. It reads the node's state through the
//! views its events carry.
//!
//! Modules:
//! - [`apply`]: what an op does to the node's state (a member, an order,
//!   the phone and card index), and which ops are refused, once for the
//!   node and the simulator.
//! - [`escrow`]: which peers to ask for shares of an escrowed counter (a
//!   member's balance or points), how their answers advance the ask, when a spend is tried again
//!   or declined, and what to give a peer that asks.
//! - [`stamp`]: how a draft made here becomes an op of this node's log
//!   (its number and deps), for the store's writer and the simulator.
//! - [`idem`]: what a request with an idempotency key gets (run, the
//!   recorded answer again, `idempotency_key_reused`, or
//!   `idempotency_key_in_progress`), for the engine and the simulator.
//! - [`settle`]: when a node moves its share of a merged-away member to
//!   the survivor (the ops that oblige it, at start, the moves due).
//! - [`stock`]: the chain's stock as a node holds it (every store's
//!   ledgers, minimums, transfers): what a store's request decides, and
//!   what an op does to the book, for the node and the simulator.

pub mod apply;
pub mod escrow;
pub mod idem;
pub mod settle;
pub mod stamp;
pub mod stock;
