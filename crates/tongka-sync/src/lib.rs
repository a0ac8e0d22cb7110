//! tongka-sync: the replication protocol between nodes, as a state machine
//! without IO. The node drives it over QUIC, the simulator over a simulated
//! network; both run this code.
//!
//! Anti-entropy by version vectors: each side says what it holds (`Hello`,
//! then `Have` after applying), and the other streams what is missing
//! (`Ops`), in hybrid-logical-clock order, which extends causal order (a
//! node observes the clock of every op it applies, so an op's clock is later
//! than its dependencies'). The receiver delivers ops to the node in causal
//! order, each exactly once, buffering any that arrive early. Each node sends
//! its own ops to every peer; ops travel through a third node only where the
//! direct link is down (the relay policy, in `replica`), so in a healthy mesh
//! each op reaches each node once. A sender keeps at most `window` ops of one
//! origin unacknowledged per peer: back-pressure for catch-up.

mod msg;
mod replica;

pub use msg::{DecodeError, MSG_BYTES_MAX, MSG_FORMAT, Msg};
pub use replica::{Delivery, OpLog, OpRef, Replica, ReplicaConfig};
