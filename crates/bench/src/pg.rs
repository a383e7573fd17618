//! The benchmarks' PostgreSQL: a throwaway cluster that `scripts/bench.sh` starts with
//! `scripts/pg-test.sh start --durable` and names in `FIELDPAY_BENCH_DATABASE_URL` (a
//! superuser URL) and `FIELDPAY_BENCH_PG_DIR` (its folder: server log, `postmaster.pid`). Each
//! row creates its own databases on it, and reads PostgreSQL's own counters around a
//! measurement: transactions committed and rolled back, statements run (pg_stat_statements,
//! when loaded), serialization failures (from the server log), CPU of its processes.

use std::path::PathBuf;
use std::time::Duration;

use tokio_postgres::NoTls;

/// The cluster the PostgreSQL rows run on.
#[derive(Debug, Clone)]
pub struct Pg {
    /// A superuser URL (database `postgres`).
    pub admin_url: String,
    /// The cluster's folder, when known (its `log` and `data/postmaster.pid`).
    pub dir: Option<PathBuf>,
}

/// Counters of one database at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct PgCounters {
    pub commits: i64,
    pub rollbacks: i64,
    /// Statements executed (pg_stat_statements `calls`, all statements of this database;
    /// BEGIN/COMMIT included), when the module is loaded.
    pub statements: Option<i64>,
    /// "could not serialize access" errors in the cluster's log so far (every database).
    pub serialization_failures: usize,
    /// User+system CPU seconds of the cluster's processes alive now (the postmaster and its
    /// children: backends, WAL writer, checkpointer...).
    pub cpu_seconds: f64,
}

impl PgCounters {
    pub fn since(&self, before: &PgCounters) -> PgCounters {
        PgCounters {
            commits: self.commits - before.commits,
            rollbacks: self.rollbacks - before.rollbacks,
            statements: self.statements.zip(before.statements).map(|(a, b)| a - b),
            serialization_failures: self.serialization_failures - before.serialization_failures,
            cpu_seconds: self.cpu_seconds - before.cpu_seconds,
        }
    }
}

impl Pg {
    /// From the environment that `scripts/bench.sh` sets; None when it is not set.
    pub fn from_env() -> Option<Pg> {
        let admin_url = std::env::var("FIELDPAY_BENCH_DATABASE_URL").ok()?;
        let dir = std::env::var_os("FIELDPAY_BENCH_PG_DIR").map(PathBuf::from);
        Some(Pg { admin_url, dir })
    }

    /// As [`Pg::from_env`], or an error saying how to get one.
    pub fn required(row: &str) -> anyhow::Result<Pg> {
        Pg::from_env().ok_or_else(|| {
            anyhow::anyhow!(
                "row {row} needs PostgreSQL: FIELDPAY_BENCH_DATABASE_URL is not set (run it \
                 through scripts/bench.sh, which starts one with `scripts/pg-test.sh start \
                 --durable`)"
            )
        })
    }

    async fn connect(url: &str) -> anyhow::Result<tokio_postgres::Client> {
        let (client, conn) = tokio_postgres::connect(url, NoTls).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(client)
    }

    /// A new empty database `name` (dropped first if it exists); its URL.
    pub async fn create_database(&self, name: &str) -> anyhow::Result<String> {
        let c = Self::connect(&self.admin_url).await?;
        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await?;
        c.batch_execute(&format!("CREATE DATABASE {name}")).await?;
        let url = self.url_of(name);
        // pg_stat_statements' view lives in a database that has the extension.
        let d = Self::connect(&url).await?;
        let _ = d
            .batch_execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            .await;
        Ok(url)
    }

    /// Drops a database made by [`Pg::create_database`].
    pub async fn drop_database(&self, name: &str) -> anyhow::Result<()> {
        let c = Self::connect(&self.admin_url).await?;
        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await?;
        Ok(())
    }

    /// The admin URL with its database replaced by `name`.
    pub fn url_of(&self, name: &str) -> String {
        let (base, query) = match self.admin_url.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (self.admin_url.as_str(), None),
        };
        let base = match base.rfind('/') {
            Some(i) if i > base.find("//").map_or(0, |j| j + 1) => &base[..i],
            _ => base,
        };
        match query {
            Some(q) => format!("{base}/{name}?{q}"),
            None => format!("{base}/{name}"),
        }
    }

    /// The database's counters now. The statistics are sent by the backends at most once a
    /// second: this waits 1.2 s first.
    pub async fn counters(&self, url: &str) -> anyhow::Result<PgCounters> {
        tokio::time::sleep(Duration::from_millis(1200)).await;
        let c = Self::connect(url).await?;
        let r = c
            .query_one(
                "SELECT xact_commit, xact_rollback FROM pg_stat_database \
                 WHERE datname = current_database()",
                &[],
            )
            .await?;
        let statements = match c
            .query_one(
                "SELECT COALESCE(sum(calls), 0)::bigint FROM pg_stat_statements \
                 WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
                &[],
            )
            .await
        {
            Ok(r) => Some(r.get::<_, i64>(0)),
            Err(_) => None,
        };
        Ok(PgCounters {
            commits: r.get(0),
            rollbacks: r.get(1),
            statements,
            serialization_failures: self.serialization_failures(),
            cpu_seconds: self.cpu_seconds(),
        })
    }

    fn serialization_failures(&self) -> usize {
        let Some(dir) = &self.dir else { return 0 };
        std::fs::read_to_string(dir.join("log"))
            .map(|s| s.matches("could not serialize access").count())
            .unwrap_or(0)
    }

    /// CPU seconds of the postmaster and its children alive now.
    pub fn cpu_seconds(&self) -> f64 {
        let Some(dir) = &self.dir else { return 0.0 };
        let Some(pm) = std::fs::read_to_string(dir.join("data/postmaster.pid"))
            .ok()
            .and_then(|s| s.lines().next().map(|l| l.trim().to_string()))
        else {
            return 0.0;
        };
        let mut total = crate::stats::cpu_seconds(&pm).unwrap_or(0.0);
        for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let pid = e.file_name().to_string_lossy().to_string();
            if !pid.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                continue;
            };
            let Some(close) = stat.rfind(')') else {
                continue;
            };
            let ppid = stat[close + 2..].split_whitespace().nth(1);
            if ppid == Some(pm.as_str()) {
                total += crate::stats::cpu_seconds(&pid).unwrap_or(0.0);
            }
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_of_replaces_the_database() {
        let pg = Pg {
            admin_url: "postgres://postgres@127.0.0.1:5432/postgres".into(),
            dir: None,
        };
        assert_eq!(
            pg.url_of("bench_x"),
            "postgres://postgres@127.0.0.1:5432/bench_x"
        );
        let pg = Pg {
            admin_url: "postgres://u@h:1/postgres?sslmode=disable".into(),
            dir: None,
        };
        assert_eq!(pg.url_of("b"), "postgres://u@h:1/b?sslmode=disable");
    }
}
