#!/usr/bin/env python3
"""How many of fail2ban's own labelled test lines Rampart reads as what
fail2ban's filter says they are. fail2ban ships, for each filter, a log of
real-world lines under `tests/files/logs/`, each preceded by a
`# failJSON: {"match": true|false, "host": ...}` annotation. For the
filters of the jails Rampart covers, every annotated line is written to a
file and read by `rampart scan --output events` in each line format; a
line counts as recognised when some format turns it into a failure (or a
reject / rate-limit) event naming fail2ban's host, and as a false match
when fail2ban says "no match" but Rampart reads a failure from an address.

    bench/fail2ban_coverage.py RAMPART_BIN FAIL2BAN_LOGS_DIR [-v]   (bench/fail2ban-coverage runs it)

Prints a markdown table for docs/DETECTION.md.
"""
import json
import subprocess
import sys
import tempfile
from pathlib import Path

# fail2ban filter -> the Rampart rules that count its lines.
FILTERS = {
    "sshd": "ssh-brute-force, ssh-user-enumeration, …",
    "pam-generic": "pam-brute-force",
    "postfix": "smtp-rejects, mail-brute-force",
    "dovecot": "mail-brute-force",
    "sieve": "mail-brute-force",
    "vsftpd": "ftp-brute-force",
    "proftpd": "ftp-brute-force",
    "mysqld-auth": "database-brute-force",
    "nginx-http-auth": "http-auth-brute-force",
    "nginx-limit-req": "http-rate-limited",
    "apache-auth": "http-auth-brute-force",
}
FORMATS = ["syslog", "json", "apache-error", "nginx-error", "vsftpd", "mysql-error", "postgresql"]
# Not an authentication failure, but what the jail bans on.
COUNTED_ACTIONS = {"smtp_rejected", "http_rate_limited"}


def annotated(path):
    """(failJSON, line) pairs: each annotation and the log line after it."""
    pairs, pending = [], None
    for raw in path.read_text(errors="replace").splitlines():
        if raw.startswith("# failJSON:"):
            try:
                pending = json.loads(raw.split(":", 1)[1])
            except json.JSONDecodeError:
                pending = None
        elif raw.startswith("#") or not raw.strip():
            continue
        elif pending is not None:
            pairs.append((pending, raw))
            pending = None
    return pairs


def read_by_rampart(rampart, lines):
    """Line number -> (source.ip or source.domain, is a failure) for every
    line some format reads as a failure event."""
    found = {}
    with tempfile.NamedTemporaryFile("w", suffix=".log") as f:
        f.write("\n".join(lines) + "\n")
        f.flush()
        for fmt in FORMATS:
            out = subprocess.run([rampart, "scan", "--output", "events",
                                  "--format", fmt, f.name], capture_output=True, text=True).stdout
            for row in out.splitlines():
                row = json.loads(row)
                e = row["event"]
                outcome = (e.get("event") or {}).get("outcome")
                action = (e.get("event") or {}).get("action")
                if outcome != "failure" and action not in COUNTED_ACTIONS:
                    continue
                src = e.get("source") or {}
                who = src.get("ip") or src.get("domain")
                found.setdefault(row["line"], set()).add(who)
    return found


def main():
    rampart, logs = sys.argv[1], Path(sys.argv[2])
    print("| fail2ban filter (its test log) | lines it must match | Rampart reads a failure from that host | lines it must not match | Rampart reads a failure from an address | Rampart rules |")
    print("| --- | --- | --- | --- | --- | --- |")
    totals = [0, 0, 0, 0]
    for name, rules in FILTERS.items():
        pairs = annotated(logs / name)
        found = read_by_rampart(rampart, [line for _, line in pairs])
        must = [(i + 1, j) for i, (j, _) in enumerate(pairs) if j.get("match")]
        must_not = [(i + 1, j) for i, (j, _) in enumerate(pairs) if not j.get("match")]
        hit = sum(1 for n, j in must if str(j.get("host")) in {str(h) for h in found.get(n, set())})
        false = sum(1 for n, _ in must_not if any(h for h in found.get(n, set())))
        totals = [totals[0] + len(must), totals[1] + hit, totals[2] + len(must_not), totals[3] + false]
        pct = f"{100 * hit / len(must):.0f}%" if must else "—"
        print(f"| {name} | {len(must)} | {hit} ({pct}) | {len(must_not)} | {false} | {rules} |")
        if "-v" in sys.argv:
            for n, j in must:
                if str(j.get("host")) not in {str(h) for h in found.get(n, set())}:
                    print(f"    missed {name}:{n}: {pairs[n - 1][1][:160]}", file=sys.stderr)
    print(f"| all | {totals[0]} | {totals[1]} ({100 * totals[1] / max(totals[0], 1):.0f}%) | {totals[2]} | {totals[3]} | |")


if __name__ == "__main__":
    main()
