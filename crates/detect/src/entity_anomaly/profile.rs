//! `Profile`: what one entity (a source address, a user) did in one window
//! of the log stream, reduced to the features its forest judges. Every set
//! a profile keeps is capped: an entity cannot make Rampart remember more
//! than a few hundred values about it.

use std::collections::HashSet;
use std::hash::{BuildHasher, Hash};

use rampart_core::{Event, Outcome};

/// Distinct values a profile counts per set; past this a count saturates.
const MAX_DISTINCT: usize = 256;
/// Event ids kept as an alert's evidence.
const MAX_EVIDENCE: usize = 20;

/// The two kinds of entity, each with its own features and forest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Address,
    User,
}

impl Kind {
    pub fn features(self) -> &'static [&'static str] {
        match self {
            Kind::Address => ADDRESS_FEATURES,
            Kind::User => USER_FEATURES,
        }
    }

    /// Whether more of feature `i` can be what makes an entity suspect: a
    /// client fetching page assets, a big response, a user logging in
    /// successfully are unusual at most, never an alert by themselves.
    pub fn is_suspect(self, i: usize) -> bool {
        !matches!(self.features()[i], "static_asset_share" | "response_bytes_mean" | "logins")
    }

    /// Whether feature `i` is a count (modelled as ln(1 + x)).
    pub fn is_count(self, i: usize) -> bool {
        match self {
            Kind::Address => ADDRESS_COUNTS[i],
            Kind::User => USER_COUNTS[i],
        }
    }
}

/// Counts are ln(1 + x) in the model (a scanner's 300 paths and a
/// visitor's 3 must not be the only scale); shares are 0..1.
pub const ADDRESS_FEATURES: &[&str] = &[
    "events",
    "events_per_minute",
    "distinct_paths",
    "distinct_path_share",
    "client_error_share",
    "server_error_share",
    "unpopular_path_share",
    "static_asset_share",
    "distinct_methods",
    "distinct_user_agents",
    "response_bytes_mean",
    "login_failures",
    "distinct_users",
];
/// Whether each feature is a count (shown and modelled as ln(1 + x)).
const ADDRESS_COUNTS: &[bool] = &[true, true, true, false, false, false, false, false, true, true, true, true, true];

/// `new_sources` and `unusual_hour` compare with the user's own earlier
/// windows (`history.rs`): a forest learns hours only from a warm-up that
/// spans them, which an hour's warm-up does not.
pub const USER_FEATURES: &[&str] =
    &["events", "login_failures", "logins", "distinct_sources", "new_sources", "unusual_hour"];
const USER_COUNTS: &[bool] = &[true, true, true, true, true, false];

/// Paths the node's clients requested, with how many requests each had:
/// a path almost nobody asks for is what a scanner asks for. Capped; when
/// full the counts halve and the paths left at zero are forgotten.
pub struct PathPopularity {
    counts: std::collections::HashMap<u64, u32>,
    cap: usize,
    hasher: std::hash::RandomState,
}

impl PathPopularity {
    pub fn new(cap: usize) -> PathPopularity {
        PathPopularity { counts: Default::default(), cap: cap.max(16), hasher: Default::default() }
    }

    fn hash(&self, path: &str) -> u64 {
        self.hasher.hash_one(path)
    }

    /// Counts one request for `path`; returns whether it was unpopular
    /// (fewer than 3 requests before this one).
    fn request(&mut self, path: &str) -> bool {
        let key = self.hash(path);
        if self.counts.len() >= self.cap && !self.counts.contains_key(&key) {
            self.counts.retain(|_, n| {
                *n /= 2;
                *n > 0
            });
        }
        let n = self.counts.entry(key).or_insert(0);
        let before = *n;
        *n = n.saturating_add(1);
        before < 3
    }
}

/// A capped set of hashes of distinct values.
#[derive(Default)]
pub struct Distinct(HashSet<u64>);

impl Distinct {
    fn add(&mut self, hasher: &std::hash::RandomState, value: impl Hash) {
        if self.0.len() < MAX_DISTINCT {
            self.0.insert(hasher.hash_one(value));
        }
    }

    fn len(&self) -> f64 {
        self.0.len() as f64
    }

    pub fn hashes(&self) -> &HashSet<u64> {
        &self.0
    }
}

#[derive(Default)]
pub struct Profile {
    pub first_ms: i64,
    pub last_ms: i64,
    pub events: u64,
    pub evidence: Vec<i64>,
    requests: u64,
    client_errors: u64,
    server_errors: u64,
    unpopular: u64,
    static_assets: u64,
    response_bytes: u64,
    failures: u64,
    logins: u64,
    paths: Distinct,
    methods: Distinct,
    agents: Distinct,
    users: Distinct,
    pub sources: Distinct,
}

/// Paths a browser fetches beside a page; clients that fetch none of them
/// are programs.
fn is_static_asset(path: &str) -> bool {
    let ext = path.rsplit_once('.').map_or("", |(_, e)| e);
    ext.len() <= 5
        && ["css", "js", "png", "jpg", "jpeg", "gif", "svg", "ico", "webp", "woff", "woff2", "ttf", "map"]
            .iter()
            .any(|s| ext.eq_ignore_ascii_case(s))
}

impl Profile {
    pub fn new(at_ms: i64) -> Profile {
        Profile { first_ms: at_ms, last_ms: at_ms, ..Profile::default() }
    }

    /// Folds one event in; `popularity` is the node-wide path count (only
    /// address profiles pass it).
    pub fn add(&mut self, event: &Event, hasher: &std::hash::RandomState, popularity: Option<&mut PathPopularity>) {
        self.events += 1;
        self.first_ms = self.first_ms.min(event.timestamp_ms);
        self.last_ms = self.last_ms.max(event.timestamp_ms);
        if let Some(id) = event.id
            && self.evidence.len() < MAX_EVIDENCE
        {
            self.evidence.push(id);
        }
        if let Some(url) = event.url_original.as_deref() {
            self.requests += 1;
            let path = url.split(['?', '#']).next().unwrap_or(url);
            self.paths.add(hasher, path);
            if is_static_asset(path) {
                self.static_assets += 1;
            }
            if let Some(popularity) = popularity
                && popularity.request(path)
            {
                self.unpopular += 1;
            }
            match event.http_status {
                Some(400..=499) => self.client_errors += 1,
                Some(500..=599) => self.server_errors += 1,
                _ => {}
            }
            if let Some(method) = event.http_method.as_deref() {
                self.methods.add(hasher, method);
            }
            if let Some(agent) = event.user_agent.as_deref() {
                self.agents.add(hasher, agent);
            }
            if let Some(rampart_core::Body::Http { response_bytes: Some(bytes), .. }) = &event.body {
                self.response_bytes = self.response_bytes.saturating_add(*bytes);
            }
        }
        if event.category.iter().any(|c| c == "authentication") {
            match event.outcome {
                Some(Outcome::Failure) => self.failures += 1,
                Some(Outcome::Success) => self.logins += 1,
                _ => {}
            }
            if let Some(user) = event.user_name.as_deref() {
                self.users.add(hasher, user);
            }
            if let Some(ip) = event.source.ip {
                self.sources.add(hasher, ip);
            }
        }
    }

    /// An address profile's features, in the units a person reads.
    pub fn address_features(&self) -> Vec<f64> {
        let share = |n: u64| if self.requests == 0 { 0.0 } else { n as f64 / self.requests as f64 };
        let minutes = ((self.last_ms - self.first_ms) as f64 / 60_000.0).max(1.0);
        vec![
            self.events as f64,
            self.events as f64 / minutes,
            self.paths.len(),
            share(self.paths.0.len() as u64),
            share(self.client_errors),
            share(self.server_errors),
            share(self.unpopular),
            share(self.static_assets),
            self.methods.len(),
            self.agents.len(),
            if self.requests == 0 { 0.0 } else { self.response_bytes as f64 / self.requests as f64 },
            self.failures as f64,
            self.users.len(),
        ]
    }

    /// A user profile's features, given what its history says is new.
    pub fn user_features(&self, new_sources: u64, unusual_hour: bool) -> Vec<f64> {
        vec![
            self.events as f64,
            self.failures as f64,
            self.logins as f64,
            self.sources.len(),
            new_sources as f64,
            f64::from(u8::from(unusual_hour)),
        ]
    }
}

/// A profile's features as its forest sees them: counts as ln(1 + x).
pub fn model_vector(kind: Kind, raw: &[f64]) -> Vec<f64> {
    raw.iter().enumerate().map(|(i, v)| if kind.is_count(i) { v.ln_1p() } else { *v }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_assets_are_told_by_extension() {
        assert!(is_static_asset("/static/app.js") && is_static_asset("/img/Logo.PNG"));
        assert!(!is_static_asset("/wp-login.php") && !is_static_asset("/") && !is_static_asset("/a.b/c"));
    }

    #[test]
    fn a_path_is_unpopular_until_three_requests_and_the_table_stays_capped() {
        let mut p = PathPopularity::new(16);
        assert_eq!((0..5).map(|_| p.request("/")).collect::<Vec<_>>(), [true, true, true, false, false]);
        for i in 0..1000 {
            p.request(&format!("/{i}.php"));
        }
        assert!(p.counts.len() <= 16);
    }
}
