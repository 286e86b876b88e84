//! `EntityAnomalyDetector`: Isolation Forests over what each source address
//! and each user does in the log stream. Events fold into a profile per
//! entity; a profile closes after `window_secs` from its first event or
//! `idle_secs` without one, becomes a feature vector (request rate,
//! distinct paths, error shares, paths nobody else asks for, login
//! failures, distinct users; for a user: failures, sources, and the
//! sources and hours new for that user)
//! and is judged by its kind's forest, learnt from this node's own closed
//! profiles. An anomalous profile is an alert naming the features that
//! stood out — a scanner that stays under every rule's threshold still
//! asks for paths nobody asks for, and mostly gets 404s.

mod history;
mod model;
mod profile;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rampart_core::config::EntityAnomalyConfig;
use rampart_core::{Body, Detector, Entity, Event, Finding, RuleCard, Severity};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::error::BaselineError;

use history::UserHistory;
use model::{Judgement, KindModel, SavedKind};
pub use profile::{ADDRESS_FEATURES, Kind, USER_FEATURES};
use profile::{PathPopularity, Profile, model_vector};

pub const ADDRESS_RULE: &str = "address-anomaly";
pub const USER_RULE: &str = "user-anomaly";

/// Profiles closed and judged (or learnt from), by kind.
pub const PROFILES: &str = "rampart_entity_anomaly_profiles_total";
/// New entities not followed because `max_entities` were followed already.
pub const UNTRACKED: &str = "rampart_entity_anomaly_untracked_total";

/// Bumped when the saved file's meaning changes; an older file is learnt
/// afresh, not misread.
const FORMAT: u32 = 1;

/// The forests as saved in the data directory, so a restart judges at once.
#[derive(Serialize, Deserialize)]
struct Saved {
    format: u32,
    address: Option<SavedKind>,
    user: Option<SavedKind>,
}

/// How often (in log time) open profiles are checked for closing.
const SWEEP_MS: i64 = 5_000;

/// The rules as a catalog lists them; each alert fills in its own title.
pub fn rule_cards() -> [RuleCard; 2] {
    [
        RuleCard {
            id: ADDRESS_RULE.into(),
            title: "Source address behaves unlike this node's other clients".into(),
            description: "Isolation Forest over each address's requests and logins in a window, learnt from this \
                          node's own traffic; the features that stood out are named."
                .into(),
            severity: Severity::Medium,
            score: 0.0,
            technique: Some("T1595".into()),
            tags: vec!["web".into(), "anomaly".into()],
            logic: Some(
                "Isolation Forest score of an address's window of events at or above the learnt threshold".into(),
            ),
        },
        RuleCard {
            id: USER_RULE.into(),
            title: "User behaves unlike this node's other users".into(),
            description: "Isolation Forest over each user's logins in a window (failures, sources, hour of day), \
                          learnt from this node's own logs."
                .into(),
            severity: Severity::Medium,
            score: 0.0,
            technique: Some("T1078".into()),
            tags: vec!["authentication".into(), "anomaly".into()],
            logic: Some("Isolation Forest score of a user's window of logins at or above the learnt threshold".into()),
        },
    ]
}

pub struct EntityAnomalyDetector {
    config: EntityAnomalyConfig,
    model_path: Option<PathBuf>,
    hasher: std::hash::RandomState,
    popularity: PathPopularity,
    history: UserHistory,
    open: HashMap<(Kind, String), Profile>,
    addresses: KindModel,
    users: KindModel,
    cards: [Arc<RuleCard>; 2],
    now_ms: i64,
    next_sweep_ms: i64,
    /// Closed profiles learnt from during a warm-up, and judged.
    warming: u64,
    judged: u64,
    /// The entities judged at least once, kept only when asked (evaluations).
    judged_entities: Option<std::collections::HashSet<String>>,
}

impl EntityAnomalyDetector {
    /// Loads the forests saved at `model_path` if there are any (user
    /// histories and path counts are not saved: they are learnt again).
    pub fn new(config: EntityAnomalyConfig, model_path: Option<PathBuf>) -> EntityAnomalyDetector {
        let saved = model_path.as_deref().and_then(|path| match load(path) {
            Ok(saved) => saved,
            Err(error) => {
                tracing::warn!(%error, "Cannot read the saved entity baselines; learning afresh.");
                None
            }
        });
        let (address, user) = saved.map_or((None, None), |s| (s.address, s.user));
        let restore = |kind, saved: Option<SavedKind>| {
            saved.and_then(|s| KindModel::restore(kind, s)).unwrap_or_else(|| KindModel::new(kind))
        };
        EntityAnomalyDetector {
            addresses: restore(Kind::Address, address),
            users: restore(Kind::User, user),
            model_path,
            popularity: PathPopularity::new(config.max_paths),
            history: UserHistory::new(config.max_entities),
            config,
            hasher: Default::default(),
            open: HashMap::new(),
            cards: rule_cards().map(Arc::new),
            now_ms: i64::MIN,
            next_sweep_ms: i64::MIN,
            warming: 0,
            judged: 0,
            judged_entities: None,
        }
    }

    /// Whether the kind's forest is judging profiles yet.
    pub fn is_scoring(&self, kind: Kind) -> bool {
        match kind {
            Kind::Address => self.addresses.is_scoring(),
            Kind::User => self.users.is_scoring(),
        }
    }

    /// Closed profiles so far: (learnt from during a warm-up, judged).
    pub fn tally(&self) -> (u64, u64) {
        (self.warming, self.judged)
    }

    /// Keeps the entities judged from now on (an evaluation scores only
    /// those: the ones seen during the warm-up were learnt from, not judged).
    pub fn record_judged(&mut self) {
        self.judged_entities.get_or_insert_with(Default::default);
    }

    pub fn was_judged(&self, entity: &str) -> bool {
        self.judged_entities.as_ref().is_some_and(|j| j.contains(entity))
    }

    /// Closes every open profile, as at the end of a file being evaluated.
    pub fn flush(&mut self, out: &mut Vec<Finding>) {
        self.sweep(i64::MAX, out);
    }

    fn follow(&mut self, kind: Kind, entity: String, event: &Event) {
        let full = self.open.len() >= self.config.max_entities;
        let key = (kind, entity);
        let profile = match self.open.get_mut(&key) {
            Some(profile) => profile,
            None if full => {
                metrics::counter!(UNTRACKED).increment(1);
                return;
            }
            None => self.open.entry(key).or_insert_with(|| Profile::new(event.timestamp_ms)),
        };
        let popularity = (kind == Kind::Address).then_some(&mut self.popularity);
        profile.add(event, &self.hasher, popularity);
    }

    /// Closes the profiles whose window is over or that went idle, oldest
    /// activity first (so runs are repeatable).
    fn sweep(&mut self, now_ms: i64, out: &mut Vec<Finding>) {
        let (window, idle) = (self.config.window_secs as i64 * 1000, self.config.idle_secs as i64 * 1000);
        let mut closing: Vec<(Kind, String)> = self
            .open
            .iter()
            .filter(|(_, p)| now_ms.saturating_sub(p.first_ms) >= window || now_ms.saturating_sub(p.last_ms) >= idle)
            .map(|(k, _)| k.clone())
            .collect();
        closing.sort_by_key(|k| (self.open[k].last_ms, k.1.clone()));
        for key in closing {
            if let Some(profile) = self.open.remove(&key) {
                self.close(key.0, &key.1, profile, out);
            }
        }
    }

    fn close(&mut self, kind: Kind, entity: &str, profile: Profile, out: &mut Vec<Finding>) {
        if profile.events < self.config.min_events {
            return;
        }
        let kind_name = match kind {
            Kind::Address => "address",
            Kind::User => "user",
        };
        metrics::counter!(PROFILES, "kind" => kind_name).increment(1);
        let raw = match kind {
            Kind::Address => profile.address_features(),
            Kind::User => {
                let (new_sources, unusual_hour) =
                    self.history.novelty(entity, profile.first_ms, profile.sources.hashes());
                profile.user_features(new_sources, unusual_hour)
            }
        };
        let point = model_vector(kind, &raw);
        let model = match kind {
            Kind::Address => &mut self.addresses,
            Kind::User => &mut self.users,
        };
        let judgement = model.observe(point, profile.last_ms, &self.config);
        if model.take_refitted() {
            self.save();
        }
        let Some(judgement) = judgement else {
            self.warming += 1;
            return;
        };
        self.judged += 1;
        if let Some(judged) = &mut self.judged_entities {
            judged.insert(entity.to_owned());
        }
        if judgement.is_anomalous() {
            out.push(self.finding(kind, entity, &profile, &raw, &judgement));
        }
    }

    fn save(&self) {
        let Some(path) = &self.model_path else { return };
        let saved = Saved { format: FORMAT, address: self.addresses.saved(), user: self.users.saved() };
        let written = serde_json::to_vec(&saved)
            .map_err(|e| BaselineError::Format { path: path.clone(), reason: e.to_string() })
            .and_then(|bytes| {
                rampart_core::atomic_file::write_atomically(path, &bytes)
                    .map_err(|source| BaselineError::Io { path: path.clone(), source })
            });
        if let Err(error) = written {
            tracing::warn!(%error, "Cannot save the entity baselines; a restart will learn them again.");
        }
    }

    fn finding(&self, kind: Kind, entity: &str, profile: &Profile, raw: &[f64], j: &Judgement) -> Finding {
        let names = kind.features();
        let typical = |i: usize| if kind.is_count(i) { j.medians[i].exp_m1() } else { j.medians[i] };
        let features: Vec<serde_json::Value> = j
            .standing_out
            .iter()
            .take(5)
            .map(|&(i, z)| json!({"name": names[i], "value": raw[i], "typical": typical(i), "z": z}))
            .collect();
        let why: Vec<String> = j
            .standing_out
            .iter()
            .take(3)
            .map(|&(i, _)| format!("{} {} (typical {})", names[i], shown(raw[i]), shown(typical(i))))
            .collect();
        let (field, card, who) = match kind {
            Kind::Address => ("source.ip", &self.cards[0], "clients"),
            Kind::User => ("user.name", &self.cards[1], "users"),
        };
        // A user name is attacker text (sshd logs the names tried).
        let named = rampart_core::escape::for_terminal(entity);
        let rule = Arc::new(RuleCard {
            title: format!("{named} behaves unlike this node's other {who}: {}", why.join(", ")),
            description: format!(
                "Isolation Forest score {:.3} (threshold {:.3}) over {} events in {:.0} s.",
                j.score,
                j.threshold,
                profile.events,
                (profile.last_ms - profile.first_ms) as f64 / 1000.0
            ),
            severity: match j.score - j.threshold {
                d if d >= 0.1 => Severity::High,
                d if d > 0.0 => Severity::Medium,
                // Only beyond the learnt range, as a known user from one new address.
                _ => Severity::Low,
            },
            score: (100.0 * j.score).clamp(0.0, 100.0),
            ..(**card).clone()
        });
        let context = json!({
            "anomaly_score": j.score,
            "threshold": j.threshold,
            "events": profile.events,
            "features": features,
        });
        Finding {
            rule,
            entity: Entity { field: field.into(), value: entity.to_owned() },
            count: profile.events,
            first_seen_ms: profile.first_ms,
            last_seen_ms: profile.last_ms,
            evidence: profile.evidence.clone(),
            context: Some(Arc::new(context)),
        }
    }
}

/// `Ok(None)` when there is no file yet or it is of another format.
fn load(path: &Path) -> Result<Option<Saved>, BaselineError> {
    Ok(crate::error::read_saved::<Saved>(path)?.filter(|saved| saved.format == FORMAT))
}

/// A feature value as a title shows it: shares with two decimals, counts whole.
fn shown(v: f64) -> String {
    // exp_m1(ln_1p(2)) is 2.0000000000000004: whole within rounding.
    if (v - v.round()).abs() < 1e-6 || v.abs() >= 100.0 { format!("{v:.0}") } else { format!("{v:.2}") }
}

impl Detector for EntityAnomalyDetector {
    fn name(&self) -> &str {
        "entity_anomaly"
    }

    fn detect(&mut self, event: &Event, out: &mut Vec<Finding>) {
        if matches!(event.body, Some(Body::Flow { .. } | Body::Metrics(_) | Body::Process { .. })) {
            return;
        }
        let authentication = event.category.iter().any(|c| c == "authentication");
        if let Some(ip) = event.source.ip
            && (event.url_original.is_some() || authentication)
        {
            self.follow(Kind::Address, rampart_core::ip_string(ip), event);
        }
        if authentication && let Some(user) = &event.user_name {
            self.follow(Kind::User, user.clone(), event);
        }
        self.now_ms = self.now_ms.max(event.timestamp_ms);
        if self.now_ms >= self.next_sweep_ms {
            self.next_sweep_ms = self.now_ms.saturating_add(SWEEP_MS);
            self.sweep(self.now_ms, out);
        }
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
