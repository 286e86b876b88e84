"""Drives bench/host-anomaly/run: see there for what is measured."""

import json
import os
import socket
import subprocess
import sys
import random
import tempfile
import threading
import time
import urllib.request

TOKEN = "bench-host-anomaly-token-0c1d2e3f"
INTERVAL_MS = 1000
WARMUP_SECS = 200  # 200 one-second samples: the default min_baseline_points
BURST_SECS = 60


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, path):
    request = urllib.request.Request(url + path, headers={"Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return answer.read().decode()


def metric(url, name):
    for line in get(url, "/metrics").splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def anomaly_alerts(url):
    return json.loads(get(url, "/api/v1/alerts?rule=host-anomaly&limit=1000"))["alerts"]


# What a server does between heavy jobs, when `BENCH_BACKGROUND=1`: every
# 2-10 s one short command of the kind cron, an operator's shell or a
# deploy script runs. Started before the warm-up, so the baseline has seen
# a host that is used, as the default 600 s warm-up on a real host would.
BACKGROUND = [
    ["sh", "-c", "ls -lR /usr/share/doc > /dev/null"],
    ["sh", "-c", "tar cf - /etc 2>/dev/null | gzip -1 > /dev/null"],
    ["sh", "-c", "ps aux > /dev/null; df -h > /dev/null; uptime > /dev/null"],
    ["sh", "-c", "find /usr/lib -maxdepth 2 -name '*.so*' | sort | head -n 50 > /dev/null"],
    ["sh", "-c", "for i in 1 2 3 4 5; do date > /dev/null; done"],
]


def background(stop):
    rng = random.Random(7)
    while not stop.wait(rng.uniform(2, 10)):
        subprocess.run(rng.choice(BACKGROUND), check=False)


def main():
    binary, bursts, gap = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    stop_background = threading.Event()
    if os.environ.get("BENCH_BACKGROUND") == "1":
        threading.Thread(target=background, args=(stop_background,), daemon=True).start()
    work = tempfile.mkdtemp(prefix="rampart-host-anomaly-")
    port = free_port()
    config = os.path.join(work, "rampart.toml")
    with open(config, "w") as f:
        f.write(
            f"""[sinks]
stdout = false
[sources.host]
interval_ms = {INTERVAL_MS}
[detect.host_anomaly]
warmup_secs = {WARMUP_SECS}
recurring_gap_secs = {max(gap // 2, 60)}
[respond]
mode = "observe"
[alerts]
# Each anomalous run its own alert: with the default 10 min a false alarm
# next to a burst would fold into the burst's alert and not be counted.
dedup_window_secs = 30
"""
        )
    env = dict(os.environ, RAMPART_ADMIN_TOKEN=TOKEN)
    log = open(os.path.join(work, "serve.log"), "w")
    server = subprocess.Popen(
        [binary, "--config", config, "--log-format", "json", "serve", "--listen", f"127.0.0.1:{port}",
         "--data-dir", os.path.join(work, "data")],
        env=env, stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"
    windows = []  # (start, end, label) of every burst, wall-clock seconds
    try:
        deadline = time.time() + WARMUP_SECS + 120
        while metric_or_none(url, "rampart_host_anomaly_trained") != 1.0:
            if time.time() > deadline:
                sys.exit("the baseline was not learnt in time")
            time.sleep(2)
        print(f"baseline learnt; {bursts} stress-ng bursts of {BURST_SECS} s every {gap} s", file=sys.stderr)
        quiet_from = time.time()
        for n in range(bursts):
            time.sleep(max(0.0, gap - BURST_SECS))
            start = time.time()
            subprocess.run(["stress-ng", "--cpu", "1", "--timeout", f"{BURST_SECS}s", "--quiet"], check=True)
            windows.append((start, time.time(), f"stress-ng {n + 1}"))
            print(f"  burst {n + 1} done", file=sys.stderr)
        time.sleep(gap - BURST_SECS)
        miner = subprocess.Popen(["sha256sum", "/dev/zero"], stdout=subprocess.DEVNULL)
        started = time.time()
        delay = None
        while time.time() - started < 120:
            named = [a for a in anomaly_alerts(url) if a["entity"]["value"] == str(miner.pid)]
            if named:
                delay = named[0]["first_seen_ms"] / 1000 - started
                break
            time.sleep(0.5)
        miner.kill()
        miner.wait()
        windows.append((started, time.time(), "miner"))
        alerts = anomaly_alerts(url)
        learnt = metric_or_none(url, "rampart_host_anomaly_learnt_samples_total") or 0
    finally:
        stop_background.set()
        server.terminate()
        server.wait(timeout=30)
    # A burst's effect on the 1 s samples can trail it by a sample or two.
    def window_of(t):
        for start, end, label in windows:
            if start - 2 <= t <= end + 5:
                return label
        return None

    alerted, false_alarms = set(), []
    for a in alerts:
        first = a["first_seen_ms"] / 1000
        label = window_of(first) or window_of(a["last_seen_ms"] / 1000)
        if label is None and first >= quiet_from:
            false_alarms.append({"title": a["title"], "at": first - quiet_from})
        elif label:
            alerted.add(label)
    quiet_minutes = (windows[-1][0] - quiet_from - sum(e - s for s, e, _ in windows[:-1])) / 60
    print(json.dumps({
        "bursts": [{"burst": label, "alerted": label in alerted} for _, _, label in windows[:-1]],
        "false_alarms_outside_bursts": false_alarms,
        "quiet_minutes": round(quiet_minutes, 1),
        "background_load": os.environ.get("BENCH_BACKGROUND") == "1",
        "samples_explained_by_learnt_jobs": learnt,
        "miner_alert_delay_secs": None if delay is None else round(delay, 1),
    }, indent=2))


def metric_or_none(url, name):
    try:
        return metric(url, name)
    except OSError:
        return None


if __name__ == "__main__":
    main()
