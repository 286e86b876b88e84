use std::net::{IpAddr, Ipv4Addr};

use rampart_core::config::EntityAnomalyConfig;
use rampart_core::rng::SplitMix64;
use rampart_core::{Body, Detector, Event, EventKind, Finding, Outcome};

use super::*;
use crate::{RuleEngine, load_rules};

const PAGES: &[&str] = &["/", "/shop", "/shop/item/17", "/shop/item/42", "/blog", "/blog/post-3", "/about", "/cart"];
const ASSETS: &[&str] = &["/static/app.js", "/static/site.css", "/img/logo.png", "/favicon.ico"];
/// Content discovery as a careful scanner does it: nothing on the
/// sensitive-path list, a browser's user agent, one request every 15 s.
const DISCOVERY: &[&str] = &[
    "/old/",
    "/test.php",
    "/dev/",
    "/staging/",
    "/tmp/",
    "/private/",
    "/upload.php",
    "/files/",
    "/portal/",
    "/manager/",
    "/console/",
    "/api/v2/",
    "/index.php.bak",
    "/site.zip",
    "/db/",
    "/install/",
    "/setup.php",
    "/internal/",
];
const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

fn config() -> EntityAnomalyConfig {
    EntityAnomalyConfig { warmup_secs: 1_800, min_profiles: 150, ..EntityAnomalyConfig::default() }
}

fn web(ip: Ipv4Addr, at: i64, path: &str, status: u16, agent: &str) -> Event {
    let mut e = Event::new(EventKind::Event, at);
    e.id = Some(at);
    e.category = vec!["web".into()];
    e.source.ip = Some(IpAddr::V4(ip));
    e.url_original = Some(path.into());
    e.http_method = Some("GET".into());
    e.http_status = Some(status);
    e.user_agent = Some(agent.into());
    e.body = Some(Body::Http { version: None, request_bytes: None, response_bytes: Some(5_000), referrer: None });
    e
}

fn ssh(ip: Ipv4Addr, at: i64, user: &str, ok: bool) -> Event {
    let mut e = Event::new(EventKind::Event, at);
    e.category = vec!["authentication".into()];
    e.source.ip = Some(IpAddr::V4(ip));
    e.user_name = Some(user.into());
    e.outcome = Some(if ok { Outcome::Success } else { Outcome::Failure });
    e
}

/// Ordinary visitors from `from_ms` for `secs`: a new one every 4 s, each
/// reading a page or two with its assets over a minute.
fn visitors(rng: &mut SplitMix64, from_ms: i64, secs: i64) -> Vec<Event> {
    let mut events = Vec::new();
    for n in 0..secs / 4 {
        let start = from_ms + n * 4_000;
        let ip = Ipv4Addr::from(0x0A00_0000 + rng.next_u64() as u32 % 0x00FF_FFFF);
        let mut at = start;
        for _ in 0..1 + rng.next_u64() % 3 {
            let page = PAGES[(rng.next_u64() % PAGES.len() as u64) as usize];
            events.push(web(ip, at, page, if rng.next_f64() < 0.02 { 404 } else { 200 }, BROWSER));
            for asset in ASSETS.iter().take(2 + (rng.next_u64() % 3) as usize) {
                at += 100 + (rng.next_u64() % 400) as i64;
                events.push(web(ip, at, asset, 200, BROWSER));
            }
            at += 5_000 + (rng.next_u64() % 25_000) as i64;
        }
    }
    events.sort_by_key(|e| e.timestamp_ms);
    events
}

fn run(d: &mut dyn Detector, events: &[Event]) -> Vec<Finding> {
    let mut out = Vec::new();
    for e in events {
        d.detect(e, &mut out);
    }
    out
}

fn merge(mut a: Vec<Event>, b: Vec<Event>) -> Vec<Event> {
    a.extend(b);
    a.sort_by_key(|e| e.timestamp_ms);
    a
}

#[test]
fn a_slow_scanner_under_every_rule_is_caught_and_visitors_are_not() {
    let mut rng = SplitMix64::new(3);
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("entity-baseline.json");
    let mut d = EntityAnomalyDetector::new(config(), Some(saved.clone()));
    let warmup = visitors(&mut rng, 0, 2_400);
    assert!(run(&mut d, &warmup).is_empty(), "nothing is judged while learning");
    assert!(d.is_scoring(Kind::Address));
    // A restart judges at once with the saved forest.
    let mut d = EntityAnomalyDetector::new(config(), Some(saved.clone()));
    assert!(d.is_scoring(Kind::Address) && !d.is_scoring(Kind::User));
    std::fs::write(&saved, b"{not json").unwrap();
    assert!(
        !EntityAnomalyDetector::new(config(), Some(saved)).is_scoring(Kind::Address),
        "a bad file is learnt afresh"
    );

    let scanner = Ipv4Addr::new(198, 51, 100, 7);
    let probes: Vec<Event> = DISCOVERY
        .iter()
        .enumerate()
        .map(|(i, p)| web(scanner, 2_500_000 + i as i64 * 15_000, p, 404, BROWSER))
        .collect();
    let later = merge(visitors(&mut rng, 2_400_000, 1_800), probes.clone());
    let mut rules = RuleEngine::new(load_rules(true, None).unwrap(), 10_000);
    assert!(run(&mut rules, &later).is_empty(), "no rule fires on this traffic");

    let mut findings = run(&mut d, &later);
    d.flush(&mut findings);
    let visitors_seen = later.iter().filter_map(|e| e.source.ip).collect::<std::collections::HashSet<_>>().len() - 1;
    let wrong: Vec<&Finding> = findings.iter().filter(|f| f.entity.value != scanner.to_string()).collect();
    println!(
        "{} visitors, flagged {}: {:?}",
        visitors_seen,
        wrong.len(),
        wrong.iter().map(|f| &f.rule.title).collect::<Vec<_>>()
    );
    assert!(wrong.len() * 100 <= visitors_seen, "at most 1% of visitors flagged");
    let caught = findings.iter().find(|f| f.entity.value == scanner.to_string()).expect("the scanner is flagged");
    assert_eq!((caught.rule.id.as_str(), caught.entity.field.as_str()), (ADDRESS_RULE, "source.ip"));
    let context = caught.context.as_deref().unwrap();
    let named: Vec<&str> =
        context["features"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert!(named.contains(&"client_error_share"), "{named:?}");
    assert!(caught.rule.title.contains("client_error_share 1 (typical 0"), "{}", caught.rule.title);
    assert_eq!(caught.count, DISCOVERY.len() as u64);
}

#[test]
fn small_profiles_are_ignored_and_nothing_is_judged_before_the_warmup() {
    let mut rng = SplitMix64::new(4);
    let mut d = EntityAnomalyDetector::new(EntityAnomalyConfig { min_profiles: 32, ..config() }, None);
    // Plenty of profiles, too little time.
    let events = visitors(&mut rng, 0, 1_200);
    run(&mut d, &events);
    assert!(!d.is_scoring(Kind::Address), "20 minutes is not the 30-minute warm-up");
    let mut d = EntityAnomalyDetector::new(EntityAnomalyConfig { min_events: 50, ..config() }, None);
    let events = visitors(&mut rng, 0, 2_400);
    run(&mut d, &events);
    assert!(!d.is_scoring(Kind::Address), "no visitor makes 50 requests: no profile counts");
}

#[test]
fn entities_followed_at_once_are_capped() {
    let mut d = EntityAnomalyDetector::new(EntityAnomalyConfig { max_entities: 10, ..config() }, None);
    let events: Vec<Event> = (0..100u32).map(|i| web(Ipv4Addr::from(i + 1), 1_000, "/", 200, BROWSER)).collect();
    run(&mut d, &events);
    assert_eq!(d.open.len(), 10);
}

#[test]
fn a_user_tried_from_many_places_stands_out_and_its_name_is_escaped() {
    let mut rng = SplitMix64::new(5);
    let mut d = EntityAnomalyDetector::new(EntityAnomalyConfig { min_events: 3, ..config() }, None);
    let mut events = Vec::new();
    // Staff log in a few times an hour from their own address, now and then mistyping.
    for n in 0..600i64 {
        let user = format!("staff{}", n % 60);
        let ip = Ipv4Addr::new(10, 1, 0, (n % 60) as u8);
        let at = n * 5_000;
        events.push(ssh(ip, at, &user, rng.next_f64() > 0.1));
        events.push(ssh(ip, at + 20_000, &user, true));
        events.push(ssh(ip, at + 40_000, &user, true));
    }
    events.sort_by_key(|e| e.timestamp_ms);
    let quiet = run(&mut d, &events);
    assert!(quiet.is_empty());
    assert!(d.is_scoring(Kind::User));
    // staff7, on a known account, from three addresses it never used (one
    // new address is an office move, not an alert; the hours need a week of
    // history: this one has an hour).
    let odd: Vec<Event> = (1..=3u8)
        .map(|i| ssh(Ipv4Addr::new(192, 0, 2, i), 5 * 3_600_000 + i64::from(i) * 9_000, "staff7", true))
        .collect();
    let moved: Vec<Event> =
        (0..3).map(|i| ssh(Ipv4Addr::new(192, 0, 2, 9), 4 * 3_600_000 + i * 9_000, "staff7", true)).collect();
    let mut findings = run(&mut d, &moved);
    d.flush(&mut findings);
    assert!(findings.is_empty(), "one new address and a login: {:?}", findings.first().map(|f| &f.rule.title));
    let mut findings = run(&mut d, &odd);
    d.flush(&mut findings);
    let takeover = findings.iter().find(|f| f.rule.id == USER_RULE).expect("the known user is flagged");
    assert!(takeover.rule.title.contains("new_sources 3 (typical 0)"), "{}", takeover.rule.title);
    let name = "staff7\u{1b}[31m";
    let spray: Vec<Event> = (0..12u8)
        .map(|i| ssh(Ipv4Addr::new(203, 0, 113, i), 5 * 3_600_000 + 600_000 + i64::from(i) * 3_000, name, false))
        .collect();
    let mut findings = run(&mut d, &spray);
    d.flush(&mut findings);
    let user = findings.iter().find(|f| f.rule.id == USER_RULE).expect("the user is flagged");
    assert_eq!(user.entity.value, name, "the entity keeps the real name");
    assert!(!user.rule.title.contains('\u{1b}'), "{}", user.rule.title);
    assert!(user.rule.title.contains("distinct_sources 12"), "{}", user.rule.title);
}
