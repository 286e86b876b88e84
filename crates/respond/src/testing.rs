//! Test support for other crates (feature `testing`): an enforcer that
//! records what it is asked to do instead of touching the host.

use std::sync::{Arc, Mutex};

use rampart_core::{Decision, Target};

use crate::enforce::{Applied, EnforceError, Enforcer, EnforcerStatus};

/// An enforcer that records what it is asked to do ("add X", "lift X",
/// "reset" for a reconcile): the responder's and follower's side of the seam.
#[derive(Clone, Default)]
pub struct Recording(Arc<Mutex<Vec<String>>>);

impl Recording {
    pub fn entries(&self) -> Vec<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Enforcer for Recording {
    fn name(&self) -> &'static str {
        "recording"
    }
    fn handles(&self, target: &Target) -> bool {
        target.net().is_some()
    }
    fn ensure(&self) -> Result<(), EnforceError> {
        Ok(())
    }
    fn apply(&self, decisions: &[Decision], _: i64) -> Vec<Applied> {
        let mut log = self.0.lock().unwrap_or_else(|p| p.into_inner());
        decisions.iter().map(|d| log.push(format!("add {}", d.target))).map(|()| Ok(String::new())).collect()
    }
    fn lift(&self, decisions: &[Decision]) -> Vec<Result<(), EnforceError>> {
        let mut log = self.0.lock().unwrap_or_else(|p| p.into_inner());
        decisions.iter().map(|d| log.push(format!("lift {}", d.target))).map(Ok).collect()
    }
    fn reconcile(&self, active: &[Decision], now: i64) -> Result<Vec<Applied>, EnforceError> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push("reset".into());
        Ok(self.apply(active, now))
    }
    fn teardown(&self) -> Result<(), EnforceError> {
        Ok(())
    }
    fn status(&self) -> Result<EnforcerStatus, EnforceError> {
        Ok(EnforcerStatus::default())
    }
}
