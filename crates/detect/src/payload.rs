//! The payload classifier the rules' `payload:` test uses: the shipped
//! model, loaded once on first use (a rule set without the test never loads it).

use std::sync::OnceLock;

use rampart_ml::payload::{PayloadModel, PayloadScorer};

pub(crate) fn scorer() -> &'static PayloadScorer {
    static SCORER: OnceLock<PayloadScorer> = OnceLock::new();
    SCORER.get_or_init(|| PayloadModel::shipped().scorer())
}
