//! Visits (방문 기록): a rep checks in at a client account (time, optional location, a note)
//! and may check out later. Made on the device (offline too) and pushed as mutations; the
//! manager lists them per day and rep (`GET /v1/manager/visits`).

use serde::{Deserialize, Serialize};

/// The longest note of a visit (characters).
pub const MAX_NOTE_CHARS: usize = 500;
/// How far ahead of the server's clock a visit's time may be (device clocks drift).
pub const MAX_AHEAD_SECS: i64 = 10 * 60;
/// How old a visit may be when it reaches the server (a device offline for weeks).
pub const MAX_AGE_DAYS: i64 = 31;

/// Where the device was at check-in, as the OS reported it (WGS 84).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GeoPoint {
    /// Degrees, -90 to 90.
    pub lat: f64,
    /// Degrees, -180 to 180.
    pub lng: f64,
    /// The OS's accuracy estimate in metres, when it gave one (0 to 100 km).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_m: Option<f64>,
}

impl GeoPoint {
    /// Why these coordinates are refused (not finite, out of range, the null island), if so.
    pub fn problem(&self) -> Option<&'static str> {
        if !self.lat.is_finite() || !self.lng.is_finite() {
            return Some("coordinates must be numbers");
        }
        if !(-90.0..=90.0).contains(&self.lat) {
            return Some("latitude must be between -90 and 90");
        }
        if !(-180.0..=180.0).contains(&self.lng) {
            return Some("longitude must be between -180 and 180");
        }
        if self.lat == 0.0 && self.lng == 0.0 {
            return Some("0,0 is not a location a device reports");
        }
        if let Some(a) = self.accuracy_m {
            if !a.is_finite() || !(0.0..=100_000.0).contains(&a) {
                return Some("accuracy must be between 0 and 100000 metres");
            }
        }
        None
    }
}

/// One visit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Visit {
    /// Chosen by the device.
    pub id: String,
    pub account_id: String,
    /// The client's name (as stored when listed).
    #[serde(default)]
    pub account_name: String,
    pub rep_id: String,
    /// The rep's name (as stored when listed).
    #[serde(default)]
    pub rep_name: String,
    /// RFC 3339 UTC.
    pub checked_in_at: String,
    /// RFC 3339 UTC, once checked out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_out_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<GeoPoint>,
    #[serde(default)]
    pub note: String,
}

/// Visits of one KST day (the manager's list), oldest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct VisitList {
    /// KST date, `YYYY-MM-DD`.
    pub date: String,
    pub visits: Vec<Visit>,
}

/// The note as stored: trimmed; refused when longer than [`MAX_NOTE_CHARS`] or holding
/// control characters other than line breaks and tabs.
pub fn clean_note(note: &str) -> Result<String, &'static str> {
    let note = note.trim();
    if note.chars().count() > MAX_NOTE_CHARS {
        return Err("note is longer than 500 characters");
    }
    if note
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err("note holds control characters");
    }
    Ok(note.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coordinates_and_notes() {
        let p = |lat, lng| GeoPoint {
            lat,
            lng,
            accuracy_m: None,
        };
        assert_eq!(p(37.5665, 126.978).problem(), None);
        assert!(p(91.0, 0.5).problem().is_some());
        assert!(p(37.0, 181.0).problem().is_some());
        assert!(p(f64::NAN, 1.0).problem().is_some());
        assert!(p(0.0, 0.0).problem().is_some());
        let mut q = p(37.5, 127.0);
        q.accuracy_m = Some(-1.0);
        assert!(q.problem().is_some());
        assert_eq!(clean_note("  약국 방문  ").unwrap(), "약국 방문");
        assert!(clean_note(&"가".repeat(501)).is_err());
        assert!(clean_note(&"가".repeat(500)).is_ok());
        assert!(clean_note("a\u{0}b").is_err());
    }
}
