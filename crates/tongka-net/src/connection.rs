//! An authenticated connection to a peer: one long-lived bidirectional
//! stream carrying length-prefixed messages.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use quinn::{ConnectionError, ReadError, VarInt, WriteError};
use tokio::sync::Mutex;

use crate::error::{NetError, Result};

/// Bytes of the length prefix in front of every message.
pub(crate) const HEADER_LEN: usize = 4;

/// Close codes this crate sends (QUIC application error codes).
pub(crate) mod code {
    /// An orderly close: [`Connection::close`](super::Connection::close),
    /// dropping the last handle, or the endpoint shutting down.
    pub(crate) const NORMAL: u32 = 0;
    /// The peer broke the stream protocol.
    pub(crate) const PROTOCOL: u32 = 1;
    /// The peer sent a message above the maximum size.
    pub(crate) const TOO_LARGE: u32 = 2;
    /// The peer is configured for another chain.
    pub(crate) const WRONG_CHAIN: u32 = 3;
    /// The peer's certificate names another node than the one dialled.
    pub(crate) const WRONG_PEER: u32 = 4;
    /// A `send` was cancelled in the middle of a message, so the stream
    /// cannot be framed any more.
    pub(crate) const SEND_CANCELLED: u32 = 5;
}

pub(crate) fn close_with(conn: &quinn::Connection, code: u32, reason: &str) {
    conn.close(VarInt::from_u32(code), reason.as_bytes());
}

/// Turns the reason a QUIC connection ended into a [`NetError`].
pub(crate) fn connection_error(err: ConnectionError, remote: SocketAddr) -> NetError {
    match err {
        ConnectionError::TimedOut => NetError::TimedOut { addr: remote },
        ConnectionError::TransportError(e) if is_crypto(u64::from(e.code)) => NetError::Tls {
            addr: remote,
            reason: format!("refused here: {e}"),
        },
        ConnectionError::ConnectionClosed(c) if is_crypto(u64::from(c.error_code)) => {
            NetError::Tls {
                addr: remote,
                reason: format!("refused by the peer: {c}"),
            }
        }
        ConnectionError::ApplicationClosed(c) => NetError::Closed {
            reason: format!(
                "closed by the peer (code {}): {}",
                c.error_code,
                String::from_utf8_lossy(&c.reason)
            ),
        },
        ConnectionError::LocallyClosed => NetError::Closed {
            reason: "closed locally".to_owned(),
        },
        other => NetError::Closed {
            reason: other.to_string(),
        },
    }
}

/// Whether a connection ended in an orderly way: closed locally, or by the
/// peer with the normal code.
fn is_orderly(err: &ConnectionError) -> bool {
    match err {
        ConnectionError::LocallyClosed => true,
        ConnectionError::ApplicationClosed(c) => c.error_code == VarInt::from_u32(code::NORMAL),
        _ => false,
    }
}

/// QUIC carries TLS alerts as transport error codes 0x100..=0x1ff.
fn is_crypto(code: u64) -> bool {
    (0x100..0x200).contains(&code)
}

/// The reading half of the message stream, with the state of a message
/// partly read, so that [`Connection::recv`] is cancel-safe.
pub(crate) struct Reader {
    stream: quinn::RecvStream,
    header: [u8; HEADER_LEN],
    header_filled: usize,
    /// The message being read and its length, once its header is complete.
    body: Option<(BytesMut, usize)>,
}

/// Why a frame could not be read.
pub(crate) enum FrameError {
    /// The header announces more than the maximum.
    TooLarge(u64),
    /// The stream ended in the middle of a message.
    Truncated,
    /// The stream or connection failed.
    Read(ReadError),
}

impl Reader {
    pub(crate) fn new(stream: quinn::RecvStream) -> Reader {
        Reader {
            stream,
            header: [0; HEADER_LEN],
            header_filled: 0,
            body: None,
        }
    }

    /// Reads the next message: `Ok(None)` when the stream ended cleanly
    /// between messages. Cancel-safe: bytes read before a cancellation stay
    /// in `self` for the next call.
    pub(crate) async fn read_frame(
        &mut self,
        max: usize,
    ) -> std::result::Result<Option<Bytes>, FrameError> {
        loop {
            if let Some((buf, len)) = &mut self.body {
                let want = *len - buf.len();
                if want == 0 {
                    let (buf, _) = self.body.take().unwrap_or_default();
                    return Ok(Some(buf.freeze()));
                }
                let chunk = self
                    .stream
                    .read_chunk(want, true)
                    .await
                    .map_err(FrameError::Read)?
                    .ok_or(FrameError::Truncated)?;
                if buf.is_empty() && chunk.bytes.len() == *len {
                    // The whole message in one chunk: no copy.
                    self.body = None;
                    return Ok(Some(chunk.bytes));
                }
                buf.extend_from_slice(&chunk.bytes);
                continue;
            }
            let want = HEADER_LEN - self.header_filled;
            let chunk = self
                .stream
                .read_chunk(want, true)
                .await
                .map_err(FrameError::Read)?;
            let Some(chunk) = chunk else {
                return if self.header_filled == 0 {
                    Ok(None)
                } else {
                    Err(FrameError::Truncated)
                };
            };
            let end = self.header_filled + chunk.bytes.len();
            self.header[self.header_filled..end].copy_from_slice(&chunk.bytes);
            self.header_filled = end;
            if end < HEADER_LEN {
                continue;
            }
            self.header_filled = 0;
            let len = u32::from_be_bytes(self.header);
            let len_usize = usize::try_from(len).unwrap_or(usize::MAX);
            if len_usize > max {
                return Err(FrameError::TooLarge(u64::from(len)));
            }
            if len == 0 {
                return Ok(Some(Bytes::new()));
            }
            self.body = Some((BytesMut::with_capacity(len_usize), len_usize));
        }
    }
}

/// Writes one frame (length prefix, then payload). Not cancel-safe.
pub(crate) async fn write_frame(
    stream: &mut quinn::SendStream,
    msg: Bytes,
) -> std::result::Result<(), WriteError> {
    let len = u32::try_from(msg.len()).unwrap_or(u32::MAX);
    let mut chunks = [Bytes::copy_from_slice(&len.to_be_bytes()), msg];
    stream.write_all_chunks(&mut chunks).await
}

/// An authenticated connection to a peer node, carrying whole messages.
///
/// Cheap to clone (all clones share the connection), so one task can
/// [`recv`](Connection::recv) while others [`send`](Connection::send). The
/// connection closes, with an orderly close, when the last clone is dropped.
#[derive(Clone)]
pub struct Connection {
    inner: Arc<Inner>,
}

struct Inner {
    peer: String,
    remote: SocketAddr,
    conn: quinn::Connection,
    send: Mutex<quinn::SendStream>,
    recv: Mutex<Reader>,
    max_message: usize,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("peer", &self.inner.peer)
            .field("remote", &self.inner.remote)
            .finish_non_exhaustive()
    }
}

/// Closes the connection if a `send` is dropped in the middle of a message.
struct SendGuard<'a> {
    conn: &'a quinn::Connection,
    armed: bool,
}

impl Drop for SendGuard<'_> {
    fn drop(&mut self) {
        if self.armed {
            close_with(
                self.conn,
                code::SEND_CANCELLED,
                "send cancelled in the middle of a message",
            );
        }
    }
}

impl Connection {
    pub(crate) fn new(
        peer: String,
        conn: quinn::Connection,
        send: quinn::SendStream,
        recv: Reader,
        max_message: usize,
    ) -> Connection {
        Connection {
            inner: Arc::new(Inner {
                peer,
                remote: conn.remote_address(),
                conn,
                send: Mutex::new(send),
                recv: Mutex::new(recv),
                max_message,
            }),
        }
    }

    /// The peer's node name, from its certificate, verified against the
    /// chain CA during the handshake: the authenticated identity.
    pub fn peer(&self) -> &str {
        &self.inner.peer
    }

    /// The peer's current address.
    pub fn remote(&self) -> SocketAddr {
        self.inner.conn.remote_address()
    }

    /// The largest message [`send`](Connection::send) and
    /// [`recv`](Connection::recv) accept.
    pub fn max_message(&self) -> usize {
        self.inner.max_message
    }

    /// Sends one message. Waits until the transport has room for it (flow
    /// control), so a peer that does not read makes the sender wait rather
    /// than memory grow: at most about one stream window of data is
    /// buffered. Messages arrive whole and in order. Concurrent sends are
    /// serialised.
    ///
    /// Returns when the message is handed to the transport, not when the
    /// peer has it. A message above [`max_message`](Connection::max_message)
    /// is refused with [`NetError::TooLarge`] and the connection stays
    /// usable.
    ///
    /// Not cancel-safe: if the returned future is dropped before it
    /// completes, the message may be partly sent, so the connection is
    /// closed.
    pub async fn send(&self, msg: Bytes) -> Result<()> {
        if msg.len() > self.inner.max_message {
            return Err(NetError::TooLarge {
                size: msg.len() as u64,
                max: self.inner.max_message,
            });
        }
        let mut stream = self.inner.send.lock().await;
        let mut guard = SendGuard {
            conn: &self.inner.conn,
            armed: true,
        };
        let result = write_frame(&mut stream, msg).await;
        guard.armed = false;
        result.map_err(|e| self.write_error(e))
    }

    /// Receives the next message. `Ok(None)` when the connection was closed
    /// in an orderly way (by [`close`](Connection::close) on either side,
    /// the peer dropping its connection, or its endpoint shutting down);
    /// an error when it was lost (timeout, reset, protocol violation). A
    /// message above [`max_message`](Connection::max_message) closes the
    /// connection and gives [`NetError::TooLarge`].
    ///
    /// Cancel-safe: a message partly read when the future is dropped is
    /// completed by the next call. Concurrent calls are serialised.
    pub async fn recv(&self) -> Result<Option<Bytes>> {
        let mut reader = self.inner.recv.lock().await;
        match reader.read_frame(self.inner.max_message).await {
            Ok(Some(msg)) => Ok(Some(msg)),
            Ok(None) => {
                // The peer finished its side of the stream: nothing more
                // will come, so the connection is over.
                close_with(&self.inner.conn, code::NORMAL, "peer finished its stream");
                Ok(None)
            }
            Err(FrameError::TooLarge(size)) => {
                let max = self.inner.max_message;
                close_with(
                    &self.inner.conn,
                    code::TOO_LARGE,
                    &format!("message of {size} bytes exceeds the maximum of {max}"),
                );
                Err(NetError::TooLarge { size, max })
            }
            Err(FrameError::Truncated) => {
                close_with(&self.inner.conn, code::PROTOCOL, "stream ended mid-message");
                Err(NetError::Protocol {
                    reason: "the stream ended in the middle of a message".to_owned(),
                })
            }
            Err(FrameError::Read(ReadError::ConnectionLost(e))) if is_orderly(&e) => Ok(None),
            Err(FrameError::Read(e)) => Err(self.read_error(e)),
        }
    }

    /// Closes the connection at once, telling the peer `reason` (its
    /// [`recv`](Connection::recv) then gives `Ok(None)`). Data not yet
    /// delivered may be lost.
    pub fn close(&self, reason: &str) {
        close_with(&self.inner.conn, code::NORMAL, reason);
    }

    /// Resolves when the connection ends, with why: [`NetError::TimedOut`]
    /// when the peer stopped answering for the idle timeout (keep-alives
    /// make that the sign of a dead peer or network), [`NetError::Closed`]
    /// when either side closed it. The future holds the connection open
    /// until it resolves or is dropped.
    pub fn closed(&self) -> impl Future<Output = NetError> + Send + 'static {
        let conn = self.inner.conn.clone();
        let remote = self.inner.remote;
        async move { connection_error(conn.closed().await, remote) }
    }

    /// Why the connection ended, if it has.
    pub fn close_reason(&self) -> Option<NetError> {
        self.inner
            .conn
            .close_reason()
            .map(|e| connection_error(e, self.inner.remote))
    }

    /// The current estimate of the round-trip time.
    pub fn rtt(&self) -> Duration {
        self.inner.conn.rtt()
    }

    fn write_error(&self, err: WriteError) -> NetError {
        match err {
            WriteError::ConnectionLost(e) => connection_error(e, self.inner.remote),
            WriteError::Stopped(code) => NetError::Closed {
                reason: format!("the peer stopped reading (code {code})"),
            },
            other => NetError::Closed {
                reason: other.to_string(),
            },
        }
    }

    fn read_error(&self, err: ReadError) -> NetError {
        match err {
            ReadError::ConnectionLost(e) => connection_error(e, self.inner.remote),
            ReadError::Reset(code) => NetError::Closed {
                reason: format!("the peer reset its stream (code {code})"),
            },
            other => NetError::Closed {
                reason: other.to_string(),
            },
        }
    }
}
