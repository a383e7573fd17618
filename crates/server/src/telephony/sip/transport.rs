//! The SIP transport: UDP and TCP sockets on one address, the receive loops that turn
//! datagrams and TCP streams into parsed messages for the UAS core, and [`Peer`], the way back
//! to whoever sent one. Nothing here knows about dialogs or transactions.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::msg;
use super::uas::Core;

/// Where a message came from, and how to answer it.
#[derive(Clone)]
pub(crate) enum Peer {
    Udp {
        sock: Arc<UdpSocket>,
        addr: SocketAddr,
    },
    Tcp {
        tx: mpsc::Sender<Vec<u8>>,
        addr: SocketAddr,
    },
}

impl Peer {
    pub(super) fn addr(&self) -> SocketAddr {
        match self {
            Peer::Udp { addr, .. } | Peer::Tcp { addr, .. } => *addr,
        }
    }
    pub(super) fn reliable(&self) -> bool {
        matches!(self, Peer::Tcp { .. })
    }
    pub(super) fn transport(&self) -> &'static str {
        match self {
            Peer::Udp { .. } => "UDP",
            Peer::Tcp { .. } => "TCP",
        }
    }
    pub(super) async fn send(&self, bytes: &[u8]) {
        match self {
            Peer::Udp { sock, addr } => {
                if let Err(e) = sock.send_to(bytes, addr).await {
                    tracing::debug!(error = %e, %addr, "SIP send failed");
                }
            }
            Peer::Tcp { tx, addr } => {
                if tx.send(bytes.to_vec()).await.is_err() {
                    tracing::debug!(%addr, "SIP TCP connection closed before send");
                }
            }
        }
    }
    /// The same transport towards another address (UDP only; TCP keeps its connection).
    pub(super) fn towards(&self, to: SocketAddr) -> Peer {
        match self {
            Peer::Udp { sock, .. } => Peer::Udp {
                sock: sock.clone(),
                addr: to,
            },
            other => other.clone(),
        }
    }
}

/// Binds UDP and TCP on the same address (port 0: a free port both can have).
pub(super) async fn bind(listen: SocketAddr) -> anyhow::Result<(UdpSocket, TcpListener)> {
    let mut last_err = None;
    let mut bound = None;
    for _ in 0..20 {
        let udp = match UdpSocket::bind(listen).await {
            Ok(u) => u,
            Err(e) => {
                last_err = Some(e);
                break;
            }
        };
        let addr = udp.local_addr()?;
        match TcpListener::bind(addr).await {
            Ok(t) => {
                bound = Some((udp, t));
                break;
            }
            Err(e) => {
                last_err = Some(e);
                if listen.port() != 0 {
                    break;
                }
            }
        }
    }
    bound.ok_or_else(|| {
        anyhow::anyhow!(
            "cannot listen for SIP on {listen}: {}",
            last_err.map(|e| e.to_string()).unwrap_or_default()
        )
    })
}

/// Starts the receive loops; they end when the app stops (then every call gets a BYE).
pub(super) fn serve(core: Arc<Core>, udp: UdpSocket, tcp: TcpListener) -> Vec<JoinHandle<()>> {
    let udp = Arc::new(udp);
    vec![
        tokio::spawn(udp_loop(core.clone(), udp)),
        tokio::spawn(tcp_loop(core, tcp)),
    ]
}

async fn udp_loop(core: Arc<Core>, sock: Arc<UdpSocket>) {
    let mut buf = vec![0u8; 65536];
    loop {
        let (n, from) = tokio::select! {
            r = sock.recv_from(&mut buf) => match r {
                Ok(v) => v,
                Err(e) => {
                    // ICMP port unreachable from an earlier send shows up here on Linux.
                    tracing::debug!(error = %e, "SIP UDP receive error");
                    continue;
                }
            },
            _ = core.state.stopped() => break,
        };
        let data = &buf[..n];
        if data.iter().all(|b| b.is_ascii_whitespace()) {
            continue; // keep-alive
        }
        let Some(m) = msg::parse(data) else {
            tracing::debug!(%from, len = n, "unparseable SIP datagram dropped");
            continue;
        };
        let peer = Peer::Udp {
            sock: sock.clone(),
            addr: from,
        };
        core.clone().on_message(m, peer).await;
    }
    core.end_all().await;
}

async fn tcp_loop(core: Arc<Core>, listener: TcpListener) {
    loop {
        let (stream, from) = tokio::select! {
            r = listener.accept() => match r {
                Ok(v) => v,
                Err(e) => {
                    tracing::warn!(error = %e, "SIP TCP accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = core.state.stopped() => break,
        };
        tokio::spawn(tcp_connection(core.clone(), stream, from));
    }
}

async fn tcp_connection(core: Arc<Core>, stream: TcpStream, from: SocketAddr) {
    let _ = stream.set_nodelay(true);
    let (mut rd, mut wr) = stream.into_split();
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(64);
    let writer = tokio::spawn(async move {
        while let Some(b) = rx.recv().await {
            if wr.write_all(&b).await.is_err() {
                break;
            }
        }
    });
    let peer = Peer::Tcp { tx, addr: from };
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    let mut chunk = vec![0u8; 16384];
    'conn: loop {
        let n = tokio::select! {
            r = rd.read(&mut chunk) => match r {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            },
            _ = core.state.stopped() => break,
        };
        buf.extend_from_slice(&chunk[..n]);
        loop {
            match msg::frame_len(&buf) {
                Ok(Some(len)) => {
                    let frame: Vec<u8> = buf.drain(..len).collect();
                    if frame.iter().all(|b| b.is_ascii_whitespace()) {
                        continue;
                    }
                    match msg::parse(&frame) {
                        Some(m) => core.clone().on_message(m, peer.clone()).await,
                        None => tracing::debug!(%from, "unparseable SIP message on TCP dropped"),
                    }
                }
                Ok(None) => break,
                Err(why) => {
                    tracing::debug!(%from, why, "SIP TCP stream cannot be framed; closing");
                    break 'conn;
                }
            }
        }
    }
    drop(peer);
    let _ = writer.await;
}
