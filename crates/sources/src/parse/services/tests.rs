//! Lines in each daemon's own wording, as Debian's packages log them.

use super::*;

fn fact<'a>(app: &str, message: &'a str) -> ServiceFact<'a> {
    recognise(app, message).unwrap_or_else(|| panic!("{app}: {message}"))
}

fn ip(s: &str) -> Option<IpAddr> {
    s.parse().ok()
}

#[test]
fn postfix_sasl_failures_and_rejects() {
    let f = fact("postfix/smtpd", "warning: unknown[192.0.2.7]: SASL LOGIN authentication failed: UGFzc3dvcmQ6");
    assert_eq!((f.service, f.action, f.success, f.ip), ("smtp", "smtp_auth_failed", Some(false), ip("192.0.2.7")));
    let f = fact(
        "postfix/submission/smtpd",
        "warning: mail.example.net[2001:db8::25]: SASL PLAIN authentication failed: authentication failure",
    );
    assert_eq!(f.ip, ip("2001:db8::25"));
    let f = fact(
        "postfix/smtpd",
        "NOQUEUE: reject: RCPT from unknown[198.51.100.3]: 554 5.7.1 <a@example.org>: Relay access denied; from=<x@example.com> to=<a@example.org> proto=ESMTP helo=<[198.51.100.3]>",
    );
    assert_eq!((f.action, f.authentication, f.ip), ("smtp_rejected", false, ip("198.51.100.3")));
    assert!(recognise("postfix/smtpd", "connect from unknown[192.0.2.7]").is_none());
    assert!(recognise("postfix/qmgr", "4F2A1C0: removed").is_none());
}

#[test]
fn dovecot_login_failures() {
    let f = fact(
        "dovecot",
        "imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<bob>, method=PLAIN, rip=192.0.2.7, lip=10.0.0.2, TLS, session=<x2Ab>",
    );
    assert_eq!((f.service, f.action, f.user, f.ip), ("imap", "mail_auth_failed", Some("bob"), ip("192.0.2.7")));
    let f = fact(
        "dovecot",
        "pop3-login: Aborted login (auth failed, 3 attempts in 14 secs): user=<admin>, method=PLAIN, rip=::ffff:192.0.2.8, lip=10.0.0.2",
    );
    assert_eq!((f.service, f.user, f.ip), ("pop3", Some("admin"), ip("192.0.2.8")));
    let f =
        fact("dovecot", "imap-login: Disconnected (no auth attempts in 0 secs): user=<>, rip=192.0.2.9, lip=10.0.0.2");
    assert_eq!((f.action, f.success, f.user), ("mail_no_auth", None, None));
    assert!(recognise("dovecot", "imap-login: Login: user=<bob>, method=PLAIN, rip=192.0.2.7").is_none());
}

#[test]
fn ftp_logins() {
    let f = fact("vsftpd", "[bob] FAIL LOGIN: Client \"::ffff:192.0.2.7\"");
    assert_eq!((f.service, f.action, f.user, f.ip), ("ftp", "ftp_login_failed", Some("bob"), ip("192.0.2.7")));
    let f = fact("vsftpd", "[bob] OK LOGIN: Client \"192.0.2.7\"");
    assert_eq!((f.action, f.success), ("ftp_login", Some(true)));
    let f = fact(
        "proftpd",
        "ftp.example.org (client.example.net[192.0.2.7]) - USER bob (Login failed): Incorrect password",
    );
    assert_eq!((f.action, f.user, f.ip), ("ftp_login_failed", Some("bob"), ip("192.0.2.7")));
    let f = fact(
        "proftpd",
        "ftp.example.org (192.0.2.7[192.0.2.7]) - USER nobody: no such user found from 192.0.2.7 [192.0.2.7] to 10.0.0.2:21",
    );
    assert_eq!((f.action, f.user), ("ftp_login_failed", Some("nobody")));
    let f = fact("proftpd", "ftp.example.org (192.0.2.7[192.0.2.7]) - Maximum login attempts (3) exceeded");
    assert_eq!((f.action, f.ip), ("ftp_max_attempts", ip("192.0.2.7")));
    assert!(recognise("proftpd", "ftp.example.org - ProFTPD 1.3.8 (Debian) standalone mode STARTUP").is_none());
}

#[test]
fn database_login_failures() {
    let f = fact("mysqld", "Access denied for user 'root'@'192.0.2.7' (using password: YES)");
    assert_eq!((f.service, f.action, f.user, f.ip), ("mysql", "db_auth_failed", Some("root"), ip("192.0.2.7")));
    let f = fact(
        "mariadbd",
        "2026-12-01 10:00:00 31 [Warning] Access denied for user 'app'@'db.example.net' (using password: YES)",
    );
    assert_eq!((f.user, f.ip, f.domain), (Some("app"), None, Some("db.example.net")));
    let f = fact("postgres", "bob@db FATAL:  password authentication failed for user \"bob\"");
    assert_eq!((f.service, f.user, f.ip), ("postgresql", Some("bob"), None));
    let f = fact("postgres", "192.0.2.7(51234) bob@db FATAL:  password authentication failed for user \"bob\"");
    assert_eq!(f.ip, ip("192.0.2.7"));
    let f = fact(
        "postgres",
        "[unknown]@[unknown] FATAL:  no pg_hba.conf entry for host \"192.0.2.9\", user \"sa\", database \"x\", no encryption",
    );
    assert_eq!((f.user, f.ip), (Some("sa"), ip("192.0.2.9")));
    let f = fact("postgres", "192.0.2.7 admin@postgres FATAL:  role \"admin\" does not exist");
    assert_eq!((f.user, f.ip), (Some("admin"), ip("192.0.2.7")));
    assert!(recognise("postgres", "LOG:  database system is ready to accept connections").is_none());
}

#[test]
fn http_basic_auth_and_limits() {
    let f = fact("nginx", "user \"bob\": password mismatch");
    assert_eq!((f.service, f.action, f.user), ("http", "http_auth_failed", Some("bob")));
    let f = fact("nginx", "user \"eve\" was not found in \"/etc/nginx/htpasswd\"");
    assert_eq!(f.user, Some("eve"));
    let f = fact("nginx", "limiting requests, excess: 20.260 by zone \"one\"");
    assert_eq!((f.action, f.authentication), ("http_rate_limited", false));
    let f = fact("apache2", "AH01617: user bob: authentication failure for \"/private\": Password Mismatch");
    assert_eq!((f.action, f.user), ("http_auth_failed", Some("bob")));
    let f = fact("apache2", "user eve not found: /private");
    assert_eq!(f.user, Some("eve"));
    assert!(recognise("nginx", "open() \"/srv/x\" failed (2: No such file or directory)").is_none());
    assert!(recognise("apache2", "AH00094: Command line: '/usr/sbin/apache2'").is_none());
}

#[test]
fn odd_text_is_no_fact_and_no_panic() {
    for app in ["postfix/smtpd", "dovecot", "vsftpd", "proftpd", "mysqld", "postgres", "nginx", "apache2"] {
        for m in
            ["", "[", "]", " - ", "FATAL:", "user \"", "reject: x from [", "Access denied for user '", "rip=", "é[ü]"]
        {
            let _ = recognise(app, m);
        }
    }
    assert!(recognise("cron", "warning: unknown[192.0.2.7]: SASL LOGIN authentication failed").is_none());
}

/// User names, and nginx's referrer, are the client's own text: written to
/// imitate the rest of a line, they must not move the blame to another
/// address (a spoofed ban of someone else's address).
#[test]
fn client_text_imitating_the_line_does_not_choose_the_address() {
    let f = fact(
        "dovecot",
        "imap-login: Disconnected (auth failed, 1 attempts in 2 secs): user=<x>, method=PLAIN, rip=6.6.6.6, lip=1>, method=PLAIN, rip=192.0.2.7, lip=10.0.0.2, TLS",
    );
    assert_eq!(f.ip, ip("192.0.2.7"));
    let f = fact("vsftpd", "[x] FAIL LOGIN: Client \"6.6.6.6\"] FAIL LOGIN: Client \"192.0.2.7\"");
    assert_eq!((f.ip, f.success), (ip("192.0.2.7"), Some(false)));
    let f = fact(
        "mysqld",
        "Access denied for user 'x'@'6.6.6.6' (using password: YES) '@'192.0.2.7' (using password: YES)",
    );
    assert_eq!(f.ip, ip("192.0.2.7"));
    let f = fact(
        "postgres",
        "[unknown]@[unknown] FATAL:  password authentication failed for user \"FATAL:  no pg_hba.conf entry for host \"6.6.6.6\", user \"a\", database \"b\"\"",
    );
    assert_eq!((f.ip, f.action), (None, "db_auth_failed"));
}

#[test]
fn apache_through_syslog_names_the_client_of_its_fields() {
    let f = fact(
        "httpd",
        "[authz_core:error] [pid 22034] [client 192.0.2.1:58585] AH01630: client denied by server configuration: /home/www/",
    );
    assert_eq!((f.action, f.ip), ("http_auth_failed", ip("192.0.2.1")));
    assert!(recognise("apache2", "[").is_none() && recognise("apache2", "[x] [").is_none());
}
