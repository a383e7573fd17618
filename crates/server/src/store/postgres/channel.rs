//! A message channel between the instances on one PostgreSQL database (`LISTEN`/`NOTIFY`):
//! what one instance sends, every instance (itself included) receives. Used for live events
//! (a charge's status change reaches a client connected to any instance).
//!
//! Two connections of its own, each reconnecting after a loss: one sends the queued messages
//! in order, one listens. Delivery is at most once: a message sent while an instance's
//! listening connection is down is not seen there (clients of live events catch up by sync).
//! When the database cannot be reached, a message is handed to this instance's own receiver,
//! so its clients still see it.

use std::sync::Arc;
use std::time::Duration;

use fieldpay_protocol::Secret;
use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};
use tokio_postgres::{AsyncMessage, NoTls};

/// NOTIFY's limit on a message (PostgreSQL's is 8000 bytes).
const MAX_MESSAGE: usize = 7900;
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// The sending side; cheap to share.
pub struct NotifyChannel {
    queue: mpsc::UnboundedSender<String>,
}

type Receiver = Arc<dyn Fn(String) + Send + Sync>;

impl NotifyChannel {
    /// Starts the sender and the listener of channel `name` on the current Tokio runtime;
    /// `receive` gets every message (sent by any instance). Both end when `stop` turns true.
    pub fn start(
        url: &Secret,
        name: &'static str,
        receive: impl Fn(String) + Send + Sync + 'static,
        stop: watch::Receiver<bool>,
    ) -> NotifyChannel {
        let receive: Receiver = Arc::new(receive);
        let (queue, rx) = mpsc::unbounded_channel();
        tokio::spawn(send_loop(
            url.clone(),
            name,
            rx,
            receive.clone(),
            stop.clone(),
        ));
        tokio::spawn(listen_loop(url.clone(), name, receive, stop));
        NotifyChannel { queue }
    }

    /// Queues a message for every instance (in the order sent).
    pub fn send(&self, message: String) {
        if message.len() > MAX_MESSAGE {
            tracing::error!(
                len = message.len(),
                "a live event is too long to send between instances; dropped"
            );
            return;
        }
        let _ = self.queue.send(message);
    }
}

async fn connect(url: &Secret) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, conn) = tokio_postgres::connect(url.expose(), NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::warn!(error = %e, "event channel connection lost");
        }
    });
    Ok(client)
}

async fn stopped(stop: &mut watch::Receiver<bool>) {
    while !*stop.borrow_and_update() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}

async fn send_loop(
    url: Secret,
    name: &'static str,
    mut rx: mpsc::UnboundedReceiver<String>,
    receive: Receiver,
    mut stop: watch::Receiver<bool>,
) {
    let mut client: Option<tokio_postgres::Client> = None;
    loop {
        let message = tokio::select! {
            m = rx.recv() => match m { Some(m) => m, None => return },
            _ = stopped(&mut stop) => return,
        };
        if client.as_ref().is_none_or(|c| c.is_closed()) {
            client = connect(&url).await.ok();
        }
        let sent = match &client {
            Some(c) => c
                .execute("SELECT pg_notify($1, $2)", &[&name, &message])
                .await
                .map(|_| ()),
            None => {
                // Not reachable: this instance's clients at least get it.
                receive(message);
                continue;
            }
        };
        if let Err(e) = sent {
            tracing::warn!(error = %e, "cannot send a live event to the other instances");
            client = None;
            receive(message);
        }
    }
}

async fn listen_loop(
    url: Secret,
    name: &'static str,
    receive: Receiver,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let ended = tokio::select! {
            r = listen_once(&url, name, &receive) => r,
            _ = stopped(&mut stop) => return,
        };
        if let Err(e) = ended {
            tracing::warn!(error = %e, "live events from other instances: listening again shortly");
        }
        tokio::select! {
            _ = tokio::time::sleep(RECONNECT_AFTER) => {}
            _ = stopped(&mut stop) => return,
        }
    }
}

/// Listens on one connection until it fails.
async fn listen_once(
    url: &Secret,
    name: &'static str,
    receive: &Receiver,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut conn) = tokio_postgres::connect(url.expose(), NoTls).await?;
    // The connection's messages (notifications among them) as a stream, polled below while
    // the LISTEN command runs on the client.
    let mut messages = futures_util::stream::poll_fn(move |cx| conn.poll_message(cx));
    let command = format!("LISTEN {name}");
    let listen = client.batch_execute(&command);
    tokio::pin!(listen);
    let mut listening = false;
    loop {
        tokio::select! {
            r = &mut listen, if !listening => {
                r?;
                listening = true;
            }
            m = messages.next() => match m {
                Some(Ok(AsyncMessage::Notification(n))) => receive(n.payload().to_string()),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => return Ok(()),
            }
        }
    }
}
