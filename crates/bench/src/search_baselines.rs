//! What an app would reach for instead of FieldPay's search index, measured in the same run
//! on the same accounts and queries (issue 17): SQLite FTS5 with the trigram tokenizer, and a
//! plain `LIKE '%q%'` scan.
//!
//! Both read what the engine path reads for each hit (the account row and its kept balance,
//! at most [`crate::data_rows::SEARCH_LIMIT`] hits). FTS5 gets the help it needs to answer
//! Korean field searches at all: a second indexed column of each name's 초성 (initials), and
//! the phone and business numbers as digits. A trigram index answers a `MATCH` only for terms
//! of three characters or more; shorter queries fall back to `LIKE` on the FTS table, which
//! SQLite answers by scanning it (that is what such an app would do).

use std::path::Path;
use std::time::{Duration, Instant};

use fieldpay_core::search::{initials, SearchDoc};
use rusqlite::{params, Connection};

use crate::stats::Summary;

/// A query class timed on one baseline.
#[derive(Debug, Clone)]
pub struct BaselineClass {
    pub class: String,
    pub all: Summary,
    /// Each query's fastest round (preemption on a busy machine removed).
    pub best: Summary,
    pub hits: f64,
}

/// The two baselines over one set of accounts.
pub struct Baselines {
    conn: Connection,
    /// Building the FTS5 index (the table and its rows were loaded before).
    pub fts_build: Duration,
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

impl Baselines {
    /// Loads `docs` into a fresh database at `path` (accounts with a kept balance, the 초성
    /// column) and builds the FTS5 trigram index over name, initials, code and digits.
    pub fn build(path: &Path, docs: &[SearchDoc]) -> anyhow::Result<Baselines> {
        if path.exists() {
            std::fs::remove_file(path)?;
        }
        let mut conn = Connection::open(path)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
             CREATE TABLE accounts (
                 id TEXT NOT NULL UNIQUE, name TEXT NOT NULL, initials TEXT NOT NULL,
                 code TEXT NOT NULL, phone TEXT NOT NULL, business_number TEXT NOT NULL,
                 digits TEXT NOT NULL, balance INTEGER NOT NULL);",
        )?;
        let tx = conn.transaction()?;
        {
            let mut ins = tx.prepare(
                "INSERT INTO accounts (id, name, initials, code, phone, business_number, digits, balance)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for (i, d) in docs.iter().enumerate() {
                let all_digits = format!("{} {}", digits(&d.phone), digits(&d.business_number));
                ins.execute(params![
                    d.id,
                    d.name,
                    initials(&d.name),
                    d.code,
                    d.phone,
                    d.business_number,
                    all_digits,
                    (i as i64 * 7_919) % 3_000_000
                ])?;
            }
        }
        tx.commit()?;
        let t = Instant::now();
        conn.execute_batch(
            "CREATE VIRTUAL TABLE accounts_fts USING fts5(
                 name, initials, code, digits, content='accounts', content_rowid='rowid',
                 tokenize='trigram');
             INSERT INTO accounts_fts (accounts_fts) VALUES ('rebuild');",
        )?;
        let fts_build = t.elapsed();
        Ok(Baselines { conn, fts_build })
    }

    /// FTS5 trigram: `MATCH` for a query of three characters or more (as a phrase, over every
    /// column), `LIKE` on the FTS table for a shorter one; the hits' rows. Answers the hits.
    pub fn fts(&self, q: &str, limit: usize) -> anyhow::Result<usize> {
        let q = q.trim().to_lowercase();
        let bare = digits(&q);
        // Phone-like input (010-1234) is searched as its digits, as the app's box does.
        let term = if !bare.is_empty() && q.chars().all(|c| c.is_ascii_digit() || c == '-') {
            bare
        } else {
            q
        };
        let n = if term.chars().count() >= 3 {
            let phrase = format!("\"{}\"", term.replace('"', "\"\""));
            let mut st = self.conn.prepare_cached(
                "SELECT a.id, a.name, a.phone, a.balance FROM accounts_fts f
                 JOIN accounts a ON a.rowid = f.rowid
                 WHERE accounts_fts MATCH ?1 LIMIT ?2",
            )?;
            let rows = st.query_map(params![phrase, limit as i64], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })?;
            rows.count()
        } else {
            let pattern = format!("%{term}%");
            let mut st = self.conn.prepare_cached(
                "SELECT a.id, a.name, a.phone, a.balance FROM accounts_fts f
                 JOIN accounts a ON a.rowid = f.rowid
                 WHERE f.name LIKE ?1 OR f.initials LIKE ?1 OR f.code LIKE ?1 OR f.digits LIKE ?1
                 LIMIT ?2",
            )?;
            let rows = st.query_map(params![pattern, limit as i64], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(3)?))
            })?;
            rows.count()
        };
        Ok(n)
    }

    /// `LIKE '%q%'` over name, initials, code and digits of the plain table; the hits' rows.
    pub fn like(&self, q: &str, limit: usize) -> anyhow::Result<usize> {
        let q = q.trim().to_lowercase();
        let bare = digits(&q);
        let term = if !bare.is_empty() && q.chars().all(|c| c.is_ascii_digit() || c == '-') {
            bare
        } else {
            q
        };
        let pattern = format!("%{term}%");
        let mut st = self.conn.prepare_cached(
            "SELECT id, name, phone, balance FROM accounts
             WHERE name LIKE ?1 OR initials LIKE ?1 OR code LIKE ?1 OR digits LIKE ?1
             LIMIT ?2",
        )?;
        let rows = st.query_map(params![pattern, limit as i64], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(3)?))
        })?;
        Ok(rows.count())
    }
}

/// Times `search` over the query mix: every run, and each query's best of `rounds`.
pub fn time_mix(
    mix: &[(&'static str, Vec<String>)],
    rounds: usize,
    mut search: impl FnMut(&str) -> anyhow::Result<usize>,
) -> anyhow::Result<Vec<BaselineClass>> {
    for (_, qs) in mix {
        for q in qs {
            std::hint::black_box(search(q)?);
        }
    }
    let mut out = Vec::new();
    for (class, qs) in mix {
        let mut times = Vec::new();
        let mut best = vec![Duration::MAX; qs.len()];
        let mut hits = 0usize;
        for _ in 0..rounds {
            for (i, q) in qs.iter().enumerate() {
                let t = Instant::now();
                hits += search(q)?;
                let e = t.elapsed();
                times.push(e);
                best[i] = best[i].min(e);
            }
        }
        out.push(BaselineClass {
            class: class.to_string(),
            all: Summary::of(&times),
            best: Summary::of(&best),
            hits: hits as f64 / times.len().max(1) as f64,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(id: &str, name: &str, phone: &str) -> SearchDoc {
        SearchDoc {
            id: id.into(),
            name: name.into(),
            code: format!("A{id}"),
            phone: phone.into(),
            business_number: "220-81-62517".into(),
            recent: 0,
        }
    }

    /// Each baseline finds what a rep types: a name infix, 초성 (through its extra column),
    /// phone digits, a short query (by scan).
    #[test]
    fn both_baselines_answer_the_query_classes() {
        let dir = tempfile::tempdir().unwrap();
        let docs = vec![
            doc("1", "행복온누리약국", "010-1234-5678"),
            doc("2", "익수제약", "02-555-0101"),
            doc("3", "서울메디칼", "031-777-8888"),
        ];
        let b = Baselines::build(&dir.path().join("b.db"), &docs).unwrap();
        for (q, want) in [
            ("온누리", 1),
            ("ㅇㅅㅈㅇ", 1),
            ("1234-5678", 1),
            ("555-0101", 1),
            ("약", 2),
            ("ㅋㅋㅋ", 0),
        ] {
            assert_eq!(b.fts(q, 50).unwrap(), want, "fts {q}");
            assert_eq!(b.like(q, 50).unwrap(), want, "like {q}");
        }
    }
}
