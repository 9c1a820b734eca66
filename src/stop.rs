//! When a scan stops before reading everything: after enough findings
//! (`--max-findings`) or at the first unreadable input (`--fail-fast`).
//! The scanner trips the switch; sources poll it between blobs and chunks
//! and read no further once it is tripped.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::OnceLock;

use crate::filters::overlap::drop_shadowed;
use crate::finding::{sort_and_dedup, Finding};
use crate::summary::StoppedEarly;

/// Says whether a finding will be reported: one a baseline or ignore file
/// suppresses does not bring the scan closer to its end.
pub type Counts = Box<dyn Fn(&Finding) -> bool + Send + Sync>;

/// Shared by every source thread; tripped at most once.
#[derive(Default)]
pub struct StopSwitch {
    max_findings: Option<u64>,
    fail_fast: bool,
    counts: Option<Counts>,
    counted: AtomicU64,
    tripped: AtomicBool,
    reason: OnceLock<StoppedEarly>,
}

impl StopSwitch {
    /// A switch that never trips: the scan reads everything.
    pub fn never() -> StopSwitch {
        StopSwitch::default()
    }

    /// Trips once `max` findings that `counts` accepts (all, without it)
    /// were made.
    pub fn after_findings(mut self, max: u64, counts: Option<Counts>) -> StopSwitch {
        self.max_findings = Some(max);
        self.counts = counts;
        self
    }

    /// Trips at the first input that cannot be read.
    pub fn at_first_error(mut self) -> StopSwitch {
        self.fail_fast = true;
        self
    }

    /// Counts newly made findings: those of one piece of one blob, so a
    /// generic rule's match under a provider rule's counts once, as it is
    /// reported once.
    pub fn found(&self, findings: &[Finding]) {
        let Some(max) = self.max_findings else {
            return;
        };
        let mut reported = findings.to_vec();
        sort_and_dedup(&mut reported);
        drop_shadowed(&mut reported);
        let n = match &self.counts {
            Some(counts) => reported.iter().filter(|f| counts(f)).count(),
            None => reported.len(),
        } as u64;
        if n == 0 {
            return;
        }
        if self.counted.fetch_add(n, Ordering::Relaxed) + n >= max {
            self.trip(StoppedEarly::MaxFindings(max));
        }
    }

    /// An input could not be read.
    pub fn error(&self) {
        if self.fail_fast {
            self.trip(StoppedEarly::FirstError);
        }
    }

    /// Whether sources should stop reading.
    pub fn is_tripped(&self) -> bool {
        self.tripped.load(Ordering::Relaxed)
    }

    /// Why the scan stopped, if it did: the first reason wins.
    pub fn reason(&self) -> Option<StoppedEarly> {
        self.reason.get().copied()
    }

    /// How many findings the report may hold.
    pub fn max_findings(&self) -> Option<u64> {
        self.max_findings
    }

    fn trip(&self, reason: StoppedEarly) {
        let _ = self.reason.set(reason);
        self.tripped.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::testutil::finding;

    #[test]
    fn trips_once_enough_findings_were_made() {
        let stop = StopSwitch::never().after_findings(3, None);
        stop.found(&[finding("a", 1), finding("a", 2)]);
        assert!(!stop.is_tripped());
        stop.found(&[finding("b", 1)]);
        assert!(stop.is_tripped());
        assert_eq!(stop.reason(), Some(StoppedEarly::MaxFindings(3)));
    }

    #[test]
    fn a_match_shadowed_by_a_more_specific_rule_does_not_count() {
        let stop = StopSwitch::never().after_findings(2, None);
        let mut generic = finding("a", 1);
        generic.rule = "generic-api-key".into();
        generic.confidence = crate::rules::Confidence::Low;
        stop.found(&[finding("a", 1), generic]);
        assert!(!stop.is_tripped());
    }

    #[test]
    fn suppressed_findings_do_not_count() {
        let counts: Counts = Box::new(|f: &Finding| f.path != "known.env");
        let stop = StopSwitch::never().after_findings(1, Some(counts));
        stop.found(&[finding("known.env", 1), finding("known.env", 2)]);
        assert!(!stop.is_tripped());
        stop.found(&[finding("new.env", 1)]);
        assert!(stop.is_tripped());
    }

    #[test]
    fn errors_trip_only_when_failing_fast() {
        let lenient = StopSwitch::never();
        lenient.error();
        assert!(!lenient.is_tripped());
        let strict = StopSwitch::never().at_first_error();
        strict.error();
        assert!(strict.is_tripped());
        assert_eq!(strict.reason(), Some(StoppedEarly::FirstError));
    }
}
