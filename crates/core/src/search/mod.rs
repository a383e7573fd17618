//! Instant search over client accounts (거래처) and products.
//!
//! One query box finds a document by:
//! - any part of its name (`제약`, `익수`, `ABC`, case-insensitive; whitespace in the query and
//!   in the name is ignored, so `익수 제약` finds 익수제약);
//! - Hangul initial consonants (초성), whole or partial (`ㅇㅅㅈㅇ`, `ㅅㅈ` find 익수제약), and
//!   mixed input (`녹십ㅈ` finds 녹십자약국): a full syllable must equal the name's syllable,
//!   a lone initial consonant matches any syllable starting with it (or that same jamo);
//! - an unfinished last syllable as a Korean IME shows it while typing: a last query syllable
//!   without a final consonant matches a syllable with the same initial and vowel and any
//!   final (`녹시` finds 녹십자); a compound consonant jamo in the query (ㄳ, ㄶ, ...) is read as
//!   the two initials typed (ㄱㅅ, ㄴㅎ);
//! - phone digits and business-number digits (`5678`, `010-1234`, `220-81`: dashes, dots,
//!   spaces and parentheses are ignored), anywhere in the number;
//! - the code (`A0012`, `p0003`), case-insensitive: from its start, or anywhere in it for
//!   queries of 3 characters or more (`12` listing every code containing 12 helps nobody).
//!
//! Ranking: exact matches (the whole field), then prefix matches (the field starts with the
//! query), then infix; within a class more recent activity (`recent`, larger first), then the
//! shorter name, then name order, then id. A document is returned once, with its best field
//! (ties between fields go to the first of Name/Initials, Phone, BusinessNumber, Code).
//!
//! Text is normalised the same way for documents and queries: decomposed (NFD) Hangul is
//! composed, full-width ASCII folded, letters lowercased.
//!
//! # How it is fast
//! Documents live in an immutable *segment* sorted in rank order, with n-gram posting lists
//! over the names' initial-consonant sequence, the names' syllables, codes and digits (see
//! `segment.rs`). A query walks the intersection of its rarest lists best-first, checks each
//! candidate exactly, and stops once it has `limit` hits of a class, so even single-character
//! queries (`ㅇ`, `5`) touch only a few dozen documents. At 200 000 accounts a query takes
//! tens of microseconds, a few hundred at worst; a bulk build about 0.4-0.6 s on 2 cores and
//! about 85 MB.
//!
//! Changes (`upsert`, `remove`, `set_recent`) tombstone the document in the segment and keep
//! the new version in a small *delta* that every query scans (behind a cheap bit-set
//! pre-check); when the delta grows past 1/16 of the index (at least 256, at most 4096
//! documents) or a quarter of the segment is dead, the segment is rebuilt, which takes as
//! long as a bulk build. Use [`SearchIndex::extend`] for many documents at once (one
//! rebuild), and [`SearchIndex::compact`] to rebuild at a moment of your choosing.
//! Re-upserting an unchanged document does nothing.

mod segment;
mod text;

/// The benchmarks' document generator and query mix: only with the `bench` feature (the
/// `fieldpay-bench` crate) and in tests, never in the app.
#[cfg(any(test, feature = "bench"))]
#[doc(hidden)]
pub mod bench_support;
#[cfg(test)]
mod tests;

use std::hash::BuildHasher;

use hashbrown::HashTable;

use segment::{
    rank_cmp, DocRef, Docs, Prep, Segment, StrBuild, CODE_INFIX_MIN, PARALLEL_BUILD_MIN,
};
use text::{has_final, is_syllable, key, key_id, lv_index, normalize_into, split_compound};

pub use text::{initials, is_initial_jamo};

/// A searchable document: a client account or a product.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchDoc {
    /// Unique id; `upsert` replaces the document with the same id.
    pub id: String,
    pub name: String,
    /// Account or product code, e.g. `A0012`; may be empty.
    pub code: String,
    /// Phone number, digits or with dashes; may be empty.
    pub phone: String,
    /// Business registration number (사업자등록번호), digits or with dashes; may be empty.
    pub business_number: String,
    /// Recency of activity with this document; larger is more recent.
    pub recent: i64,
}

/// How a document matched, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MatchKind {
    /// The whole field equals the query.
    Exact,
    /// The field starts with the query.
    Prefix,
    /// The query is found inside the field.
    Infix,
}

/// Which field matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MatchField {
    /// The name, by syllables and letters (possibly mixed with initial consonants).
    Name,
    /// The name, by initial consonants only (the query had no full syllable).
    Initials,
    Phone,
    BusinessNumber,
    Code,
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub id: String,
    pub kind: MatchKind,
    pub field: MatchField,
}

/// How one query unit matches one name unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unit {
    /// Must be this exact unit.
    Lit(char),
    /// An initial consonant (compatibility jamo): any syllable with this initial, or the jamo.
    Init(char),
    /// The query's last syllable, typed without a final: any syllable with this
    /// initial+vowel (index from [`lv_index`]) and any final.
    Lv(u32),
}

/// A parsed query.
pub(crate) struct Query {
    /// Normalised query units (no whitespace, lowercase, compound jamo split): what a
    /// code must contain.
    pub units: Vec<char>,
    /// How each unit matches a name unit.
    pub matchers: Vec<Unit>,
    /// The key (initial consonant or the unit itself) of each unit.
    pub keys: Vec<char>,
    /// `Initials` if the query has initial consonants and no syllable, else `Name`.
    pub name_field: MatchField,
    /// Digits (values 0..=9) if the query is a phone/business number fragment, else empty.
    pub digits: Vec<u8>,
    /// What a document's [`Sig`] must contain for the query to possibly match it.
    pub need: Sig,
}

impl Query {
    pub fn parse(s: &str) -> Option<Query> {
        let mut raw = Vec::with_capacity(s.len());
        normalize_into(s, false, &mut raw);
        let mut units = Vec::with_capacity(raw.len() + 2);
        for c in raw {
            match split_compound(c) {
                Some((a, b)) => {
                    units.push(a);
                    units.push(b);
                }
                None => units.push(c),
            }
        }
        if units.is_empty() {
            return None;
        }
        let last = units.len() - 1;
        let matchers: Vec<Unit> = units
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                if is_initial_jamo(c) {
                    Unit::Init(c)
                } else if i == last && is_syllable(c) && !has_final(c) {
                    Unit::Lv(lv_index(c))
                } else {
                    Unit::Lit(c)
                }
            })
            .collect();
        let keys: Vec<char> = units.iter().map(|&c| key(c)).collect();
        let any_init = matchers.iter().any(|m| matches!(m, Unit::Init(_)));
        let any_syllable = units.iter().any(|&c| is_syllable(c));
        let name_field = if any_init && !any_syllable {
            MatchField::Initials
        } else {
            MatchField::Name
        };
        let is_number = units
            .iter()
            .all(|&c| c.is_ascii_digit() || matches!(c, '-' | '.' | '(' | ')' | '+' | '/'));
        let digits: Vec<u8> = if is_number {
            units
                .iter()
                .filter(|c| c.is_ascii_digit())
                .map(|&c| c as u8 - b'0')
                .collect()
        } else {
            Vec::new()
        };
        let mut need = Sig::default();
        for (i, m) in matchers.iter().enumerate() {
            match *m {
                Unit::Lit(c) => need.add_name_unit(c),
                Unit::Init(j) => need.keys |= Sig::bit(key_id(j)),
                Unit::Lv(x) => {
                    need.keys |= Sig::bit(key_id(keys[i]));
                    need.lv |= Sig::hashed_bit(x);
                }
            }
        }
        for w in keys.windows(2) {
            need.key_pairs |= Sig::pair_bit(key_id(w[0]) as u32, key_id(w[1]) as u32);
        }
        need.add_code(&units);
        need.add_digits(&digits);
        Some(Query {
            units,
            matchers,
            keys,
            name_field,
            digits,
            need,
        })
    }

    /// Whether a document with signature `sig` can match at all (a cheap pre-check).
    #[inline]
    pub fn may_match(&self, sig: &Sig) -> bool {
        let n = &self.need;
        let within = |a: u64, b: u64| a & !b == 0;
        (within(n.keys, sig.keys) && within(n.key_pairs, sig.key_pairs) && within(n.lv, sig.lv))
            || (within(n.code, sig.code) && within(n.code_pairs, sig.code_pairs))
            || (!self.digits.is_empty()
                && within(n.digits, sig.digits)
                && within(n.digit_pairs, sig.digit_pairs))
    }

    #[inline]
    fn unit_ok(m: Unit, u: char) -> bool {
        match m {
            Unit::Lit(c) => u == c,
            Unit::Init(j) => key(u) == j,
            Unit::Lv(x) => is_syllable(u) && lv_index(u) == x,
        }
    }

    /// How the name matches, if it does.
    #[inline]
    pub fn match_name(&self, name: &[char]) -> Option<MatchKind> {
        let m = self.matchers.len();
        if m == 0 || m > name.len() {
            return None;
        }
        let first = self.matchers[0];
        for p in 0..=name.len() - m {
            if Self::unit_ok(first, name[p])
                && self.matchers[1..]
                    .iter()
                    .zip(&name[p + 1..p + m])
                    .all(|(&q, &u)| Self::unit_ok(q, u))
            {
                return Some(if p > 0 {
                    MatchKind::Infix
                } else if m == name.len() {
                    MatchKind::Exact
                } else {
                    MatchKind::Prefix
                });
            }
        }
        None
    }

    /// The best (kind, field) of a document for this query, if it matches.
    pub fn eval(&self, d: &DocRef<'_>) -> Option<(MatchKind, MatchField)> {
        let mut best = self.match_name(d.name).map(|k| (k, self.name_field));
        if let Some((MatchKind::Exact, _)) = best {
            return best;
        }
        let mut consider = |k: Option<MatchKind>, f: MatchField| {
            if let Some(k) = k {
                if best.is_none_or(|b| (k, f) < b) {
                    best = Some((k, f));
                }
            }
        };
        consider(self.match_digits(d.phone), MatchField::Phone);
        consider(self.match_digits(d.bn), MatchField::BusinessNumber);
        consider(self.match_code(d.code), MatchField::Code);
        best
    }

    /// How a phone or business number matches, if it does.
    #[inline]
    pub fn match_digits(&self, digits: &[u8]) -> Option<MatchKind> {
        if self.digits.is_empty() {
            None
        } else {
            match_seq(digits, &self.digits)
        }
    }

    /// How a code matches, if it does (infix only from [`CODE_INFIX_MIN`] characters).
    #[inline]
    pub fn match_code(&self, code: &[char]) -> Option<MatchKind> {
        let k = match_seq(code, &self.units);
        if k == Some(MatchKind::Infix) && self.units.len() < CODE_INFIX_MIN {
            None
        } else {
            k
        }
    }
}

/// Where `needle` first occurs in `hay`, as a match kind.
#[inline]
fn match_seq<T: Copy + PartialEq>(hay: &[T], needle: &[T]) -> Option<MatchKind> {
    let m = needle.len();
    if m == 0 || m > hay.len() {
        return None;
    }
    let first = needle[0];
    for p in 0..=hay.len() - m {
        if hay[p] == first
            && hay[p + 1..p + m]
                .iter()
                .zip(&needle[1..])
                .all(|(a, b)| a == b)
        {
            return Some(if p > 0 {
                MatchKind::Infix
            } else if m == hay.len() {
                MatchKind::Exact
            } else {
                MatchKind::Prefix
            });
        }
    }
    None
}

/// A summary of a document as bit sets, used to skip most delta documents without matching
/// them: its name's key ids and adjacent key-id pairs, its name syllables (by initial+vowel),
/// its code characters and adjacent pairs, its digits and adjacent digit pairs (pairs and
/// syllables hashed to 64 bits). A query can only match a document whose sets contain the
/// query's.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Sig {
    keys: u64,
    key_pairs: u64,
    lv: u64,
    code: u64,
    code_pairs: u64,
    digits: u64,
    digit_pairs: u64,
}

impl Sig {
    #[inline]
    fn bit(i: usize) -> u64 {
        1 << (i % 64)
    }

    #[inline]
    fn hashed_bit(x: u32) -> u64 {
        1 << (x.wrapping_mul(0x9E37_79B9) >> 26)
    }

    #[inline]
    fn pair_bit(a: u32, b: u32) -> u64 {
        Sig::hashed_bit(a.wrapping_mul(0x85EB_CA6B) ^ b)
    }

    fn add_name_unit(&mut self, c: char) {
        self.keys |= Sig::bit(key_id(c));
        if is_syllable(c) {
            self.lv |= Sig::hashed_bit(lv_index(c));
        }
    }

    fn add_code(&mut self, code: &[char]) {
        for &c in code {
            self.code |= Sig::hashed_bit(c as u32);
        }
        for w in code.windows(2) {
            self.code_pairs |= Sig::pair_bit(w[0] as u32, w[1] as u32);
        }
    }

    fn add_digits(&mut self, d: &[u8]) {
        for &x in d {
            self.digits |= 1 << x;
        }
        for w in d.windows(2) {
            self.digit_pairs |= Sig::pair_bit(u32::from(w[0]), u32::from(w[1]));
        }
    }

    pub fn of(d: &DocRef<'_>) -> Sig {
        let mut s = Sig::default();
        for &c in d.name {
            s.add_name_unit(c);
        }
        for w in d.name.windows(2) {
            s.key_pairs |= Sig::pair_bit(key_id(w[0]) as u32, key_id(w[1]) as u32);
        }
        s.add_code(d.code);
        s.add_digits(d.phone);
        s.add_digits(d.bn);
        s
    }
}

#[derive(Clone, Copy, Debug)]
enum Loc {
    Main(u32),
    Delta(usize),
    Free,
}

/// Where a slot's document is, to read its id (the id map's keys).
struct Locator<'a> {
    main: &'a Segment,
    delta: &'a [Prep],
    slots: &'a [Loc],
}

impl Locator<'_> {
    fn id(&self, slot: u32) -> Option<&str> {
        match self.slots[slot as usize] {
            Loc::Main(ord) => Some(self.main.doc(ord).id),
            Loc::Delta(i) => Some(self.delta[i].id.as_str()),
            Loc::Free => None,
        }
    }
}

fn id_hash(id: &str) -> u64 {
    StrBuild::default().hash_one(id)
}

/// In-memory search index over [`SearchDoc`]s. See the module documentation.
#[derive(Clone, Default)]
pub struct SearchIndex {
    main: Segment,
    delta: Vec<Prep>,
    /// Id -> slot, found by the id's hash; the id itself is read where the slot's document
    /// is (the segment or the delta), so the index keeps no second copy of its ids (at 200k
    /// accounts a map of owned ids was 16 MB of the index's ~95 MB). A slot stays with its
    /// id until the id is removed, so a rebuild only rewrites `slots`, without hashing any
    /// id.
    ids: HashTable<u32>,
    /// Slot -> where the document is.
    slots: Vec<Loc>,
    free: Vec<u32>,
    /// Test hook: fixed delta bound instead of the size-dependent one.
    delta_cap: Option<usize>,
}

impl std::fmt::Debug for SearchIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchIndex")
            .field("len", &self.len())
            .field("segment", &self.main.live())
            .field("delta", &self.delta.len())
            .finish()
    }
}

impl SearchIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds an index from many documents at once (a later document with the same id
    /// replaces an earlier one).
    pub fn with_docs(docs: impl IntoIterator<Item = SearchDoc>) -> Self {
        let docs = docs.into_iter();
        let mut batch = Docs::with_capacity(docs.size_hint().0);
        for doc in docs {
            let i = batch.len() as u32;
            batch.push_doc(&doc, i);
        }
        // The id map (which also finds repeated ids: the last one wins) is built while the
        // batch is sorted. Slot -> the batch entry that has it now.
        let map_ids = || {
            let n = batch.len();
            let mut ids: HashTable<u32> = HashTable::with_capacity(n);
            let mut latest: Vec<u32> = Vec::with_capacity(n);
            let mut replaced: Vec<u32> = Vec::new();
            for i in 0..n as u32 {
                let id = batch.doc(i).id;
                let hash = id_hash(id);
                let found = ids.find(hash, |&slot| batch.doc(latest[slot as usize]).id == id);
                match found {
                    Some(&slot) => {
                        replaced.push(latest[slot as usize]);
                        latest[slot as usize] = i;
                    }
                    None => {
                        ids.insert_unique(hash, latest.len() as u32, |&slot| {
                            id_hash(batch.doc(latest[slot as usize]).id)
                        });
                        latest.push(i);
                    }
                }
            }
            (ids, latest, replaced)
        };
        let ((ids, latest, replaced), order) = if batch.len() >= PARALLEL_BUILD_MIN as usize {
            std::thread::scope(|s| {
                let h = s.spawn(map_ids);
                let order = batch.rank_order();
                (h.join().expect("search index build thread"), order)
            })
        } else {
            (map_ids(), batch.rank_order())
        };
        for i in replaced {
            batch.skip(i);
        }
        // Batch entries were given their batch index as slot; give each its id's slot.
        for (slot, &i) in latest.iter().enumerate() {
            batch.set_slot(i, slot as u32);
        }
        let mut idx = SearchIndex {
            slots: vec![Loc::Free; latest.len()],
            main: Segment::build_ordered(batch, order),
            delta: Vec::new(),
            ids,
            free: Vec::new(),
            delta_cap: None,
        };
        idx.relocate_main();
        idx
    }

    /// Inserts or replaces many documents, rebuilding the index at most once (into an
    /// empty index this is [`Self::with_docs`]).
    pub fn extend(&mut self, docs: impl IntoIterator<Item = SearchDoc>) {
        if self.is_empty() {
            let cap = self.delta_cap;
            *self = SearchIndex::with_docs(docs);
            self.delta_cap = cap;
            return;
        }
        for doc in docs {
            self.put(doc);
        }
        self.maybe_compact();
    }

    /// Inserts a document, or replaces the one with the same id.
    pub fn upsert(&mut self, doc: SearchDoc) {
        self.put(doc);
        self.maybe_compact();
    }

    /// Removes the document with this id, if any.
    pub fn remove(&mut self, id: &str) {
        let (ids, at) = self.ids_and_locator();
        let found = ids
            .find_entry(id_hash(id), |&slot| at.id(slot) == Some(id))
            .map(|entry| entry.remove().0);
        if let Ok(slot) = found {
            self.detach(slot);
            self.slots[slot as usize] = Loc::Free;
            self.free.push(slot);
            self.maybe_compact();
        }
    }

    /// Changes a document's recency (e.g. after an order); unknown ids are ignored.
    pub fn set_recent(&mut self, id: &str, recent: i64) {
        let Some(slot) = self.slot_of(id) else {
            return;
        };
        match self.slots[slot as usize] {
            Loc::Delta(i) => self.delta[i].recent = recent,
            Loc::Main(ord) => {
                if self.main.doc(ord).recent != recent {
                    let mut prep = self.main.prep(ord);
                    prep.recent = recent;
                    self.detach(slot);
                    self.slots[slot as usize] = Loc::Delta(self.delta.len());
                    self.delta.push(prep);
                    self.maybe_compact();
                }
            }
            Loc::Free => {}
        }
    }

    /// The recency of a document, if the index has it (e.g. to keep it when upserting a
    /// changed account).
    pub fn recent(&self, id: &str) -> Option<i64> {
        match self.slots[self.slot_of(id)? as usize] {
            Loc::Main(ord) => Some(self.main.doc(ord).recent),
            Loc::Delta(i) => Some(self.delta[i].recent),
            Loc::Free => None,
        }
    }

    /// Number of documents.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The best `limit` documents for `query`, best first. An empty or whitespace-only
    /// query returns nothing.
    pub fn search(&self, query: &str, limit: usize) -> Vec<Hit> {
        if limit == 0 {
            return Vec::new();
        }
        let Some(q) = Query::parse(query) else {
            return Vec::new();
        };
        let mut main_hits = Vec::new();
        self.main.search(&q, limit, &mut main_hits);
        let mut all: Vec<(MatchKind, MatchField, DocRef<'_>)> = main_hits
            .into_iter()
            .map(|(k, f, o)| (k, f, self.main.doc(o)))
            .collect();
        for p in &self.delta {
            if q.may_match(&p.sig) {
                let d = p.doc();
                if let Some((k, f)) = q.eval(&d) {
                    all.push((k, f, d));
                }
            }
        }
        let cmp = |a: &(MatchKind, MatchField, DocRef<'_>),
                   b: &(MatchKind, MatchField, DocRef<'_>)| {
            a.0.cmp(&b.0).then_with(|| rank_cmp(&a.2, &b.2))
        };
        if all.len() > limit {
            all.select_nth_unstable_by(limit - 1, cmp);
            all.truncate(limit);
        }
        all.sort_unstable_by(cmp);
        all.into_iter()
            .map(|(kind, field, d)| Hit {
                id: d.id.to_string(),
                kind,
                field,
            })
            .collect()
    }

    #[cfg(test)]
    pub(crate) fn set_delta_cap(&mut self, cap: usize) {
        self.delta_cap = Some(cap);
    }

    #[cfg(test)]
    pub(crate) fn delta_len(&self) -> usize {
        self.delta.len()
    }

    /// Puts a document into the delta, replacing any older version.
    fn put(&mut self, doc: SearchDoc) {
        let slot = match self.slot_of(&doc.id) {
            Some(slot) => slot,
            None => {
                let slot = self.free.pop().unwrap_or_else(|| {
                    self.slots.push(Loc::Free);
                    (self.slots.len() - 1) as u32
                });
                // Every slot already in the map has its document placed, so the map can
                // hash them again if it grows; this one is placed below, before any other
                // change to the map.
                let (ids, at) = self.ids_and_locator();
                ids.insert_unique(id_hash(&doc.id), slot, |&s| {
                    let id = at.id(s);
                    debug_assert!(id.is_some(), "slot {s} is in the id map without a document");
                    id_hash(id.unwrap_or(""))
                });
                slot
            }
        };
        let prep = Prep::new(doc, slot);
        let current = match self.slots[slot as usize] {
            Loc::Main(ord) => Some(self.main.doc(ord)),
            Loc::Delta(i) => Some(self.delta[i].doc()),
            Loc::Free => None,
        };
        // Re-sending an unchanged document (a sync that sends everything again) changes
        // nothing: leave it where it is.
        if current.is_some_and(|c| c.same_as(&prep.doc())) {
            return;
        }
        self.detach(slot);
        self.slots[slot as usize] = Loc::Delta(self.delta.len());
        self.delta.push(prep);
    }

    /// Takes the document of `slot` out of the segment (tombstone) or the delta; the slot
    /// itself is left for the caller to reuse or free.
    fn detach(&mut self, slot: u32) {
        match self.slots[slot as usize] {
            Loc::Main(ord) => self.main.kill(ord),
            Loc::Delta(i) => {
                self.delta.swap_remove(i);
                if let Some(moved) = self.delta.get(i) {
                    self.slots[moved.slot as usize] = Loc::Delta(i);
                }
            }
            Loc::Free => {}
        }
        self.slots[slot as usize] = Loc::Free;
    }

    fn cap(&self) -> usize {
        self.delta_cap
            .unwrap_or_else(|| (self.main.live() / 16).clamp(256, 4096))
    }

    fn maybe_compact(&mut self) {
        let cap = self.cap();
        let dead = self.main.dead();
        if self.delta.len() > cap || (dead > cap && dead * 4 > self.main.len()) {
            self.compact();
        }
    }

    /// Folds all changes since the last rebuild into the rank-ordered segment now (about
    /// 0.4 s for 200 000 documents). The index does this by itself when enough changes have
    /// piled up (see the module documentation); an app may call it at an idle moment instead.
    pub fn compact(&mut self) {
        if self.delta.is_empty() && self.main.dead() == 0 {
            return;
        }
        let mut batch = Docs::with_capacity(self.main.live() + self.delta.len());
        for ord in 0..self.main.len() as u32 {
            if self.main.is_alive(ord) {
                batch.push_ref(&self.main.doc(ord), self.main.slot(ord));
            }
        }
        for p in self.delta.drain(..) {
            batch.push_ref(&p.doc(), p.slot);
        }
        self.main = Segment::default();
        self.main = Segment::build(batch);
        self.relocate_main();
    }

    /// The slot of a document id, if the index has it.
    fn slot_of(&self, id: &str) -> Option<u32> {
        let at = self.locator();
        self.ids
            .find(id_hash(id), |&slot| at.id(slot) == Some(id))
            .copied()
    }

    fn locator(&self) -> Locator<'_> {
        Locator {
            main: &self.main,
            delta: &self.delta,
            slots: &self.slots,
        }
    }

    /// The id map to change, with what reads the ids of its slots (a borrow of the other
    /// fields).
    fn ids_and_locator(&mut self) -> (&mut HashTable<u32>, Locator<'_>) {
        (
            &mut self.ids,
            Locator {
                main: &self.main,
                delta: &self.delta,
                slots: &self.slots,
            },
        )
    }

    /// Points the slot of every segment document at its ordinal.
    fn relocate_main(&mut self) {
        for ord in 0..self.main.len() as u32 {
            self.slots[self.main.slot(ord) as usize] = Loc::Main(ord);
        }
    }
}
