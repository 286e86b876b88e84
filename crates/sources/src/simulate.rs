//! Realistic normal and attack traffic as log lines, from a seed.
//!
//! Every source address gets a label (`normal`, `brute_force`,
//! `user_enumeration` for sshd; `normal`, `scanner`, `sqli`, `flood` for
//! web), so tests and benchmarks can score detection. The same seed and
//! arguments give the same lines, byte for byte.
//!
//! sshd sessions are written the way OpenSSH and pam_unix log them: an
//! attempt on a missing user logs `Invalid user`, a pam check, `Failed
//! password for invalid user`, and the closing `[preauth]` line.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use rampart_core::rng::SplitMix64;

/// The simulations' generator: SplitMix64 (simulations must be repeatable
/// and need no cryptographic quality), with the draws the simulations use.
/// `below` keeps its modulo form: the figures in docs/ come from its
/// sequences.
#[derive(Debug, Clone)]
pub struct Rng(SplitMix64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(SplitMix64::new(seed))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.0.next_f64() <= p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// The `n`th distinct public-looking IPv4 address: an odd multiplier makes
/// the index-to-address map a bijection on 2^24, so `n` addresses are
/// exactly `n` distinct ones.
pub fn address(n: u64) -> Ipv4Addr {
    let spread = (n.wrapping_mul(2_654_435_761) & 0x00FF_FFFF) as u32;
    Ipv4Addr::from(0x2D00_0000 + spread) // 45.0.0.0/8 upward
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct Plan {
    pub lines: usize,
    /// Distinct source addresses, attackers included.
    pub addresses: u64,
    /// Share of addresses that attack.
    pub attacker_share: f64,
    pub seed: u64,
    /// Simulated start, epoch ms, and lines per simulated second.
    pub start_ms: i64,
    pub lines_per_second: f64,
    /// Web only: addresses that discover content slowly (one request every
    /// 15–40 s, a browser's user agent, no sensitive paths), under every
    /// rule's threshold; their lines come on top of the others, interleaved
    /// by time. 0 leaves the rest of the log as it was.
    pub slow_scanners: u64,
}

/// Generated lines and each address's label.
#[derive(Debug, Default)]
pub struct Simulated {
    pub lines: Vec<String>,
    pub labels: BTreeMap<Ipv4Addr, &'static str>,
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

fn syslog_stamp(ms: i64) -> String {
    let t = ::time::OffsetDateTime::from_unix_timestamp(ms / 1000).unwrap_or(::time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{} {:>2} {:02}:{:02}:{:02}",
        MONTHS[u8::from(t.month()) as usize - 1],
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn clf_stamp(ms: i64) -> String {
    let t = ::time::OffsetDateTime::from_unix_timestamp(ms / 1000).unwrap_or(::time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:02}/{}/{}:{:02}:{:02}:{:02} +0000",
        t.day(),
        MONTHS[u8::from(t.month()) as usize - 1],
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

const USERS: &[&str] = &["alice", "bob", "deploy", "carol", "dave", "erin", "ops", "git"];
const GUESSED: &[&str] = &[
    "root", "admin", "ubuntu", "test", "oracle", "postgres", "user", "guest", "ftpuser", "pi", "support", "git",
    "mysql", "nagios", "hadoop", "www", "backup", "jenkins",
];

struct Clock {
    ms: f64,
    step: f64,
}

impl Clock {
    fn tick(&mut self, rng: &mut Rng) -> i64 {
        // Exponential-ish gaps averaging `step`.
        self.ms += self.step * (0.2 + 1.6 * (rng.below(1000) as f64 / 1000.0));
        self.ms as i64
    }
}

/// An sshd auth.log: normal logins (a few with one typo) and attackers who
/// brute-force root or enumerate user names.
pub fn ssh_auth_log(plan: &Plan) -> Simulated {
    let mut rng = Rng::new(plan.seed);
    let mut out = Simulated::default();
    let mut clock = Clock { ms: plan.start_ms as f64, step: 1000.0 / plan.lines_per_second.max(0.001) };
    let attackers = ((plan.addresses as f64 * plan.attacker_share).round() as u64).min(plan.addresses);
    let mut pid = 20_000u32;
    // First every address once (in shuffled order), then at random, with
    // attackers writing most of the log, as on any server facing the internet.
    let mut order: Vec<u64> = (0..plan.addresses).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let mut next = order.into_iter();
    while out.lines.len() < plan.lines {
        let n = next.next().unwrap_or_else(|| {
            if attackers > 0 && (attackers == plan.addresses || rng.chance(0.8)) {
                rng.below(attackers)
            } else {
                attackers + rng.below(plan.addresses - attackers)
            }
        });
        let ip = address(n);
        pid += 1;
        let port = 30_000 + rng.below(30_000);
        let attacker = n < attackers;
        let mut line = |out: &mut Simulated, rng: &mut Rng, text: String| {
            out.lines.push(format!("{} web1 sshd[{pid}]: {text}", syslog_stamp(clock.tick(rng))));
        };
        if !attacker {
            out.labels.insert(ip, "normal");
            let user = *rng.pick(USERS);
            if rng.chance(0.03) {
                line(
                    &mut out,
                    &mut rng,
                    format!(
                        "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}  user={user}"
                    ),
                );
                line(&mut out, &mut rng, format!("Failed password for {user} from {ip} port {port} ssh2"));
            }
            let method = if rng.chance(0.7) { "publickey" } else { "password" };
            line(&mut out, &mut rng, format!("Accepted {method} for {user} from {ip} port {port} ssh2"));
            line(
                &mut out,
                &mut rng,
                format!("pam_unix(sshd:session): session opened for user {user}(uid=1000) by (uid=0)"),
            );
            continue;
        }
        // Attackers alternate styles by address.
        if n.is_multiple_of(3) {
            out.labels.insert(ip, "user_enumeration");
            for _ in 0..(3 + rng.below(6)) {
                let user = *rng.pick(GUESSED);
                line(&mut out, &mut rng, format!("Invalid user {user} from {ip} port {port}"));
                line(&mut out, &mut rng, "pam_unix(sshd:auth): check pass; user unknown".to_owned());
                line(
                    &mut out,
                    &mut rng,
                    format!(
                        "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip} "
                    ),
                );
                line(&mut out, &mut rng, format!("Failed password for invalid user {user} from {ip} port {port} ssh2"));
                line(
                    &mut out,
                    &mut rng,
                    format!("Connection closed by invalid user {user} {ip} port {port} [preauth]"),
                );
            }
        } else {
            out.labels.insert(ip, "brute_force");
            line(
                &mut out,
                &mut rng,
                format!(
                    "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}  user=root"
                ),
            );
            for _ in 0..(3 + rng.below(8)) {
                line(&mut out, &mut rng, format!("Failed password for root from {ip} port {port} ssh2"));
            }
            line(
                &mut out,
                &mut rng,
                format!(
                    "error: maximum authentication attempts exceeded for root from {ip} port {port} ssh2 [preauth]"
                ),
            );
            line(
                &mut out,
                &mut rng,
                format!(
                    "Disconnecting authenticating user root {ip} port {port}: Too many authentication failures [preauth]"
                ),
            );
        }
    }
    out.lines.truncate(plan.lines);
    out
}

const PAGES: &[&str] = &[
    "/",
    "/shop",
    "/shop/item/17",
    "/shop/item/42?ref=home",
    "/blog/how-we-ship",
    "/about",
    "/static/app.js",
    "/static/site.css",
    "/search?q=winter+boots",
    "/cart",
];
const PROBES: &[&str] = &[
    "/.env",
    "/.git/config",
    "/wp-login.php",
    "/phpmyadmin/",
    "/backup.zip",
    "/admin/config.php",
    "/server-status",
    "/xmlrpc.php",
    "/.aws/credentials",
    "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
];
const SQLI: &[&str] = &[
    "/shop/item/17%27%20OR%20%271%27=%271",
    "/search?q=1%27%20UNION%20SELECT%20username,password%20FROM%20users--",
    "/shop/item/17%20AND%20SLEEP(5)",
    "/cart?id=1;WAITFOR%20DELAY%20%270:0:5%27--",
];
const BROWSERS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Version/17.4 Mobile/15E148 Safari/604.1",
];

/// A combined-format access log: visitors browsing, and scanners, SQL
/// injection probes (with sqlmap's user agent) and floods.
pub fn web_access_log(plan: &Plan) -> Simulated {
    let mut rng = Rng::new(plan.seed);
    let mut out = Simulated::default();
    let mut clock = Clock { ms: plan.start_ms as f64, step: 1000.0 / plan.lines_per_second.max(0.001) };
    let attackers = ((plan.addresses as f64 * plan.attacker_share).round() as u64).min(plan.addresses);
    let mut stamps: Vec<i64> = Vec::new();
    while out.lines.len() < plan.lines {
        let n = rng.below(plan.addresses);
        let ip = address(n);
        let mut request = |out: &mut Simulated, rng: &mut Rng, at: i64, path: &str, status: u16, agent: &str| {
            stamps.push(at);
            out.lines.push(format!(
                r#"{ip} - - [{}] "GET {path} HTTP/1.1" {status} {} "-" "{agent}""#,
                clf_stamp(at),
                200 + rng.below(20_000)
            ));
        };
        if n >= attackers {
            out.labels.insert(ip, "normal");
            let agent = *rng.pick(BROWSERS);
            for _ in 0..(1 + rng.below(5)) {
                let page = *rng.pick(PAGES);
                let status = if rng.chance(0.01) { 404 } else { 200 };
                let at = clock.tick(&mut rng);
                request(&mut out, &mut rng, at, page, status, agent);
            }
            continue;
        }
        match n % 3 {
            0 => {
                out.labels.insert(ip, "scanner");
                for i in 0..(25 + rng.below(20)) {
                    let path = if i % 4 == 0 {
                        (*rng.pick(PROBES)).to_owned()
                    } else {
                        format!("/{}.php", rng.below(100_000))
                    };
                    let at = clock.tick(&mut rng);
                    request(
                        &mut out,
                        &mut rng,
                        at,
                        &path,
                        404,
                        "Mozilla/5.0 (compatible; Nuclei - Open-source project (github.com/projectdiscovery/nuclei))",
                    );
                }
            }
            1 => {
                out.labels.insert(ip, "sqli");
                for _ in 0..(2 + rng.below(4)) {
                    let at = clock.tick(&mut rng);
                    let path = *rng.pick(SQLI);
                    request(&mut out, &mut rng, at, path, 500, "sqlmap/1.7.2#stable (https://sqlmap.org)");
                }
            }
            _ => {
                out.labels.insert(ip, "flood");
                let start = clock.tick(&mut rng);
                for i in 0..300 {
                    request(&mut out, &mut rng, start + i * 20, "/", 200, BROWSERS[0]);
                }
            }
        }
    }
    out.lines.truncate(plan.lines);
    stamps.truncate(plan.lines);
    if plan.slow_scanners > 0 {
        let end = stamps.iter().copied().max().unwrap_or(plan.start_ms);
        add_slow_scanners(&mut out, &mut stamps, plan, end);
    }
    out
}

/// Content discovery with a wordlist, none of it on the sensitive-path list.
const DISCOVERY: &[&str] = &[
    "old", "test", "dev", "staging", "tmp", "private", "upload", "files", "portal", "manager", "console", "db",
    "install", "setup", "internal", "beta", "demo", "legacy", "v2", "cms",
];
const DISCOVERY_ENDINGS: &[&str] = &["/", ".php", ".bak", ".zip", ".asp", ".old"];

/// Interleaves `plan.slow_scanners` slow scanners' requests (their own
/// generator: the other lines stay as they were) into `out` by time.
fn add_slow_scanners(out: &mut Simulated, stamps: &mut Vec<i64>, plan: &Plan, end_ms: i64) {
    let mut rng = Rng::new(plan.seed ^ 0x5105_5CA7);
    let mut probes: Vec<(i64, String)> = Vec::new();
    let span = (end_ms - plan.start_ms).max(1) as u64;
    for k in 0..plan.slow_scanners {
        let ip = address(plan.addresses + k);
        out.labels.insert(ip, "slow_scanner");
        let mut at = plan.start_ms + rng.below(span) as i64;
        let agent = *rng.pick(BROWSERS);
        for _ in 0..(12 + rng.below(9)) {
            let path = format!("/{}{}", rng.pick(DISCOVERY), rng.pick(DISCOVERY_ENDINGS));
            probes.push((
                at,
                format!(
                    r#"{ip} - - [{}] "GET {path} HTTP/1.1" 404 {} "-" "{agent}""#,
                    clf_stamp(at),
                    150 + rng.below(100)
                ),
            ));
            at += 15_000 + rng.below(25_000) as i64;
        }
    }
    probes.sort_by_key(|p| p.0);
    let lines = std::mem::take(&mut out.lines);
    let mut merged = Vec::with_capacity(lines.len() + probes.len());
    let mut probes = probes.into_iter().peekable();
    for (line, at) in lines.into_iter().zip(stamps.iter()) {
        while let Some((_, probe)) = probes.next_if(|p| p.0 <= *at) {
            merged.push(probe);
        }
        merged.push(line);
    }
    merged.extend(probes.map(|p| p.1));
    out.lines = merged;
    stamps.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(lines: usize, addresses: u64) -> Plan {
        Plan {
            lines,
            addresses,
            attacker_share: 0.1,
            seed: 7,
            start_ms: 1_700_000_000_000,
            lines_per_second: 10.0,
            slow_scanners: 0,
        }
    }

    #[test]
    fn addresses_are_distinct() {
        let set: std::collections::HashSet<Ipv4Addr> = (0..65_536).map(address).collect();
        assert_eq!(set.len(), 65_536);
    }

    #[test]
    fn same_seed_same_lines_and_exact_counts() {
        let a = ssh_auth_log(&plan(5_000, 400));
        let b = ssh_auth_log(&plan(5_000, 400));
        assert_eq!(a.lines, b.lines);
        assert_eq!(a.lines.len(), 5_000);
        assert_eq!(a.labels.len(), 400);
        assert!(a.labels.values().any(|l| *l == "brute_force") && a.labels.values().any(|l| *l == "user_enumeration"));
    }

    #[test]
    fn every_generated_line_parses() {
        use crate::parse::{LineParser, LogFormat};
        let ssh = ssh_auth_log(&plan(3_000, 100));
        let p = LineParser::new(LogFormat::Syslog, 2023);
        assert!(ssh.lines.iter().all(|l| p.parse(l, 0).is_ok()));
        let web = web_access_log(&plan(3_000, 100));
        let p = LineParser::new(LogFormat::Combined, 2023);
        assert!(
            web.lines.iter().all(|l| p.parse(l, 0).is_ok()),
            "{:?}",
            web.lines.iter().find(|l| p.parse(l, 0).is_err())
        );
    }

    #[test]
    fn slow_scanners_are_interleaved_by_time_and_leave_the_rest_as_it_was() {
        let plain = web_access_log(&plan(3_000, 100));
        let with = web_access_log(&Plan { slow_scanners: 3, ..plan(3_000, 100) });
        let scanners: Vec<String> =
            with.labels.iter().filter(|(_, l)| **l == "slow_scanner").map(|(ip, _)| format!("{ip} ")).collect();
        assert_eq!(scanners.len(), 3);
        let others: Vec<&String> = with.lines.iter().filter(|l| !scanners.iter().any(|s| l.starts_with(s))).collect();
        assert_eq!(others, plain.lines.iter().collect::<Vec<_>>());
        let probes = with.lines.len() - plain.lines.len();
        assert!((36..=60).contains(&probes), "{probes}");
        // Each probe comes just before the first other line stamped at or after it.
        let p = crate::parse::LineParser::new(crate::parse::LogFormat::Combined, 2023);
        let at: Vec<i64> = with.lines.iter().map(|l| p.parse(l, 0).unwrap().event.timestamp_ms).collect();
        let is_probe = |i: usize| scanners.iter().any(|s| with.lines[i].starts_with(s));
        for i in (0..with.lines.len()).filter(|&i| is_probe(i)) {
            if let Some(next) = (i + 1..with.lines.len()).find(|&j| !is_probe(j)) {
                assert!(at[next] >= at[i], "{}", with.lines[i]);
            }
        }
    }
}
