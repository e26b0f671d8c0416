//! The year of a wall clock printed without one: classic syslog and
//! `journalctl` short (`Jan  3 10:00:00 host kernel: …`). Found in one pass
//! over the input, line by line as the decoder reads them, in this order:
//!
//! 1. `--year`, when given, for every such time ([`WallYear::Given`]);
//! 2. else the date the last kernel line read printed with its year (an
//!    RFC 3339 or `short-iso` syslog line, `dmesg -T`, journal JSON, a
//!    console logger's stamp; lines only looked at, see
//!    `Decoder::probe`, date nothing): the year that puts the time nearest
//!    to it, so a time after `Dec 31` is in the next year; each time so
//!    dated becomes the date the next one is compared with
//!    ([`WallYear::InferredLine`]);
//! 3. else the input file's modification time, read by the input layer and
//!    handed in as a value: a log is not written after its mtime, so the
//!    year is the latest that puts the time no later than the mtime (with a
//!    day's slack for the writer's time zone). A file from Dec 30 to Jan 2
//!    modified on Jan 2 has its December lines in the year before
//!    ([`WallYear::InferredMtime`]).
//!
//! A date printed after a time cannot date it: the time has been read (and
//! its episode written) by then; memory stays bounded by not holding lines
//! back. Without any of the three (standard input from a pipe, no year
//! printed before) the time keeps no wall clock.

use crate::model::WallYear;
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime};

/// How far after the mtime a time may be and still be of the mtime's year:
/// a syslog time is the writer's local time, the mtime is UTC.
const MTIME_SLACK_S: i64 = 24 * 3600;

/// What dates year-less times in one input.
#[derive(Debug, Clone, Default)]
pub struct Years {
    given: Option<i32>,
    /// The latest a time may be: the input's mtime (UTC) and the slack.
    latest: Option<NaiveDateTime>,
    /// The date last printed with a year, or dated from one.
    seen: Option<NaiveDateTime>,
}

impl Years {
    /// `given`: `--year`; `mtime_s`: the input's modification time in
    /// seconds since the epoch (None for a pipe).
    pub fn new(given: Option<i32>, mtime_s: Option<i64>) -> Years {
        Years {
            given,
            latest: None,
            seen: None,
        }
        .with_mtime(mtime_s)
    }

    /// The same, dating from another modification time.
    pub fn with_mtime(self, mtime_s: Option<i64>) -> Years {
        let latest = mtime_s
            .and_then(|s| s.checked_add(MTIME_SLACK_S))
            .and_then(|s| DateTime::from_timestamp(s, 0))
            .map(|d| d.naive_utc());
        Years { latest, ..self }
    }

    /// A line printed `wall` (the normalised ISO form, `YYYY-MM-DDTHH:MM:SS…`)
    /// with its year: later year-less times are dated from it.
    pub fn printed(&mut self, wall: &str) {
        if let Some(d) = super::wall_time(wall) {
            self.seen = Some(d);
        }
    }

    /// The date of a year-less time, and how its year was found; None when
    /// nothing dates it (or the day exists in no year tried: `Feb 30`).
    pub fn date(&mut self, month: u32, day: u32, time: TimeOfDay) -> Option<(NaiveDateTime, WallYear)> {
        let at = |y: i32| NaiveDate::from_ymd_opt(y, month, day)?.and_hms_nano_opt(time.0, time.1, time.2, time.3);
        if let Some(y) = self.given {
            return at(y).map(|d| (d, WallYear::Given));
        }
        if let Some(seen) = self.seen {
            let d = (seen.year() - 1..=seen.year() + 1)
                .filter_map(at)
                .min_by_key(|d| (*d - seen).abs())?;
            self.seen = Some(d);
            return Some((d, WallYear::InferredLine));
        }
        let latest = self.latest?;
        // Feb 29 is found within 8 years back (1896 → 1904).
        (latest.year() - 8..=latest.year())
            .rev()
            .filter_map(at)
            .find(|d| *d <= latest)
            .map(|d| (d, WallYear::InferredMtime))
    }
}

/// Hours, minutes, seconds and nanoseconds of a time of day.
pub type TimeOfDay = (u32, u32, u32, u32);

#[cfg(test)]
mod tests {
    use super::*;

    fn mtime(iso: &str) -> Option<i64> {
        Some(
            NaiveDateTime::parse_from_str(iso, "%Y-%m-%dT%H:%M:%S")
                .unwrap()
                .and_utc()
                .timestamp(),
        )
    }

    fn date(y: &mut Years, month: u32, day: u32) -> Option<(String, WallYear)> {
        y.date(month, day, (10, 0, 0, 0))
            .map(|(d, how)| (d.format("%Y-%m-%d").to_string(), how))
    }

    #[test]
    fn given_year_wins_over_everything() {
        let mut y = Years::new(Some(2019), mtime("2026-01-02T00:00:00"));
        y.printed("2024-06-01T00:00:00Z");
        assert_eq!(date(&mut y, 12, 31), Some(("2019-12-31".into(), WallYear::Given)));
        assert_eq!(date(&mut y, 2, 29), None, "2019 has no Feb 29");
    }

    #[test]
    fn mtime_dates_lines_no_later_than_itself_across_new_year() {
        // A kern.log from Dec 30 to Jan 2, last written on Jan 2.
        let mut y = Years::new(None, mtime("2026-01-02T12:00:00"));
        assert_eq!(
            date(&mut y, 12, 30),
            Some(("2025-12-30".into(), WallYear::InferredMtime))
        );
        assert_eq!(date(&mut y, 1, 1), Some(("2026-01-01".into(), WallYear::InferredMtime)));
        // A day's slack for the writer's zone (UTC+14 at most), no more.
        assert_eq!(date(&mut y, 1, 3), Some(("2026-01-03".into(), WallYear::InferredMtime)));
        assert_eq!(date(&mut y, 1, 4), Some(("2025-01-04".into(), WallYear::InferredMtime)));
        // The same month as the mtime, earlier: this year.
        let mut y = Years::new(None, mtime("2026-11-28T12:00:00"));
        assert_eq!(
            date(&mut y, 11, 23),
            Some(("2026-11-23".into(), WallYear::InferredMtime))
        );
        assert_eq!(
            date(&mut y, 12, 1),
            Some(("2025-12-01".into(), WallYear::InferredMtime))
        );
        // Feb 29 goes back to the last leap year before the mtime.
        assert_eq!(
            date(&mut y, 2, 29),
            Some(("2024-02-29".into(), WallYear::InferredMtime))
        );
        assert_eq!(date(&mut y, 2, 30), None);
    }

    #[test]
    fn a_printed_date_dates_the_times_after_it_across_new_year() {
        let mut y = Years::new(None, mtime("2030-06-01T00:00:00"));
        assert_eq!(
            date(&mut y, 12, 30),
            Some(("2029-12-30".into(), WallYear::InferredMtime)),
            "before any printed date: the mtime"
        );
        y.printed("2025-12-31T23:59:58.000001Z");
        assert_eq!(
            date(&mut y, 12, 31),
            Some(("2025-12-31".into(), WallYear::InferredLine))
        );
        assert_eq!(date(&mut y, 1, 1), Some(("2026-01-01".into(), WallYear::InferredLine)));
        // Each dated time carries on: a year of lines crosses one new year.
        for (m, want) in [
            (4, "2026-04-01"),
            (9, "2026-09-01"),
            (12, "2026-12-01"),
            (2, "2027-02-01"),
        ] {
            assert_eq!(date(&mut y, m, 1), Some((want.into(), WallYear::InferredLine)));
        }
        // Lines a little out of order (two hosts) stay in the year.
        y.printed("2026-01-01T00:00:01");
        assert_eq!(
            date(&mut y, 12, 31),
            Some(("2025-12-31".into(), WallYear::InferredLine))
        );
        // Nothing printed, no mtime: no year.
        assert_eq!(date(&mut Years::new(None, None), 1, 1), None);
        let mut y = Years::new(None, None);
        y.printed("not a date");
        assert_eq!(date(&mut y, 1, 1), None);
    }
}
