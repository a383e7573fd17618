//! The immutable, rank-ordered part of the index.
//!
//! A [`Segment`] holds its documents in *rank order* (more recent first, then shorter name,
//! then name, then id): the document's position is its ordinal. Every posting list is a
//! sorted list of ordinals, so walking a posting list visits documents best-first, and a
//! query can stop as soon as it has found `limit` documents of a match class.
//!
//! Posting lists (one per n-gram) are either a sorted run of `u32` ordinals in one flat array
//! or, when more than 1/32 of the segment contains the gram, a bitmap (so never more than 4
//! bytes per entry). They are built in two passes (count, then fill into exact-size storage),
//! the name grams on one thread and the digit and code grams on another.
//!
//! Grams indexed per document (a gram id is either computed directly from the gram, or,
//! for the open-ended kinds, looked up in a hash map):
//! - name: key (초성) 1/2-grams over a 64-letter key alphabet and 3-grams over a 32-letter one
//!   (direct), syllable 1-grams and syllable-without-final 1-grams (direct), 2-grams of a unit
//!   and the next unit without its final consonant (hashed; only where a syllable is
//!   involved, else the key grams say the same), and the same kinds anchored at the start of
//!   the name;
//! - code: 3-grams and start-anchored 1/2/3-grams (hashed);
//! - phone and business-number digits: 1/2/3-grams and start-anchored 1/2/3-grams (direct);
//! - exact: a hash of the whole name key sequence, code, phone digits and business digits.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::text::{
    digits_into, is_syllable, key, key_id, lv_index, normalize_into, KEY_IDS, LV_PAIRS, SBASE,
    SYLLABLES,
};
use super::{MatchField, MatchKind, Query, SearchDoc, Sig, Unit};

// Direct name gram ids.
const KA: usize = KEY_IDS;
/// Key alphabet of the key 3-grams: the 19 initials, everything else folded into 13 ids
/// (keeps the direct id space, and so the per-segment tables, small).
const KA3: usize = 32;
const G_KEY1: usize = 0;
const G_KEY2: usize = G_KEY1 + KA;
const G_KEY3: usize = G_KEY2 + KA * KA;
const G_KEYP1: usize = G_KEY3 + KA3 * KA3 * KA3;
const G_KEYP2: usize = G_KEYP1 + KA;
const G_KEYP3: usize = G_KEYP2 + KA * KA;
const G_RAW1: usize = G_KEYP3 + KA3 * KA3 * KA3;
const G_RAWP1: usize = G_RAW1 + SYLLABLES;
const G_LV1: usize = G_RAWP1 + SYLLABLES;
const G_LVP1: usize = G_LV1 + LV_PAIRS;
/// Hashed name gram ids start here.
const G_DIRECT: usize = G_LVP1 + LV_PAIRS;

// Tags of hashed grams (part of the hashed key).
/// Name 2-grams (a unit, then the next unit by [`second_of_pair`]): the first unit exact, the
/// second without its final consonant, so one gram serves both `녹십` and the unfinished `녹시`.
const T_RAW2: u8 = 1;
const T_RAWP2: u8 = 2;
const T_CODE3: u8 = 3;
const T_CODEP: u8 = 4; // + n - 1 (1..=3)
const E_NAME: u8 = 20;
const E_CODE: u8 = 21;
const E_PHONE: u8 = 22;
const E_BN: u8 = 23;

/// Added to a syllable's [`lv_index`] in the second place of a name 2-gram (above every
/// code point, within 21 bits).
const LV_MARK: u32 = 0x11_0000;

/// Slots in a digit gram table: 10 unigrams, 100 bigrams, 1000 trigrams.
const DIGIT_SLOTS: usize = 1110;
const D_PHONE_INFIX: usize = 0;
const D_PHONE_PREFIX: usize = 1;
const D_BN_INFIX: usize = 2;
const D_BN_PREFIX: usize = 3;

/// At most this many posting lists are intersected for one candidate stream.
const MAX_LISTS: usize = 3;

/// Code infix matches need a query of at least this many characters (shorter queries still
/// find codes by prefix): `12` listing every code containing 12 helps nobody.
pub(crate) const CODE_INFIX_MIN: usize = 3;

// ---------------------------------------------------------------------------------------
// Hashing

/// Hasher for keys that are already well-mixed `u64`s.
#[derive(Clone, Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = fmix64(self.0 ^ u64::from(b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type IdBuild = BuildHasherDefault<IdHasher>;

/// Fast hasher for document ids (FNV-1a, then a final mix).
pub(crate) struct StrHasher(u64);

impl Default for StrHasher {
    fn default() -> Self {
        StrHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for StrHasher {
    fn finish(&self) -> u64 {
        fmix64(self.0)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

pub(crate) type StrBuild = BuildHasherDefault<StrHasher>;

#[inline]
fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^= k >> 33;
    k
}

/// Key of a hashed n-gram (n <= 3) of code points.
#[inline]
fn gram(tag: u8, a: u32, b: u32, c: u32) -> u64 {
    let x = u64::from(a) | (u64::from(b) << 21) | (u64::from(c) << 42);
    fmix64(x ^ (u64::from(tag) + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// Upper 32 bits of a hash of a whole sequence (exact-match table).
fn seq_hash(tag: u8, it: impl IntoIterator<Item = u32>) -> u32 {
    let mut h = fmix64(u64::from(tag) + 0x51);
    let mut n = 0u64;
    for x in it {
        h = fmix64(h ^ u64::from(x).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        n += 1;
    }
    (fmix64(h ^ n) >> 32) as u32
}

#[inline]
fn digit_slot(d: &[u8]) -> usize {
    match d.len() {
        1 => d[0] as usize,
        2 => 10 + d[0] as usize * 10 + d[1] as usize,
        _ => 110 + d[0] as usize * 100 + d[1] as usize * 10 + d[2] as usize,
    }
}

/// Direct gram id of a key 1/2/3-gram (key ids from [`key_id`]).
#[inline]
fn key_gid(base: usize, ks: &[usize]) -> u32 {
    if ks.len() == 3 {
        let fold = |k: usize| {
            if k < 19 {
                k
            } else {
                19 + (k - 19) % (KA3 - 19)
            }
        };
        (base + ks.iter().fold(0, |acc, &k| acc * KA3 + fold(k))) as u32
    } else {
        (base + ks.iter().fold(0, |acc, &k| acc * KA + k)) as u32
    }
}

// ---------------------------------------------------------------------------------------
// Posting lists

/// A borrowed posting list: sorted ordinals, or a bitmap with its population count.
#[derive(Clone, Copy)]
enum PostingRef<'a> {
    Sparse(&'a [u32]),
    Dense(&'a [u64], u32),
}

impl PostingRef<'_> {
    fn same(&self, other: &PostingRef<'_>) -> bool {
        match (self, other) {
            (PostingRef::Sparse(a), PostingRef::Sparse(b)) => std::ptr::eq(*a, *b),
            (PostingRef::Dense(a, _), PostingRef::Dense(b, _)) => std::ptr::eq(*a, *b),
            _ => false,
        }
    }

    fn len(&self) -> usize {
        match self {
            PostingRef::Sparse(v) => v.len(),
            PostingRef::Dense(_, count) => *count as usize,
        }
    }

    /// Calls `f` with every ordinal in increasing order until it returns `false`.
    #[inline]
    fn for_each_until(&self, mut f: impl FnMut(u32) -> bool) {
        match *self {
            PostingRef::Sparse(v) => {
                for &x in v {
                    if !f(x) {
                        return;
                    }
                }
            }
            PostingRef::Dense(words, _) => {
                for (wi, &w) in words.iter().enumerate() {
                    let mut w = w;
                    while w != 0 {
                        let x = wi as u32 * 64 + w.trailing_zeros();
                        if !f(x) {
                            return;
                        }
                        w &= w - 1;
                    }
                }
            }
        }
    }
}

/// Membership test for increasing ordinals (galloping over sparse lists).
struct Probe<'a> {
    p: PostingRef<'a>,
    pos: usize,
}

impl Probe<'_> {
    #[inline]
    fn contains(&mut self, x: u32) -> bool {
        match self.p {
            PostingRef::Dense(words, _) => words
                .get((x / 64) as usize)
                .is_some_and(|w| w >> (x % 64) & 1 == 1),
            PostingRef::Sparse(v) => {
                let mut lo = self.pos;
                if lo >= v.len() {
                    return false;
                }
                if v[lo] >= x {
                    return v[lo] == x;
                }
                // v[lo] < x: gallop, then binary search in (lo, hi].
                let mut step = 1;
                let mut hi = lo + 1;
                while hi < v.len() && v[hi] < x {
                    lo = hi;
                    step <<= 1;
                    hi = lo + step;
                }
                let hi = hi.min(v.len());
                let idx = lo + 1 + v[lo + 1..hi].partition_point(|&y| y < x);
                self.pos = idx;
                idx < v.len() && v[idx] == x
            }
        }
    }
}

/// Bit of `Meta::len` that marks a bitmap.
const DENSE_BIT: u32 = 1 << 31;

#[derive(Clone, Copy, Default)]
struct Meta {
    /// Sparse: offset in `Store::sparse`; dense: bitmap number.
    start: u32,
    /// Number of documents, with [`DENSE_BIT`] set for a bitmap.
    len: u32,
}

/// All posting lists of one kind, addressed by gram id.
#[derive(Clone, Default)]
struct Store {
    meta: Vec<Meta>,
    sparse: Vec<u32>,
    dense: Vec<u64>,
    /// Words per bitmap.
    words: usize,
}

impl Store {
    /// The posting list of a gram id; `None` if no document has it.
    #[inline]
    fn get(&self, gid: u32) -> Option<PostingRef<'_>> {
        let m = *self.meta.get(gid as usize)?;
        let len = m.len & !DENSE_BIT;
        if len == 0 {
            return None;
        }
        Some(if m.len & DENSE_BIT != 0 {
            let s = m.start as usize * self.words;
            PostingRef::Dense(&self.dense[s..s + self.words], len)
        } else {
            let s = m.start as usize;
            PostingRef::Sparse(&self.sparse[s..s + len as usize])
        })
    }
}

/// First pass of a store build: counts the documents of every gram.
struct Counter {
    /// Per gram id: (last ordinal seen, number of documents).
    cl: Vec<(u32, u32)>,
}

impl Counter {
    fn new(gids: usize) -> Self {
        Counter {
            cl: vec![(u32::MAX, 0); gids],
        }
    }

    fn add_gid(&mut self) -> u32 {
        self.cl.push((u32::MAX, 0));
        (self.cl.len() - 1) as u32
    }

    #[inline]
    fn count(&mut self, gid: u32, ord: u32) {
        let e = &mut self.cl[gid as usize];
        if e.0 != ord {
            e.0 = ord;
            e.1 += 1;
        }
    }

    /// Lays out exact-size storage: a bitmap for grams in more than 1/32 of the `n`
    /// documents, a sorted run otherwise.
    fn into_filler(self, n: u32) -> Filler {
        let words = (n as usize).div_ceil(64);
        let mut slots = Vec::with_capacity(self.cl.len());
        let (mut sparse_total, mut dense_total) = (0u32, 0u32);
        for &(_, len) in &self.cl {
            if len >= 64 && u64::from(len) * 32 > u64::from(n) {
                slots.push(FillSlot {
                    meta: Meta {
                        start: dense_total,
                        len: len | DENSE_BIT,
                    },
                    cursor: 0,
                    last: u32::MAX,
                });
                dense_total += 1;
            } else {
                slots.push(FillSlot {
                    meta: Meta {
                        start: sparse_total,
                        len,
                    },
                    cursor: sparse_total,
                    last: u32::MAX,
                });
                sparse_total += len;
            }
        }
        Filler {
            slots,
            sparse: vec![0; sparse_total as usize],
            dense: vec![0; dense_total as usize * words],
            words,
        }
    }
}

#[derive(Clone, Copy)]
struct FillSlot {
    meta: Meta,
    cursor: u32,
    last: u32,
}

/// Second pass of a store build: writes every (gram, document) into its place.
struct Filler {
    slots: Vec<FillSlot>,
    sparse: Vec<u32>,
    dense: Vec<u64>,
    words: usize,
}

impl Filler {
    #[inline]
    fn add(&mut self, gid: u32, ord: u32) {
        let e = &mut self.slots[gid as usize];
        if e.last == ord {
            return;
        }
        e.last = ord;
        if e.meta.len & DENSE_BIT != 0 {
            let w = e.meta.start as usize * self.words + (ord / 64) as usize;
            self.dense[w] |= 1 << (ord % 64);
        } else {
            self.sparse[e.cursor as usize] = ord;
            e.cursor += 1;
        }
    }

    fn into_store(self) -> Store {
        Store {
            meta: self.slots.iter().map(|s| s.meta).collect(),
            sparse: self.sparse,
            dense: self.dense,
            words: self.words,
        }
    }
}

/// A store whose gram ids come from a hash map (for open-ended gram kinds), possibly after
/// a range of directly computed ids.
#[derive(Clone, Default)]
struct GramStore {
    dict: HashMap<u64, u32, IdBuild>,
    store: Store,
}

/// The grams of one kind of store.
trait GramSource {
    /// Gram ids below this are computed directly; hashed grams get ids from here on.
    const DIRECT: usize;
    fn grams(d: &DocRef<'_>, emit: &mut impl FnMut(Gram));
}

struct NameGrams;
struct CodeGrams;
struct DigitGrams;

impl GramSource for NameGrams {
    const DIRECT: usize = G_DIRECT;
    #[inline]
    fn grams(d: &DocRef<'_>, emit: &mut impl FnMut(Gram)) {
        name_grams(d.name, emit);
    }
}

impl GramSource for CodeGrams {
    const DIRECT: usize = 0;
    #[inline]
    fn grams(d: &DocRef<'_>, emit: &mut impl FnMut(Gram)) {
        code_grams(d.code, emit);
    }
}

impl GramSource for DigitGrams {
    const DIRECT: usize = 4 * DIGIT_SLOTS;
    #[inline]
    fn grams(d: &DocRef<'_>, emit: &mut impl FnMut(Gram)) {
        digit_grams(d.phone, D_PHONE_INFIX, D_PHONE_PREFIX, emit);
        digit_grams(d.bn, D_BN_INFIX, D_BN_PREFIX, emit);
    }
}

/// One gram of a document: a direct id, or a hashed gram.
#[derive(Clone, Copy)]
enum Gram {
    Direct(u32),
    Hashed(u64),
}

impl GramStore {
    /// Builds from the grams of every document; ids below `S::DIRECT` are direct ids.
    fn build<S: GramSource>(docs: &Docs) -> GramStore {
        let direct = S::DIRECT;
        let mut dict: HashMap<u64, u32, IdBuild> = HashMap::with_hasher(IdBuild::default());
        let mut counter = Counter::new(direct);
        // Hashed gram ids in emission order, so the second pass does not hash again.
        let mut hashed: Vec<u32> = Vec::new();
        for ord in 0..docs.n {
            S::grams(&docs.doc(ord), &mut |g| {
                let gid = match g {
                    Gram::Direct(gid) => gid,
                    Gram::Hashed(k) => {
                        let gid = *dict.entry(k).or_insert_with(|| counter.add_gid());
                        hashed.push(gid);
                        gid
                    }
                };
                counter.count(gid, ord);
            });
        }
        let mut filler = counter.into_filler(docs.n);
        let mut next = hashed.iter();
        for ord in 0..docs.n {
            S::grams(&docs.doc(ord), &mut |g| {
                let gid = match g {
                    Gram::Direct(gid) => gid,
                    Gram::Hashed(_) => *next.next().expect("same grams in both passes"),
                };
                filler.add(gid, ord);
            });
        }
        dict.shrink_to_fit();
        GramStore {
            dict,
            store: filler.into_store(),
        }
    }

    #[inline]
    fn get(&self, g: Gram) -> Option<PostingRef<'_>> {
        match g {
            Gram::Direct(gid) => self.store.get(gid),
            Gram::Hashed(k) => self.store.get(*self.dict.get(&k)?),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Documents

/// A prepared document, borrowed from a segment's arenas or from a [`Prep`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct DocRef<'a> {
    pub id: &'a str,
    pub recent: i64,
    /// Normalised name units (lowercase, no whitespace, composed Hangul).
    pub name: &'a [char],
    /// Normalised code units.
    pub code: &'a [char],
    /// Phone digits (values 0..=9).
    pub phone: &'a [u8],
    /// Business-number digits (values 0..=9).
    pub bn: &'a [u8],
}

impl DocRef<'_> {
    /// Whether two prepared documents are the same for searching and ranking.
    pub fn same_as(&self, o: &DocRef<'_>) -> bool {
        self.id == o.id
            && self.recent == o.recent
            && self.name == o.name
            && self.code == o.code
            && self.phone == o.phone
            && self.bn == o.bn
    }
}

/// The ranking order within one match class: more recent first, then shorter name, then
/// name order, then id.
#[inline]
pub(crate) fn rank_cmp(a: &DocRef<'_>, b: &DocRef<'_>) -> Ordering {
    b.recent
        .cmp(&a.recent)
        .then_with(|| a.name.len().cmp(&b.name.len()))
        .then_with(|| a.name.cmp(b.name))
        .then_with(|| a.id.cmp(b.id))
}

/// An owned prepared document (delta documents, and the input of a segment build).
#[derive(Clone, Debug)]
pub(crate) struct Prep {
    pub id: String,
    pub recent: i64,
    /// The index's slot for this id (see `SearchIndex`).
    pub slot: u32,
    /// Name units followed by code units.
    chars: Vec<char>,
    name_len: usize,
    /// Phone digits followed by business-number digits.
    digits: Vec<u8>,
    phone_len: usize,
    pub sig: Sig,
}

impl Prep {
    pub fn new(doc: SearchDoc, slot: u32) -> Prep {
        let mut chars = Vec::with_capacity(doc.name.len() / 2 + doc.code.len() + 2);
        normalize_into(&doc.name, false, &mut chars);
        let name_len = chars.len();
        normalize_into(&doc.code, false, &mut chars);
        let mut digits = Vec::with_capacity(doc.phone.len() + doc.business_number.len());
        digits_into(&doc.phone, &mut digits);
        let phone_len = digits.len();
        digits_into(&doc.business_number, &mut digits);
        let mut p = Prep {
            id: doc.id,
            recent: doc.recent,
            slot,
            chars,
            name_len,
            digits,
            phone_len,
            sig: Sig::default(),
        };
        p.sig = Sig::of(&p.doc());
        p
    }

    pub fn doc(&self) -> DocRef<'_> {
        DocRef {
            id: &self.id,
            recent: self.recent,
            name: &self.chars[..self.name_len],
            code: &self.chars[self.name_len..],
            phone: &self.digits[..self.phone_len],
            bn: &self.digits[self.phone_len..],
        }
    }
}

/// Where one document's data lies in the arenas of [`Docs`].
#[derive(Clone, Copy, Default)]
struct Head {
    recent: i64,
    slot: u32,
    id_off: u32,
    id_len: u32,
    /// Name units, then code units, in `Docs::chars`.
    char_off: u32,
    name_len: u32,
    code_len: u32,
    /// Phone digits, then business-number digits, in `Docs::digits`.
    dig_off: u32,
    phone_len: u32,
    bn_len: u32,
}

/// Documents in flat arenas: a segment's documents by ordinal, or (before a build) a batch
/// of documents in any order. One fixed-size head per document keeps a document's lookups
/// to a few cache lines.
#[derive(Clone, Default)]
pub(crate) struct Docs {
    n: u32,
    heads: Vec<Head>,
    id_data: String,
    chars: Vec<char>,
    digits: Vec<u8>,
    /// Batch only: entries to leave out of the build (replaced by a later entry).
    skip: Vec<bool>,
}

/// Sort key of a document: decides almost every comparison without touching the document
/// (ties fall back to [`rank_cmp`]).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct RankKey {
    /// `!recent` as an order-preserving unsigned number: more recent sorts first.
    recent: u64,
    /// Name length (high 22 bits) and the first two units (21 bits each, +1 so that a
    /// missing unit sorts first).
    a: u64,
    /// Units 2..5 and 5..8 of the name.
    b: u64,
    c: u64,
    /// First 8 bytes of the id, big-endian.
    id: u64,
    idx: u32,
}

impl RankKey {
    fn new(d: &DocRef<'_>, idx: u32) -> RankKey {
        let u = |j: usize| d.name.get(j).map_or(0, |&c| u64::from(c) + 1);
        let three = |j: usize| (u(j) << 42) | (u(j + 1) << 21) | u(j + 2);
        let mut id = [0u8; 8];
        let n = d.id.len().min(8);
        id[..n].copy_from_slice(&d.id.as_bytes()[..n]);
        RankKey {
            recent: !((d.recent as u64) ^ (1 << 63)),
            a: ((d.name.len().min(0x3F_FFFF) as u64) << 42) | (u(0) << 21) | u(1),
            b: three(2),
            c: three(5),
            id: u64::from_be_bytes(id),
            idx,
        }
    }
}

impl Docs {
    /// An empty batch with room for about `n` documents.
    pub fn with_capacity(n: usize) -> Docs {
        Docs {
            heads: Vec::with_capacity(n),
            id_data: String::with_capacity(n * 12),
            chars: Vec::with_capacity(n * 16),
            digits: Vec::with_capacity(n * 21),
            skip: Vec::with_capacity(n),
            ..Docs::default()
        }
    }

    /// Appends a document (normalising it); returns its batch index.
    pub fn push_doc(&mut self, doc: &SearchDoc, slot: u32) -> u32 {
        let id_off = self.id_data.len() as u32;
        self.id_data.push_str(&doc.id);
        let char_off = self.chars.len();
        normalize_into(&doc.name, false, &mut self.chars);
        let name_end = self.chars.len();
        normalize_into(&doc.code, false, &mut self.chars);
        let dig_off = self.digits.len();
        digits_into(&doc.phone, &mut self.digits);
        let phone_end = self.digits.len();
        digits_into(&doc.business_number, &mut self.digits);
        self.heads.push(Head {
            recent: doc.recent,
            slot,
            id_off,
            id_len: doc.id.len() as u32,
            char_off: char_off as u32,
            name_len: (name_end - char_off) as u32,
            code_len: (self.chars.len() - name_end) as u32,
            dig_off: dig_off as u32,
            phone_len: (phone_end - dig_off) as u32,
            bn_len: (self.digits.len() - phone_end) as u32,
        });
        self.skip.push(false);
        self.n += 1;
        self.n - 1
    }

    /// Appends an already prepared document.
    pub fn push_ref(&mut self, d: &DocRef<'_>, slot: u32) {
        let head = Head {
            recent: d.recent,
            slot,
            id_off: self.id_data.len() as u32,
            id_len: d.id.len() as u32,
            char_off: self.chars.len() as u32,
            name_len: d.name.len() as u32,
            code_len: d.code.len() as u32,
            dig_off: self.digits.len() as u32,
            phone_len: d.phone.len() as u32,
            bn_len: d.bn.len() as u32,
        };
        self.id_data.push_str(d.id);
        self.chars.extend_from_slice(d.name);
        self.chars.extend_from_slice(d.code);
        self.digits.extend_from_slice(d.phone);
        self.digits.extend_from_slice(d.bn);
        self.heads.push(head);
        self.skip.push(false);
        self.n += 1;
    }

    pub fn len(&self) -> usize {
        self.n as usize
    }

    pub fn set_slot(&mut self, idx: u32, slot: u32) {
        self.heads[idx as usize].slot = slot;
    }

    /// Leaves a batch entry out of the build.
    pub fn skip(&mut self, idx: u32) {
        self.skip[idx as usize] = true;
    }

    /// The rank order of the batch's entries (skipped ones included).
    pub fn rank_order(&self) -> Vec<RankKey> {
        let mut order: Vec<RankKey> = (0..self.n).map(|i| RankKey::new(&self.doc(i), i)).collect();
        order.sort_unstable_by(|x, y| {
            (x.recent, x.a, x.b, x.c, x.id)
                .cmp(&(y.recent, y.a, y.b, y.c, y.id))
                .then_with(|| rank_cmp(&self.doc(x.idx), &self.doc(y.idx)))
        });
        order
    }

    /// The batch's documents, less skipped ones, laid out in `order` (from [`Self::rank_order`]).
    fn ranked(self, order: &[RankKey]) -> Docs {
        let mut d = Docs {
            n: 0,
            heads: Vec::with_capacity(order.len()),
            id_data: String::with_capacity(self.id_data.len()),
            chars: Vec::with_capacity(self.chars.len()),
            digits: Vec::with_capacity(self.digits.len()),
            skip: Vec::new(),
        };
        for k in order {
            if !self.skip[k.idx as usize] {
                d.push_ref(&self.doc(k.idx), self.heads[k.idx as usize].slot);
            }
        }
        d.skip = Vec::new();
        d
    }

    #[inline]
    fn slot(&self, ord: u32) -> u32 {
        self.heads[ord as usize].slot
    }

    #[inline]
    fn name(&self, ord: u32) -> &[char] {
        let h = &self.heads[ord as usize];
        let s = h.char_off as usize;
        &self.chars[s..s + h.name_len as usize]
    }

    #[inline]
    fn code(&self, ord: u32) -> &[char] {
        let h = &self.heads[ord as usize];
        let s = (h.char_off + h.name_len) as usize;
        &self.chars[s..s + h.code_len as usize]
    }

    #[inline]
    fn phone(&self, ord: u32) -> &[u8] {
        let h = &self.heads[ord as usize];
        let s = h.dig_off as usize;
        &self.digits[s..s + h.phone_len as usize]
    }

    #[inline]
    fn bn(&self, ord: u32) -> &[u8] {
        let h = &self.heads[ord as usize];
        let s = (h.dig_off + h.phone_len) as usize;
        &self.digits[s..s + h.bn_len as usize]
    }

    #[inline]
    pub fn doc(&self, ord: u32) -> DocRef<'_> {
        let h = &self.heads[ord as usize];
        let (c, d) = (h.char_off as usize, h.dig_off as usize);
        let (nl, pl) = (h.name_len as usize, h.phone_len as usize);
        DocRef {
            id: &self.id_data[h.id_off as usize..(h.id_off + h.id_len) as usize],
            recent: h.recent,
            name: &self.chars[c..c + nl],
            code: &self.chars[c + nl..c + nl + h.code_len as usize],
            phone: &self.digits[d..d + pl],
            bn: &self.digits[d + pl..d + pl + h.bn_len as usize],
        }
    }
}

// ---------------------------------------------------------------------------------------
// Grams of a document

/// The second place of a name 2-gram: a syllable by its initial+vowel, anything else as is.
#[inline]
fn second_of_pair(c: char) -> u32 {
    if is_syllable(c) {
        LV_MARK + lv_index(c)
    } else {
        c as u32
    }
}

/// The second place of the query 2-gram (`first`, `second`), if the index has such grams:
/// the first must be a literal unit and one of the two a syllable (else the key grams say
/// the same).
#[inline]
fn pair_second(first: Unit, second: Unit) -> Option<u32> {
    let Unit::Lit(a) = first else {
        return None;
    };
    match second {
        Unit::Lit(b) if is_syllable(a) || is_syllable(b) => Some(second_of_pair(b)),
        Unit::Lv(x) => Some(LV_MARK + x),
        _ => None,
    }
}

/// Emits every name gram of a document.
fn name_grams(name: &[char], emit: &mut impl FnMut(Gram)) {
    let len = name.len();
    if len == 0 {
        return;
    }
    let k = |i: usize| key_id(name[i]);
    let c = |i: usize| name[i] as u32;
    let d = |g: usize| Gram::Direct(g as u32);
    for i in 0..len {
        let u = name[i];
        emit(d(G_KEY1 + k(i)));
        if is_syllable(u) {
            emit(d(G_RAW1 + (c(i) - SBASE) as usize));
            emit(d(G_LV1 + lv_index(u) as usize));
        }
        if i + 1 < len {
            emit(Gram::Direct(key_gid(G_KEY2, &[k(i), k(i + 1)])));
            if is_syllable(u) || is_syllable(name[i + 1]) {
                emit(Gram::Hashed(gram(
                    T_RAW2,
                    c(i),
                    second_of_pair(name[i + 1]),
                    0,
                )));
            }
        }
        if i + 2 < len {
            emit(Gram::Direct(key_gid(G_KEY3, &[k(i), k(i + 1), k(i + 2)])));
        }
    }
    emit(d(G_KEYP1 + k(0)));
    if is_syllable(name[0]) {
        emit(d(G_RAWP1 + (c(0) - SBASE) as usize));
        emit(d(G_LVP1 + lv_index(name[0]) as usize));
    }
    if len >= 2 {
        emit(Gram::Direct(key_gid(G_KEYP2, &[k(0), k(1)])));
        if is_syllable(name[0]) || is_syllable(name[1]) {
            emit(Gram::Hashed(gram(
                T_RAWP2,
                c(0),
                second_of_pair(name[1]),
                0,
            )));
        }
    }
    if len >= 3 {
        emit(Gram::Direct(key_gid(G_KEYP3, &[k(0), k(1), k(2)])));
    }
}

/// Emits every code gram of a document.
fn code_grams(code: &[char], emit: &mut impl FnMut(Gram)) {
    let c = |i: usize| code[i] as u32;
    let len = code.len();
    for i in 0..len.saturating_sub(2) {
        emit(Gram::Hashed(gram(T_CODE3, c(i), c(i + 1), c(i + 2))));
    }
    for n in 1..=len.min(3) {
        emit(Gram::Hashed(gram(
            T_CODEP + n as u8 - 1,
            c(0),
            if n > 1 { c(1) } else { 0 },
            if n > 2 { c(2) } else { 0 },
        )));
    }
}

/// Emits the digit-table gram id of every gram of one digit field (1- and 2-grams once
/// each, through bit sets, as most of them repeat).
fn digit_grams(d: &[u8], infix_table: usize, prefix_table: usize, emit: &mut impl FnMut(Gram)) {
    let gid = |table: usize, slot: usize| Gram::Direct((table * DIGIT_SLOTS + slot) as u32);
    for n in 1..=d.len().min(3) {
        emit(gid(prefix_table, digit_slot(&d[..n])));
    }
    let mut ones = 0u16;
    let mut twos = 0u128;
    for (i, &x) in d.iter().enumerate() {
        ones |= 1 << x;
        if let Some(&y) = d.get(i + 1) {
            twos |= 1 << (x * 10 + y);
            if let Some(&z) = d.get(i + 2) {
                emit(gid(
                    infix_table,
                    110 + x as usize * 100 + y as usize * 10 + z as usize,
                ));
            }
        }
    }
    while ones != 0 {
        emit(gid(infix_table, ones.trailing_zeros() as usize));
        ones &= ones - 1;
    }
    while twos != 0 {
        emit(gid(infix_table, 10 + twos.trailing_zeros() as usize));
        twos &= twos - 1;
    }
}

fn name_exact(name: &[char]) -> u32 {
    seq_hash(E_NAME, name.iter().map(|&c| key(c) as u32))
}

fn chars_exact(tag: u8, s: &[char]) -> u32 {
    seq_hash(tag, s.iter().map(|&c| c as u32))
}

fn digits_exact(tag: u8, s: &[u8]) -> u32 {
    seq_hash(tag, s.iter().map(|&d| u32::from(d)))
}

fn build_exact(docs: &Docs) -> Vec<(u32, u32)> {
    let mut exact = Vec::with_capacity(docs.n as usize * 4);
    for ord in 0..docs.n {
        let d = docs.doc(ord);
        exact.push((name_exact(d.name), ord));
        if !d.code.is_empty() {
            exact.push((chars_exact(E_CODE, d.code), ord));
        }
        if !d.phone.is_empty() {
            exact.push((digits_exact(E_PHONE, d.phone), ord));
        }
        if !d.bn.is_empty() {
            exact.push((digits_exact(E_BN, d.bn), ord));
        }
    }
    // Entries are generated in ordinal order; a stable LSD radix sort on the hash (two 16-bit
    // passes) leaves them sorted by (hash, ordinal).
    let mut tmp = vec![(0u32, 0u32); exact.len()];
    for shift in [0u32, 16] {
        let mut count = vec![0usize; 1 << 16];
        for e in &exact {
            count[((e.0 >> shift) & 0xFFFF) as usize] += 1;
        }
        let mut sum = 0;
        for c in count.iter_mut() {
            let x = *c;
            *c = sum;
            sum += x;
        }
        for e in &exact {
            let b = ((e.0 >> shift) & 0xFFFF) as usize;
            tmp[count[b]] = *e;
            count[b] += 1;
        }
        std::mem::swap(&mut exact, &mut tmp);
    }
    exact
}

// ---------------------------------------------------------------------------------------
// Segment

/// Builds with at least this many documents use a second thread.
pub(crate) const PARALLEL_BUILD_MIN: u32 = 4096;

#[derive(Clone, Default)]
pub(crate) struct Segment {
    docs: Docs,
    names: GramStore,
    codes: GramStore,
    /// Gram id = table * DIGIT_SLOTS + slot.
    digits: GramStore,
    /// (hash of a whole field, ordinal), sorted.
    exact: Vec<(u32, u32)>,
    alive: Vec<u64>,
    dead: usize,
}

impl Segment {
    /// Builds a segment from a batch; the documents are sorted into rank order. Ids must be
    /// unique among the entries not skipped.
    pub fn build(batch: Docs) -> Segment {
        let order = batch.rank_order();
        Segment::build_ordered(batch, order)
    }

    /// [`Self::build`] with the batch's rank order already computed. The batch and the order
    /// are dropped once the documents are laid out, before the posting lists are built (at
    /// 200k accounts the order alone is 9.6 MB of a first sync's peak).
    pub fn build_ordered(batch: Docs, order: Vec<RankKey>) -> Segment {
        let docs = batch.ranked(&order);
        drop(order);
        if docs.n == 0 {
            return Segment::default();
        }
        let n = docs.n;
        // Two halves of about equal work.
        let build_names = || (GramStore::build::<NameGrams>(&docs), build_exact(&docs));
        let build_rest = || {
            (
                GramStore::build::<DigitGrams>(&docs),
                GramStore::build::<CodeGrams>(&docs),
            )
        };
        let ((names, exact), (digits, codes)) = if n >= PARALLEL_BUILD_MIN {
            std::thread::scope(|s| {
                let names = s.spawn(build_names);
                let rest = build_rest();
                (names.join().expect("search index build thread"), rest)
            })
        } else {
            (build_names(), build_rest())
        };
        let mut alive = vec![u64::MAX; (n as usize).div_ceil(64)];
        if !n.is_multiple_of(64) {
            if let Some(last) = alive.last_mut() {
                *last = (1u64 << (n % 64)) - 1;
            }
        }
        Segment {
            docs,
            names,
            codes,
            digits,
            exact,
            alive,
            dead: 0,
        }
    }

    /// Number of ordinals (live or dead).
    pub fn len(&self) -> usize {
        self.docs.n as usize
    }

    pub fn live(&self) -> usize {
        self.len() - self.dead
    }

    pub fn dead(&self) -> usize {
        self.dead
    }

    /// The index slot of the document at `ord`.
    pub fn slot(&self, ord: u32) -> u32 {
        self.docs.slot(ord)
    }

    #[inline]
    pub fn is_alive(&self, ord: u32) -> bool {
        self.alive[(ord / 64) as usize] >> (ord % 64) & 1 == 1
    }

    pub fn kill(&mut self, ord: u32) {
        if self.is_alive(ord) {
            self.alive[(ord / 64) as usize] &= !(1u64 << (ord % 64));
            self.dead += 1;
        }
    }

    #[inline]
    pub fn doc(&self, ord: u32) -> DocRef<'_> {
        self.docs.doc(ord)
    }

    /// An owned copy of a document (to move it to the delta, or into a rebuild).
    pub fn prep(&self, ord: u32) -> Prep {
        let d = self.doc(ord);
        let mut chars = Vec::with_capacity(d.name.len() + d.code.len());
        chars.extend_from_slice(d.name);
        chars.extend_from_slice(d.code);
        let mut digits = Vec::with_capacity(d.phone.len() + d.bn.len());
        digits.extend_from_slice(d.phone);
        digits.extend_from_slice(d.bn);
        Prep {
            id: d.id.to_string(),
            recent: d.recent,
            slot: self.slot(ord),
            chars,
            name_len: d.name.len(),
            digits,
            phone_len: d.phone.len(),
            sig: Sig::of(&d),
        }
    }

    /// The best hits of this segment: all exact matches, then up to the number still
    /// needed of prefix matches, then of infix matches, each class in rank order, so that
    /// the best `limit` of this segment are among them.
    ///
    /// A class is collected from one candidate stream per field (name, code, phone, business
    /// number), each walked best-first and checked on its own field only. A class is only
    /// walked when the better classes were found completely (fewer hits than needed), so a
    /// document whose field matches with this class is of this class unless it was already
    /// found; its reported field is then its best one.
    pub fn search(&self, q: &Query, limit: usize, out: &mut Vec<(MatchKind, MatchField, u32)>) {
        if self.docs.n == 0 || limit == 0 {
            return;
        }
        // Exact: complete, from the whole-field hash table.
        let mut cands: Vec<u32> = Vec::new();
        let mut hashes = vec![name_exact(&q.keys), chars_exact(E_CODE, &q.units)];
        if !q.digits.is_empty() {
            hashes.push(digits_exact(E_PHONE, &q.digits));
            hashes.push(digits_exact(E_BN, &q.digits));
        }
        for h in hashes {
            let start = self.exact.partition_point(|e| e.0 < h);
            for &(eh, ord) in &self.exact[start..] {
                if eh != h {
                    break;
                }
                if self.is_alive(ord) {
                    cands.push(ord);
                }
            }
        }
        let mut need = limit;
        // Ordinals found so far, sorted.
        let mut found: Vec<u32> = Vec::new();
        self.take_class(q, &mut cands, &mut need, MatchKind::Exact, &mut found, out);

        for class in [MatchKind::Prefix, MatchKind::Infix] {
            if need == 0 {
                break;
            }
            let prefix = class == MatchKind::Prefix;
            let d = &self.docs;
            if let Some(lists) = self.name_lists(q, prefix) {
                self.walk(lists, need, class, &found, &mut cands, |o| {
                    q.match_name(d.name(o))
                });
            }
            if let Some(lists) = self.code_lists(q, prefix) {
                self.walk(lists, need, class, &found, &mut cands, |o| {
                    q.match_code(d.code(o))
                });
            }
            if !q.digits.is_empty() {
                let (pi, pp) = (D_PHONE_INFIX, D_PHONE_PREFIX);
                if let Some(lists) = self.digit_lists(&q.digits, prefix, pi, pp) {
                    self.walk(lists, need, class, &found, &mut cands, |o| {
                        q.match_digits(d.phone(o))
                    });
                }
                let (bi, bp) = (D_BN_INFIX, D_BN_PREFIX);
                if let Some(lists) = self.digit_lists(&q.digits, prefix, bi, bp) {
                    self.walk(lists, need, class, &found, &mut cands, |o| {
                        q.match_digits(d.bn(o))
                    });
                }
            }
            self.take_class(q, &mut cands, &mut need, class, &mut found, out);
        }
    }

    /// Keeps the best `need` candidates whose best match is of `class` (in rank order),
    /// with their best field.
    fn take_class(
        &self,
        q: &Query,
        cands: &mut Vec<u32>,
        need: &mut usize,
        class: MatchKind,
        found: &mut Vec<u32>,
        out: &mut Vec<(MatchKind, MatchField, u32)>,
    ) {
        cands.sort_unstable();
        cands.dedup();
        for &ord in cands.iter() {
            if *need == 0 {
                break;
            }
            let best = q.eval(&self.doc(ord));
            // Prefix and infix candidates are of their class by construction (see
            // `search`); exact candidates come from a hash and may not match at all.
            debug_assert!(class == MatchKind::Exact || best.map(|b| b.0) == Some(class));
            if let Some((k, f)) = best {
                if k == class {
                    out.push((k, f, ord));
                    found.push(ord);
                    *need -= 1;
                }
            }
        }
        cands.clear();
        found.sort_unstable();
    }

    /// Walks the intersection of `lists` in rank order and collects up to `need` documents
    /// not `found` yet whose field matches (by `check`) with `class`.
    fn walk(
        &self,
        mut lists: Vec<PostingRef<'_>>,
        need: usize,
        class: MatchKind,
        found: &[u32],
        cands: &mut Vec<u32>,
        check: impl Fn(u32) -> Option<MatchKind>,
    ) {
        if lists.is_empty() {
            return;
        }
        lists.sort_by_key(PostingRef::len);
        // The same gram can come up more than once (e.g. `2222` has two `222` windows).
        lists.dedup_by(|a, b| a.same(b));
        lists.truncate(MAX_LISTS);
        let mut probes: Vec<Probe<'_>> = lists[1..].iter().map(|&p| Probe { p, pos: 0 }).collect();
        let mut taken = 0;
        lists[0].for_each_until(|ord| {
            if !self.is_alive(ord) {
                return true;
            }
            for p in probes.iter_mut() {
                if !p.contains(ord) {
                    return true;
                }
            }
            if check(ord) == Some(class) && found.binary_search(&ord).is_err() {
                cands.push(ord);
                taken += 1;
                return taken < need;
            }
            true
        });
    }

    /// Posting lists whose intersection holds every document whose name can match the
    /// query (at the start if `prefix`, anywhere otherwise). `None` if one is empty.
    fn name_lists(&self, q: &Query, prefix: bool) -> Option<Vec<PostingRef<'_>>> {
        let m = &q.matchers;
        let len = m.len();
        if len == 0 {
            return None;
        }
        let k: Vec<usize> = q.keys.iter().map(|&c| key_id(c)).collect();
        let get = |g: Gram| self.names.get(g);
        let direct = |g: usize| Gram::Direct(g as u32);
        let mut lists = Vec::with_capacity(2 * len + 2);
        if prefix {
            let n = len.min(3);
            let base = [G_KEYP1, G_KEYP2, G_KEYP3][n - 1];
            lists.push(get(Gram::Direct(key_gid(base, &k[..n])))?);
            match (m[0], m.get(1).and_then(|&b| pair_second(m[0], b))) {
                (Unit::Lit(a), Some(b)) => {
                    lists.push(get(Gram::Hashed(gram(T_RAWP2, a as u32, b, 0)))?);
                }
                (Unit::Lit(a), _) if is_syllable(a) => {
                    lists.push(get(direct(G_RAWP1 + (a as u32 - SBASE) as usize))?);
                }
                (Unit::Lv(x), _) => {
                    lists.push(get(direct(G_LVP1 + x as usize))?);
                }
                _ => {}
            }
        }
        // The infix grams hold for prefix matches too (they narrow long prefix queries).
        if len >= 3 {
            for w in k.windows(3) {
                lists.push(get(Gram::Direct(key_gid(G_KEY3, w)))?);
            }
        } else {
            let base = [G_KEY1, G_KEY2][len - 1];
            lists.push(get(Gram::Direct(key_gid(base, &k)))?);
        }
        for i in 0..len {
            match m[i] {
                Unit::Lit(c) if is_syllable(c) => {
                    lists.push(get(direct(G_RAW1 + (c as u32 - SBASE) as usize))?);
                }
                Unit::Lv(x) => {
                    lists.push(get(direct(G_LV1 + x as usize))?);
                }
                _ => {}
            }
            if let (Unit::Lit(a), Some(b)) =
                (m[i], m.get(i + 1).and_then(|&b| pair_second(m[i], b)))
            {
                lists.push(get(Gram::Hashed(gram(T_RAW2, a as u32, b, 0)))?);
            }
        }
        Some(lists)
    }

    fn code_lists(&self, q: &Query, prefix: bool) -> Option<Vec<PostingRef<'_>>> {
        let v: Vec<u32> = q.units.iter().map(|&c| c as u32).collect();
        let get = |g: u64| self.codes.get(Gram::Hashed(g));
        let mut lists = Vec::with_capacity(v.len());
        if prefix {
            let n = v.len().min(3);
            let at = |j: usize| if j < n { v[j] } else { 0 };
            lists.push(get(gram(T_CODEP + n as u8 - 1, at(0), at(1), at(2)))?);
        } else if v.len() < CODE_INFIX_MIN {
            return None;
        }
        for w in v.windows(3) {
            lists.push(get(gram(T_CODE3, w[0], w[1], w[2]))?);
        }
        Some(lists)
    }

    fn digit_lists(
        &self,
        d: &[u8],
        prefix: bool,
        infix_table: usize,
        prefix_table: usize,
    ) -> Option<Vec<PostingRef<'_>>> {
        let n = d.len().min(3);
        let get = |table: usize, g: &[u8]| {
            self.digits
                .get(Gram::Direct((table * DIGIT_SLOTS + digit_slot(g)) as u32))
        };
        let mut lists = Vec::with_capacity(d.len());
        if prefix {
            lists.push(get(prefix_table, &d[..n])?);
        }
        for w in d.windows(n) {
            lists.push(get(infix_table, w)?);
        }
        Some(lists)
    }
}
