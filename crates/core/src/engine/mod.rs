//! The facade the shell calls: one [`Engine`] per signed-in device. Reads come from the local
//! database; actions are written locally with their outbox rows and sent by the sync loop.
//!
//! This file holds the engine's state, opening, the search indexes and the status; each area's
//! methods are in a file of their own beside it: `session.rs`, `records.rs`, `orders.rs`,
//! `charges.rs`, `documents.rs` (daily closing, PDFs), `problems.rs`, and the sync loop in
//! `crate::sync`.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Utc};
use fieldpay_protocol::app::{EngineEvent, SyncStatus};
use fieldpay_protocol::auth::RepInfo;
use fieldpay_protocol::records::Account;
use tokio::sync::{broadcast, Notify};

use crate::client::{server_url, ServerClient};
use crate::credentials::Credentials;
use crate::db::Db;
use crate::error::{CoreError, CoreResult};
use crate::search::{SearchDoc, SearchIndex};

// One `impl Engine` file per area (the sync loop's is `crate::sync`).
mod charges;
mod collections;
mod documents;
mod manager;
mod orders;
mod problems;
mod records;
mod session;
mod shares;
mod visits;

#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Folder of the device database (one per identity: see [`crate::identity`]).
    pub data_dir: PathBuf,
    /// Checked by [`crate::client::server_url`]: https, or http on loopback only.
    pub server_url: String,
    /// Shown in the signature evidence and the server's token list.
    pub device_name: String,
}

impl EngineConfig {
    /// The OS credential store entry of this database and server: one refresh token per
    /// device database, so one rep's token is never used with another's database.
    pub fn credentials(&self) -> Credentials {
        let dir = self
            .data_dir
            .canonicalize()
            .unwrap_or_else(|_| self.data_dir.clone());
        Credentials::new(format!(
            "FieldPay {} {}",
            self.server_url.trim_end_matches('/'),
            dir.display()
        ))
    }
}

pub struct Engine {
    pub(crate) config: EngineConfig,
    pub(crate) db: Db,
    pub(crate) client: Arc<ServerClient>,
    accounts: RwLock<SearchIndex>,
    products: RwLock<SearchIndex>,
    pub(crate) events: broadcast::Sender<EngineEvent>,
    pub(crate) wake: Notify,
    pub(crate) status: Mutex<SyncStatus>,
    session: Mutex<Option<RepInfo>>,
    pub(crate) sync_lock: tokio::sync::Mutex<()>,
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

use fieldpay_protocol::time::kst_minutes as kst_now_string;

pub(crate) fn account_doc(a: &Account, recent: i64) -> SearchDoc {
    SearchDoc {
        id: a.id.clone(),
        name: a.name.clone(),
        code: a.code.clone(),
        phone: a.phone.clone(),
        business_number: a.business_number.clone(),
        recent,
    }
}

impl Engine {
    /// Opens (or creates) the device database and builds the search indexes. Sync starts with
    /// [`Engine::start`].
    /// A refused server address (see [`crate::client::server_url`]) creates nothing.
    pub fn open(mut config: EngineConfig) -> CoreResult<Arc<Engine>> {
        config.server_url = server_url(&config.server_url)?;
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            CoreError::Other(format!("cannot create {}: {e}", config.data_dir.display()))
        })?;
        let db = Db::open(&config.data_dir.join("fieldpay-device.db"))?;
        let client = ServerClient::new(&config.server_url, config.credentials())?;
        let session: Option<RepInfo> = db
            .get_state("session")?
            .and_then(|s| serde_json::from_str(&s).ok());
        let last_sync = db.get_state("last_sync")?;
        let last_error = db.get_state("last_error")?.filter(|e| !e.is_empty());
        let engine = Engine {
            config,
            db,
            client: Arc::new(client),
            accounts: RwLock::new(SearchIndex::new()),
            products: RwLock::new(SearchIndex::new()),
            events: broadcast::channel(256).0,
            wake: Notify::new(),
            status: Mutex::new(SyncStatus {
                signed_in: session.is_some(),
                last_sync,
                last_error,
                ..SyncStatus::default()
            }),
            session: Mutex::new(session),
            sync_lock: tokio::sync::Mutex::new(()),
        };
        if let Some(rep) = engine.session() {
            // A device that synced the whole merchant before pulls were scoped drops the
            // other reps' clients once.
            engine.db.set_scope(session::device_rep(&rep))?;
        }
        engine.rebuild_indexes()?;
        engine.refresh_counts()?;
        Ok(Arc::new(engine))
    }

    pub(crate) fn rebuild_indexes(&self) -> CoreResult<()> {
        let recent: std::collections::HashMap<String, String> =
            self.db.recent_activity()?.into_iter().collect();
        let rank = |id: &str| {
            recent
                .get(id)
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.timestamp())
                .unwrap_or(0)
        };
        let idx = self.db.each_account(|accounts| {
            SearchIndex::with_docs(accounts.map(|a| account_doc(&a, rank(&a.id))))
        })?;
        *self.accounts.write().unwrap_or_else(|p| p.into_inner()) = idx;
        let products = self.db.products()?;
        let idx = SearchIndex::with_docs(products.iter().filter(|p| p.active).map(|p| SearchDoc {
            id: p.id.clone(),
            name: p.name.clone(),
            code: p.code.clone(),
            phone: String::new(),
            business_number: String::new(),
            recent: 0,
        }));
        *self.products.write().unwrap_or_else(|p| p.into_inner()) = idx;
        // The build's scratch (and, after a first sync, its pages and the bulk load's sets)
        // is freed by now, but glibc's malloc keeps such room in its heaps (only the top of
        // its main heap goes back by itself). With this, the app's process held 153.9 MB
        // (private) after a first sync of 200k accounts, 165.6 MB at the peak (row 15).
        fieldpay_protocol::process::release_free_memory();
        Ok(())
    }

    /// Puts pulled accounts and products into the search indexes (one rebuild at most per
    /// call; accounts keep their recent-activity rank); `dropped` accounts leave it. A product that is no longer active
    /// leaves the product index.
    pub(crate) fn index_pulled(
        &self,
        accounts: Vec<SearchDoc>,
        dropped: Vec<String>,
        products: Vec<fieldpay_protocol::records::Product>,
    ) {
        if !dropped.is_empty() {
            let mut idx = self.accounts.write().unwrap_or_else(|p| p.into_inner());
            for id in &dropped {
                idx.remove(id);
            }
        }
        if !accounts.is_empty() {
            let mut idx = self.accounts.write().unwrap_or_else(|p| p.into_inner());
            let docs: Vec<SearchDoc> = accounts
                .into_iter()
                .map(|mut d| {
                    d.recent = idx.recent(&d.id).unwrap_or(0);
                    d
                })
                .collect();
            idx.extend(docs);
        }
        if !products.is_empty() {
            let mut idx = self.products.write().unwrap_or_else(|p| p.into_inner());
            for p in products.iter().filter(|p| !p.active) {
                idx.remove(&p.id);
            }
            idx.extend(
                products
                    .into_iter()
                    .filter(|p| p.active)
                    .map(|p| SearchDoc {
                        id: p.id,
                        name: p.name,
                        code: p.code,
                        phone: String::new(),
                        business_number: String::new(),
                        recent: 0,
                    }),
            );
        }
    }

    fn touch_account(&self, account_id: &str, now: DateTime<Utc>) {
        let mut idx = self.accounts.write().unwrap_or_else(|p| p.into_inner());
        idx.set_recent(account_id, now.timestamp());
    }

    // ------------------------------------------------------------ status and events

    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.events.subscribe()
    }

    pub fn status(&self) -> SyncStatus {
        self.status
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub(crate) fn update_status(&self, f: impl FnOnce(&mut SyncStatus)) {
        let snapshot = {
            let mut s = self.status.lock().unwrap_or_else(|p| p.into_inner());
            let before = s.clone();
            f(&mut s);
            (*s != before).then(|| s.clone())
        };
        if let Some(s) = snapshot {
            let _ = self.events.send(EngineEvent::Status(s));
        }
    }

    pub(crate) fn refresh_counts(&self) -> CoreResult<()> {
        let queued = self.db.queued_count()?;
        let problems = self.db.problems()?.len() as u64;
        self.update_status(|s| {
            s.queued = queued;
            s.problems = problems;
        });
        Ok(())
    }

    fn after_local_change(&self) -> CoreResult<()> {
        self.refresh_counts()?;
        self.wake.notify_one();
        Ok(())
    }
}
