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
//! - [`escrow`]: which peers to ask for shares of a member's balance or
//!   points, how their answers advance the ask, when a spend is tried again
//!   or declined, and what to give a peer that asks.

pub mod apply;
pub mod escrow;
pub mod settle;
