//! Finding peers on the local network with mDNS / DNS-SD.
//!
//! Each node advertises service type [`SERVICE_TYPE`] with TXT records
//! `chain=<chain>` and `node=<node>` and its QUIC port, and browses for the
//! others. Discovery only finds peers: it never decides that one is gone
//! (QUIC keep-alives and idle timeouts do that), so "service removed"
//! events are not reported.

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::{IpAddr, SocketAddr, SocketAddrV6};

use mdns_sd::{ScopedIp, ServiceDaemon, ServiceEvent, ServiceInfo};
use tokio::sync::mpsc;

use crate::error::{NetError, Result};

/// The DNS-SD service type of tongka nodes.
pub const SERVICE_TYPE: &str = "_tongka._udp.local.";

/// Longest DNS label.
const MAX_LABEL: usize = 63;

/// A peer of the same chain seen on the network: its node name (from its
/// advertisement: a hint, authenticated only by connecting) and the QUIC
/// addresses it advertises.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    /// The peer's node name.
    pub node: String,
    /// Its QUIC addresses: IPv4 before IPv6, routable before loopback
    /// before link-local (IPv6 link-local ones with their interface).
    pub addrs: Vec<SocketAddr>,
}

/// A running mDNS advertisement and browse. Stops (and withdraws the
/// advertisement) when dropped.
pub struct Discovery {
    daemon: ServiceDaemon,
    fullname: String,
    events: Option<mpsc::Receiver<Found>>,
}

impl std::fmt::Debug for Discovery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Discovery")
            .field("fullname", &self.fullname)
            .finish_non_exhaustive()
    }
}

fn truncate(mut s: String, max: usize) -> String {
    while s.len() > max {
        s.pop();
    }
    s
}

impl Discovery {
    /// Advertises node `node` of chain `chain` with its QUIC port on every
    /// interface (addresses follow the host's), and browses for peers.
    /// Needs no async runtime (the mDNS daemon has its own thread).
    pub fn start(chain: &str, node: &str, quic_port: u16) -> Result<Discovery> {
        let daemon = ServiceDaemon::new().map_err(NetError::Discovery)?;
        match Discovery::start_on(daemon.clone(), chain, node, quic_port) {
            Ok(discovery) => Ok(discovery),
            Err(e) => {
                let _ = daemon.shutdown();
                Err(e)
            }
        }
    }

    fn start_on(
        daemon: ServiceDaemon,
        chain: &str,
        node: &str,
        quic_port: u16,
    ) -> Result<Discovery> {
        // Instance and host names must be unique on the network; two chains
        // may have nodes of the same name, so add a random tag.
        let tag = RandomState::new().hash_one((chain, node, quic_port)) & 0xffff_ffff;
        let instance = truncate(format!("{node} {chain} {tag:08x}"), MAX_LABEL);
        let host = format!(
            "{}.local.",
            truncate(format!("tongka-{node}-{tag:08x}"), MAX_LABEL)
        );
        let properties = [("chain", chain), ("node", node)];
        let info = ServiceInfo::new(
            SERVICE_TYPE,
            &instance,
            &host,
            "",
            quic_port,
            &properties[..],
        )
        .map_err(NetError::Discovery)?
        .enable_addr_auto();
        let fullname = info.get_fullname().to_owned();
        let browse = daemon.browse(SERVICE_TYPE).map_err(NetError::Discovery)?;
        daemon.register(info).map_err(NetError::Discovery)?;

        let (tx, rx) = mpsc::channel(64);
        let chain = chain.to_owned();
        let me = node.to_owned();
        std::thread::Builder::new()
            .name(format!("tongka-mdns-{node}"))
            .spawn(move || forward(&browse, &tx, &chain, &me))
            .map_err(|e| NetError::Discovery(mdns_sd::Error::Msg(e.to_string())))?;
        tracing::debug!(%fullname, "mDNS advertisement registered");
        Ok(Discovery {
            daemon,
            fullname,
            events: Some(rx),
        })
    }

    /// The stream of peers found: each of the same chain, never this node;
    /// a peer is reported again when its addresses change or after it
    /// re-announces following a withdrawal. Returns the receiver the first
    /// time, `None` after.
    pub fn events(&mut self) -> Option<mpsc::Receiver<Found>> {
        self.events.take()
    }

    /// The full DNS-SD name of this node's advertisement.
    pub fn fullname(&self) -> &str {
        &self.fullname
    }
}

impl Drop for Discovery {
    fn drop(&mut self) {
        // Both only queue commands for the daemon thread, in order: the
        // goodbye is sent before the daemon stops.
        let _ = self.daemon.unregister(&self.fullname);
        let _ = self.daemon.shutdown();
    }
}

/// A socket address for `ip`, keeping the interface of an IPv6 link-local
/// address (without it the address is unusable).
fn socket_addr(ip: &ScopedIp, port: u16) -> SocketAddr {
    match ip {
        ScopedIp::V6(v6) if v6.addr().is_unicast_link_local() => {
            SocketAddr::V6(SocketAddrV6::new(*v6.addr(), port, 0, v6.scope_id().index))
        }
        other => SocketAddr::new(other.to_ip_addr(), port),
    }
}

/// Order of preference: IPv4 before IPv6, routable before loopback before
/// link-local.
fn rank(addr: &SocketAddr) -> (bool, u8) {
    let ip = addr.ip();
    let scope = match ip {
        IpAddr::V4(v4) if v4.is_link_local() => 2,
        IpAddr::V6(v6) if v6.is_unicast_link_local() => 2,
        _ if ip.is_loopback() => 1,
        _ => 0,
    };
    (addr.is_ipv6(), scope)
}

/// Turns browse events into [`Found`]s for peers of `chain` other than
/// `me`, until the daemon stops or the receiver is dropped.
fn forward(
    browse: &mdns_sd::Receiver<ServiceEvent>,
    tx: &mpsc::Sender<Found>,
    chain: &str,
    me: &str,
) {
    // Last addresses reported per advertisement, to report only changes.
    let mut seen: HashMap<String, Vec<SocketAddr>> = HashMap::new();
    while let Ok(event) = browse.recv() {
        match event {
            ServiceEvent::ServiceResolved(service) => {
                if service.get_property_val_str("chain") != Some(chain) {
                    continue;
                }
                let Some(node) = service.get_property_val_str("node") else {
                    continue;
                };
                if node == me {
                    continue;
                }
                let port = service.get_port();
                let mut addrs: Vec<SocketAddr> = service
                    .get_addresses()
                    .iter()
                    .map(|ip| socket_addr(ip, port))
                    .collect();
                addrs.sort_by_key(|a| (rank(a), *a));
                addrs.dedup();
                if addrs.is_empty() || seen.get(service.get_fullname()) == Some(&addrs) {
                    continue;
                }
                seen.insert(service.get_fullname().to_owned(), addrs.clone());
                let found = Found {
                    node: node.to_owned(),
                    addrs,
                };
                tracing::debug!(?found, "mDNS found a peer");
                if tx.blocking_send(found).is_err() {
                    return;
                }
            }
            ServiceEvent::ServiceRemoved(_, fullname) => {
                seen.remove(&fullname);
            }
            _ => {}
        }
    }
}
