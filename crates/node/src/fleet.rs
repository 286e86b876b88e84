//! Sharing decisions across a fleet: an `Enforcer` whose "applying" is
//! publishing the decision on the Kafka decision topic, which every agent
//! follows. It sits beside the local firewall on an all-in-one node, and
//! alone on workers and API nodes (they decide; agents enforce). Like any
//! enforcer it acts only in enforce mode and after the allowlist, and its
//! acts are audited.

use rampart_core::{Decision, Target};
use rampart_respond::enforce::{Applied, EnforceError, Enforcer, EnforcerStatus};

pub struct FleetDecisions(pub rampart_bus::DecisionPublisher);

impl FleetDecisions {
    fn publish(&self, decision: &Decision) -> Result<(), EnforceError> {
        self.0.publish(decision).map_err(|e| EnforceError::Fleet(e.to_string()))
    }
}

impl Enforcer for FleetDecisions {
    fn name(&self) -> &'static str {
        "fleet"
    }

    fn handles(&self, target: &Target) -> bool {
        // A process is the deciding host's own business.
        matches!(target, Target::Net(_))
    }

    fn ensure(&self) -> Result<(), EnforceError> {
        Ok(())
    }

    fn apply(&self, decisions: &[Decision], _now_ms: i64) -> Vec<Applied> {
        decisions.iter().map(|d| self.publish(d).map(|()| "published to the fleet's decision topic".into())).collect()
    }

    fn lift(&self, decisions: &[Decision]) -> Vec<Result<(), EnforceError>> {
        // The deletion travels as the decision's new state (deleted_ms set).
        decisions.iter().map(|d| self.publish(d)).collect()
    }

    fn reconcile(&self, active: &[Decision], now_ms: i64) -> Result<Vec<Applied>, EnforceError> {
        Ok(self.apply(active, now_ms))
    }

    fn teardown(&self) -> Result<(), EnforceError> {
        Ok(())
    }

    fn status(&self) -> Result<EnforcerStatus, EnforceError> {
        Ok(EnforcerStatus { present: true, sets: Vec::new(), elements: Vec::new() })
    }
}
