//! Just enough TrueType parsing to measure text: the character map (formats 4 and 12) and
//! the horizontal advances. printpdf draws the glyphs; this only tells how wide they are, so
//! the layout can right-align amounts, centre titles and shorten text that does not fit.

use super::PdfError;

pub(crate) struct FontMetrics<'a> {
    data: &'a [u8],
    units_per_em: f32,
    num_h_metrics: usize,
    hmtx: usize,
    cmap: CmapTable,
}

#[derive(Clone, Copy)]
enum CmapTable {
    /// Offset of a format 4 subtable (BMP).
    Format4(usize),
    /// Offset of a format 12 subtable (full Unicode).
    Format12(usize),
}

fn u16_at(d: &[u8], off: usize) -> Option<u16> {
    d.get(off..off + 2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
}

fn u32_at(d: &[u8], off: usize) -> Option<u32> {
    d.get(off..off + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

impl<'a> FontMetrics<'a> {
    pub(crate) fn parse(data: &'a [u8]) -> Result<Self, PdfError> {
        Self::parse_inner(data).ok_or_else(|| PdfError::Font("unreadable TrueType font".into()))
    }

    fn parse_inner(data: &'a [u8]) -> Option<Self> {
        let num_tables = u16_at(data, 4)? as usize;
        let find = |tag: &[u8; 4]| -> Option<usize> {
            (0..num_tables).find_map(|i| {
                let rec = 12 + 16 * i;
                (data.get(rec..rec + 4)? == tag)
                    .then(|| u32_at(data, rec + 8).map(|o| o as usize))?
            })
        };
        let head = find(b"head")?;
        let hhea = find(b"hhea")?;
        let hmtx = find(b"hmtx")?;
        let cmap = find(b"cmap")?;
        let units_per_em = u16_at(data, head + 18)? as f32;
        let num_h_metrics = u16_at(data, hhea + 34)? as usize;
        if units_per_em <= 0.0 || num_h_metrics == 0 {
            return None;
        }

        let n = u16_at(data, cmap + 2)? as usize;
        let mut fmt4 = None;
        let mut fmt12 = None;
        for i in 0..n {
            let rec = cmap + 4 + 8 * i;
            let platform = u16_at(data, rec)?;
            let encoding = u16_at(data, rec + 2)?;
            let sub = cmap + u32_at(data, rec + 4)? as usize;
            let unicode = platform == 0 || (platform == 3 && (encoding == 1 || encoding == 10));
            if !unicode {
                continue;
            }
            match u16_at(data, sub)? {
                4 if fmt4.is_none() => fmt4 = Some(sub),
                12 if fmt12.is_none() => fmt12 = Some(sub),
                _ => {}
            }
        }
        let cmap = match (fmt12, fmt4) {
            (Some(o), _) => CmapTable::Format12(o),
            (None, Some(o)) => CmapTable::Format4(o),
            (None, None) => return None,
        };
        Some(Self {
            data,
            units_per_em,
            num_h_metrics,
            hmtx,
            cmap,
        })
    }

    /// Glyph id of a character, `None` when the font has no glyph for it.
    pub(crate) fn glyph(&self, c: char) -> Option<u16> {
        let c = c as u32;
        let d = self.data;
        let gid = match self.cmap {
            CmapTable::Format12(sub) => {
                let groups = u32_at(d, sub + 12)? as usize;
                let (mut lo, mut hi) = (0usize, groups);
                let mut found = None;
                while lo < hi {
                    let mid = (lo + hi) / 2;
                    let g = sub + 16 + 12 * mid;
                    let (start, end) = (u32_at(d, g)?, u32_at(d, g + 4)?);
                    if c < start {
                        hi = mid;
                    } else if c > end {
                        lo = mid + 1;
                    } else {
                        found = Some(u32_at(d, g + 8)? + (c - start));
                        break;
                    }
                }
                found? as u16
            }
            CmapTable::Format4(sub) => {
                if c > 0xFFFF {
                    return None;
                }
                let seg_x2 = u16_at(d, sub + 6)? as usize;
                let ends = sub + 14;
                let starts = ends + seg_x2 + 2;
                let deltas = starts + seg_x2;
                let range_offsets = deltas + seg_x2;
                let segs = seg_x2 / 2;
                // first segment whose end >= c
                let (mut lo, mut hi) = (0usize, segs);
                while lo < hi {
                    let mid = (lo + hi) / 2;
                    if (u16_at(d, ends + 2 * mid)? as u32) < c {
                        lo = mid + 1;
                    } else {
                        hi = mid;
                    }
                }
                if lo >= segs {
                    return None;
                }
                let start = u16_at(d, starts + 2 * lo)? as u32;
                if c < start {
                    return None;
                }
                let delta = u16_at(d, deltas + 2 * lo)?;
                let ro_pos = range_offsets + 2 * lo;
                let ro = u16_at(d, ro_pos)? as usize;
                if ro == 0 {
                    (c as u16).wrapping_add(delta)
                } else {
                    let g = u16_at(d, ro_pos + ro + 2 * (c - start) as usize)?;
                    if g == 0 {
                        return None;
                    }
                    g.wrapping_add(delta)
                }
            }
        };
        (gid != 0).then_some(gid)
    }

    fn advance(&self, gid: u16) -> u16 {
        let i = (gid as usize).min(self.num_h_metrics - 1);
        u16_at(self.data, self.hmtx + 4 * i).unwrap_or(0)
    }

    /// Width of `text` in points at `size` points. Characters without a glyph count as
    /// nothing (printpdf leaves them out too; see `sanitize`).
    pub(crate) fn width_pt(&self, text: &str, size: f32) -> f32 {
        let units: u32 = text
            .chars()
            .filter_map(|c| self.glyph(c))
            .map(|g| self.advance(g) as u32)
            .sum();
        units as f32 / self.units_per_em * size
    }
}
