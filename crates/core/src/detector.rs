//! The `Detector` seam: events in, alerts out.

use crate::alert::Alert;
use crate::event::Event;

/// Anything that finds attacks in events. Detectors keep their own state
/// (windows, models) and never act: they only emit alerts, which the
/// aggregation and response stages take from there.
pub trait Detector: Send {
    /// A short stable name for metrics and logs, e.g. `rules`.
    fn name(&self) -> &str;

    /// Looks at one committed event and appends any findings to `out`.
    fn detect(&mut self, event: &Event, out: &mut Vec<Alert>);
}
