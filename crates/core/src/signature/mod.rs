//! Hand-drawn signature rendering.
//!
//! The client signs the purchase order with a finger or a pen on the screen; the UI records
//! the strokes as lists of [`Point`]s (canvas pixels, y pointing down, a time stamp in
//! milliseconds and the pen pressure). [`render_png`] turns them into a PNG the way signature
//! pads draw ink:
//!
//! * each stroke is smoothed by cubic Bézier curves whose control points come from the
//!   neighbouring points (Catmull-Rom style tangents, with arms limited so the curve never
//!   strays far from the points that were actually touched);
//! * the line width follows the pen speed — fast is thin, slow is thick — with the speed
//!   exponentially smoothed from one segment to the next, and is scaled by the pressure
//!   when the device reports one (0.5 means "unknown" and leaves the width alone);
//! * the ink is laid down by stamping anti-aliased discs every half pixel along the curve
//!   into a coverage mask (combined by maximum, so overlaps do not darken), which is then
//!   coloured over a transparent or solid background.
//!
//! Everything is plain `f32` arithmetic in a fixed order and the PNG encoder is
//! deterministic, so the same strokes always give the same bytes.

use image::codecs::png::{CompressionType, FilterType, PngEncoder};
use image::{ExtendedColorType, ImageEncoder, Rgba, RgbaImage};

/// Most points accepted in one signature (all strokes together).
pub const MAX_POINTS: usize = 20_000;

/// How far (in pixels) a point may lie outside the canvas before it is rejected as invalid.
/// Points inside this margin are accepted and their ink is simply clipped by the canvas edge
/// (a finger often slides a little past the edge of a signature box).
pub const CANVAS_MARGIN: f32 = 16.0;

/// Largest accepted canvas side, in pixels.
pub const MAX_CANVAS_SIDE: u32 = 4096;

/// Default ink colour: dark navy, like a ballpoint pen.
pub const DEFAULT_INK: [u8; 3] = [0x1b, 0x2a, 0x4e];

/// Distance between two disc stamps along the curve, in pixels.
const STAMP_STEP: f32 = 0.5;
/// Consecutive points closer than this (pixels) are merged into one.
const MERGE_DISTANCE: f32 = 0.5;
/// Weight of the newest speed measurement in the exponential smoothing of the speed.
const VELOCITY_WEIGHT: f32 = 0.7;
/// Speed (pixels per millisecond) assumed when a stroke carries no usable time stamps.
const DEFAULT_VELOCITY: f32 = 1.0;

pub use fieldpay_protocol::app::{Point, Stroke, UNKNOWN_PRESSURE};

/// How to draw the signature.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderOptions {
    /// Canvas width in pixels (the coordinate space of the points).
    pub width: u32,
    /// Canvas height in pixels.
    pub height: u32,
    /// Thinnest line (fast pen), in pixels, e.g. 1.2.
    pub min_width: f32,
    /// Thickest line (slow pen), in pixels, e.g. 4.0. No ink is ever wider than this.
    pub max_width: f32,
    /// Ink colour.
    pub ink: [u8; 3],
    /// Background colour; `None` leaves the background fully transparent.
    pub background: Option<[u8; 3]>,
}

impl Default for RenderOptions {
    fn default() -> Self {
        Self {
            width: 600,
            height: 200,
            min_width: 1.2,
            max_width: 4.0,
            ink: DEFAULT_INK,
            background: None,
        }
    }
}

/// Why a signature could not be rendered.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SignatureError {
    /// No stroke has any point.
    #[error("the signature is empty")]
    Empty,
    /// More than [`MAX_POINTS`] points in total.
    #[error("the signature has more than {MAX_POINTS} points")]
    TooManyPoints,
    /// A coordinate or the pressure is NaN or infinite, or the point lies outside the canvas
    /// by more than [`CANVAS_MARGIN`].
    #[error("point {index} of stroke {stroke} is not a valid canvas position")]
    InvalidPoint { stroke: usize, index: usize },
    /// The render options are unusable (zero or oversized canvas, bad line widths).
    #[error("invalid signature render options: {0}")]
    InvalidOptions(String),
    /// The PNG encoder failed.
    #[error("could not encode the signature PNG: {0}")]
    Encode(String),
}

/// The smallest axis-aligned box `(min_x, min_y, max_x, max_y)` holding every point of every
/// stroke (point centres; the line width is not added). Non-finite coordinates are ignored;
/// `None` when there is no finite point at all.
pub fn bounding_box(strokes: &[Stroke]) -> Option<(f32, f32, f32, f32)> {
    let mut bbox: Option<(f32, f32, f32, f32)> = None;
    for p in strokes.iter().flatten() {
        if !(p.x.is_finite() && p.y.is_finite()) {
            continue;
        }
        bbox = Some(match bbox {
            None => (p.x, p.y, p.x, p.y),
            Some((x0, y0, x1, y1)) => (x0.min(p.x), y0.min(p.y), x1.max(p.x), y1.max(p.y)),
        });
    }
    bbox
}

/// Renders the strokes and encodes them as an 8-bit RGBA PNG of `opts.width` x `opts.height`.
pub fn render_png(strokes: &[Stroke], opts: &RenderOptions) -> Result<Vec<u8>, SignatureError> {
    let img = render_image(strokes, opts)?;
    let mut out = Vec::new();
    PngEncoder::new_with_quality(&mut out, CompressionType::Default, FilterType::Sub)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            ExtendedColorType::Rgba8,
        )
        .map_err(|e| SignatureError::Encode(e.to_string()))?;
    Ok(out)
}

/// Renders the strokes into an RGBA image (what [`render_png`] encodes). Transparent pixels
/// carry the ink colour with alpha 0, so scaling the image never produces dark fringes.
pub fn render_image(strokes: &[Stroke], opts: &RenderOptions) -> Result<RgbaImage, SignatureError> {
    validate(strokes, opts)?;
    let mut mask = Coverage::new(opts.width, opts.height);
    for stroke in strokes {
        draw_stroke(&mut mask, stroke, opts);
    }
    Ok(colorize(&mask, opts))
}

fn validate(strokes: &[Stroke], opts: &RenderOptions) -> Result<(), SignatureError> {
    if opts.width == 0 || opts.height == 0 {
        return Err(SignatureError::InvalidOptions(
            "the canvas has no area".into(),
        ));
    }
    if opts.width > MAX_CANVAS_SIDE || opts.height > MAX_CANVAS_SIDE {
        return Err(SignatureError::InvalidOptions(format!(
            "the canvas is larger than {MAX_CANVAS_SIDE} pixels on a side"
        )));
    }
    let widths_ok = opts.min_width.is_finite()
        && opts.max_width.is_finite()
        && opts.min_width > 0.0
        && opts.max_width >= opts.min_width
        && opts.max_width <= 256.0;
    if !widths_ok {
        return Err(SignatureError::InvalidOptions(
            "line widths must satisfy 0 < min_width <= max_width <= 256".into(),
        ));
    }
    let total: usize = strokes.iter().map(Vec::len).sum();
    if total > MAX_POINTS {
        return Err(SignatureError::TooManyPoints);
    }
    if total == 0 {
        return Err(SignatureError::Empty);
    }
    let (w, h) = (opts.width as f32, opts.height as f32);
    for (si, stroke) in strokes.iter().enumerate() {
        for (pi, p) in stroke.iter().enumerate() {
            let finite = p.x.is_finite() && p.y.is_finite() && p.pressure.is_finite();
            let inside = finite
                && p.x >= -CANVAS_MARGIN
                && p.x <= w + CANVAS_MARGIN
                && p.y >= -CANVAS_MARGIN
                && p.y <= h + CANVAS_MARGIN;
            if !inside {
                return Err(SignatureError::InvalidPoint {
                    stroke: si,
                    index: pi,
                });
            }
        }
    }
    Ok(())
}

/// Anti-aliased ink coverage, one byte per pixel (0 = no ink, 255 = full ink).
struct Coverage {
    width: u32,
    height: u32,
    data: Vec<u8>,
}

impl Coverage {
    fn new(width: u32, height: u32) -> Self {
        Self {
            width,
            height,
            data: vec![0; width as usize * height as usize],
        }
    }

    /// Stamps a filled disc of radius `r` centred on (cx, cy). A pixel's coverage is
    /// approximated by `r + 0.5 - d` (d = distance from the pixel centre), clamped to 0..1,
    /// and merged by maximum.
    fn disc(&mut self, cx: f32, cy: f32, r: f32) {
        let reach = r + 0.5;
        let x0 = (cx - reach - 0.5).floor().max(0.0);
        let y0 = (cy - reach - 0.5).floor().max(0.0);
        let x1 = (cx + reach - 0.5).ceil().min(self.width as f32 - 1.0);
        let y1 = (cy + reach - 0.5).ceil().min(self.height as f32 - 1.0);
        if x1 < x0 || y1 < y0 {
            return;
        }
        let (x0, y0, x1, y1) = (x0 as usize, y0 as usize, x1 as usize, y1 as usize);
        let stride = self.width as usize;
        for py in y0..=y1 {
            let dy = py as f32 + 0.5 - cy;
            let row = &mut self.data[py * stride..(py + 1) * stride];
            for (px, cell) in row.iter_mut().enumerate().take(x1 + 1).skip(x0) {
                let dx = px as f32 + 0.5 - cx;
                let d = (dx * dx + dy * dy).sqrt();
                let c = (reach - d).clamp(0.0, 1.0);
                if c > 0.0 {
                    let v = (c * 255.0).round() as u8;
                    if v > *cell {
                        *cell = v;
                    }
                }
            }
        }
    }
}

/// A point of a stroke after merging, with its line width (diameter, pixels).
#[derive(Debug, Clone, Copy)]
struct Sample {
    x: f32,
    y: f32,
    w: f32,
}

fn width_for(velocity: f32, pressure: f32, opts: &RenderOptions) -> f32 {
    // Faster pen, thinner line: max / (1 + v) with v in pixels per millisecond
    // (v = 1 px/ms halves the width), as signature pads do.
    let by_speed = opts.max_width / (1.0 + velocity.max(0.0));
    // Pressure 0.5 (unknown) leaves the width as is; 0 thins it to 60 %, 1 widens to 140 %.
    let factor = 0.6 + 0.8 * pressure.clamp(0.0, 1.0);
    (by_speed * factor).clamp(opts.min_width, opts.max_width)
}

/// Merges points that are too close together, measures the pen speed between the remaining
/// points, smooths it, and turns it into a width per point.
fn samples(stroke: &[Point], opts: &RenderOptions) -> Vec<Sample> {
    let mut kept: Vec<Point> = Vec::with_capacity(stroke.len());
    for &p in stroke {
        match kept.last() {
            Some(last) if (p.x - last.x).hypot(p.y - last.y) < MERGE_DISTANCE => {}
            _ => kept.push(p),
        }
    }
    if kept.len() == 1 {
        // A dot: the mean width, scaled by pressure.
        let p = kept[0];
        let mid = (opts.min_width + opts.max_width) / 2.0;
        let factor = 0.6 + 0.8 * p.pressure.clamp(0.0, 1.0);
        return vec![Sample {
            x: p.x,
            y: p.y,
            w: (mid * factor).clamp(opts.min_width, opts.max_width),
        }];
    }

    // Raw speed into each point (None where the time stamps do not increase).
    let mut raw: Vec<Option<f32>> = Vec::with_capacity(kept.len());
    raw.push(None);
    for pair in kept.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let d = (b.x - a.x).hypot(b.y - a.y);
        raw.push(if b.t > a.t {
            Some(d / (b.t - a.t) as f32)
        } else {
            None
        });
    }
    // Fill the gaps: forward from the last known speed, the leading ones from the first.
    let first_known = raw
        .iter()
        .flatten()
        .next()
        .copied()
        .unwrap_or(DEFAULT_VELOCITY);
    let mut last = first_known;
    let mut smoothed = first_known;
    let mut out = Vec::with_capacity(kept.len());
    for (p, v) in kept.iter().zip(raw) {
        let v = v.unwrap_or(last);
        last = v;
        smoothed = VELOCITY_WEIGHT * v + (1.0 - VELOCITY_WEIGHT) * smoothed;
        out.push(Sample {
            x: p.x,
            y: p.y,
            w: width_for(smoothed, p.pressure, opts),
        });
    }
    out
}

fn draw_stroke(mask: &mut Coverage, stroke: &[Point], opts: &RenderOptions) {
    if stroke.is_empty() {
        return;
    }
    let pts = samples(stroke, opts);
    if pts.len() == 1 {
        mask.disc(pts[0].x, pts[0].y, pts[0].w / 2.0);
        return;
    }
    // Control arms are at most a third of the segment and never longer than this, so the
    // curve stays within (max_width / 2 + 0.75) px of the polyline through the points.
    let arm_cap = 0.5 * opts.max_width + 0.75;
    let tangent = |i: usize| -> (f32, f32) {
        let prev = pts[i.saturating_sub(1)];
        let next = pts[(i + 1).min(pts.len() - 1)];
        let (dx, dy) = (next.x - prev.x, next.y - prev.y);
        let len = dx.hypot(dy);
        if len > 1e-6 {
            (dx / len, dy / len)
        } else {
            (0.0, 0.0)
        }
    };
    mask.disc(pts[0].x, pts[0].y, pts[0].w / 2.0);
    for i in 0..pts.len() - 1 {
        let (a, b) = (pts[i], pts[i + 1]);
        let seg = (b.x - a.x).hypot(b.y - a.y);
        let arm = (seg / 3.0).min(arm_cap);
        let (tax, tay) = tangent(i);
        let (tbx, tby) = tangent(i + 1);
        let c1 = (a.x + tax * arm, a.y + tay * arm);
        let c2 = (b.x - tbx * arm, b.y - tby * arm);
        let approx_len = (c1.0 - a.x).hypot(c1.1 - a.y)
            + (c2.0 - c1.0).hypot(c2.1 - c1.1)
            + (b.x - c2.0).hypot(b.y - c2.1);
        let n = ((approx_len / STAMP_STEP).ceil() as usize).max(1);
        for k in 1..=n {
            let t = k as f32 / n as f32;
            let u = 1.0 - t;
            let (w0, w1, w2, w3) = (u * u * u, 3.0 * u * u * t, 3.0 * u * t * t, t * t * t);
            let x = w0 * a.x + w1 * c1.0 + w2 * c2.0 + w3 * b.x;
            let y = w0 * a.y + w1 * c1.1 + w2 * c2.1 + w3 * b.y;
            let w = a.w + (b.w - a.w) * t;
            mask.disc(x, y, w / 2.0);
        }
    }
}

fn colorize(mask: &Coverage, opts: &RenderOptions) -> RgbaImage {
    let [ir, ig, ib] = opts.ink;
    let mut img = RgbaImage::new(mask.width, mask.height);
    for (px, &c) in img.pixels_mut().zip(&mask.data) {
        *px = match opts.background {
            None => Rgba([ir, ig, ib, c]),
            Some(bg) => {
                let mix = |ink: u8, back: u8| -> u8 {
                    let (ink, back, c) = (ink as u32, back as u32, c as u32);
                    ((ink * c + back * (255 - c) + 127) / 255) as u8
                };
                Rgba([mix(ir, bg[0]), mix(ig, bg[1]), mix(ib, bg[2]), 255])
            }
        };
    }
    img
}

#[cfg(test)]
mod tests;
