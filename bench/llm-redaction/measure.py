"""Drives bench/llm-redaction/run: a chat-completions stand-in that records
prompts, `rampart serve` over the real logs, and the count of what leaked."""
import http.server
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

BIN, LOGS = sys.argv[1], sys.argv[2]
FILES = {
    "syslog": [f"{LOGS}/loghub/OpenSSH_2k.log", f"{LOGS}/loghub/Linux_2k.log"],
    "combined": [f"{LOGS}/webhawk-apache-access/access.log.2021-10-22", f"{LOGS}/webhawk-apache-access/access.log.2022-12-22"],
}
ANSWER = {"summary": "s", "verdict": "unsure", "reason": "r", "suggested_response": {"action": "none"},
          "cited_event_ids": [], "findings": []}
PROMPTS = []


class StandIn(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
        PROMPTS.append(body["messages"][1]["content"])
        out = json.dumps({"choices": [{"message": {"role": "assistant", "content": json.dumps(ANSWER)}}],
                          "usage": {"prompt_tokens": 1, "completion_tokens": 1}}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def field(event, path):
    for key in path.split("."):
        if not isinstance(event, dict) or key not in event:
            return None
        event = event[key]
    return event


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    work = tempfile.mkdtemp(prefix="rampart-redaction-")
    sources = "".join(
        f'[[sources.files]]\npaths = {json.dumps(paths)}\nformat = "{fmt}"\nstart_at = "beginning"\n'
        for fmt, paths in FILES.items())
    config = (f'[sinks]\nstdout = false\n[sources.host]\nenabled = false\n[llm]\nenabled = true\n'
              f'base_url = "http://127.0.0.1:{server.server_port}/v1"\ncalls_per_minute = 100000\n'
              f'min_severity = "info"\nqueue_capacity = 100000\n[llm.detector]\nenabled = true\n'
              f'lines_per_minute = 100000\n{sources}')
    with open(f"{work}/rampart.toml", "w") as f:
        f.write(config)
    port = free_port()
    env = dict(os.environ, RAMPART_ADMIN_TOKEN="bench-redaction-token-0123456789abcdef")
    serve = subprocess.Popen([BIN, "--config", f"{work}/rampart.toml", "serve", "--listen", f"127.0.0.1:{port}",
                              "--data-dir", f"{work}/data"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        # Done when the prompt count stops growing.
        last, still = -1, 0
        while still < 5:
            time.sleep(2)
            still = still + 1 if len(PROMPTS) == last else 0
            last = len(PROMPTS)
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics").read().decode()
        value = lambda name: sum(float(l.split()[-1]) for l in metrics.splitlines() if l.startswith(name))
        calls = value("rampart_llm_latency_seconds_count")
        mean_ms = 1000 * value("rampart_llm_latency_seconds_sum") / calls if calls else float("nan")
    finally:
        serve.terminate()
        serve.wait()
    scanned = subprocess.run([BIN, "scan", "--output", "events", *FILES["syslog"], *FILES["combined"]],
                             capture_output=True, text=True, check=True).stdout
    users, hosts, addresses = set(), set(), set()
    for line in scanned.splitlines():
        event = json.loads(line)["event"]
        for name, into in (("user.name", users), ("host.name", hosts), ("source.ip", addresses)):
            value = field(event, name)
            if value and len(str(value)) >= 3:
                into.add(str(value))
    text = "\n".join(PROMPTS)
    ipv4 = {m for m in re.findall(r"\b(?:\d{1,3}\.){3}\d{1,3}\b", text) if all(int(x) <= 255 for x in m.split("."))}
    present = lambda values: sorted(v for v in values if re.search(r"(?<![\w])" + re.escape(v) + r"(?![\w])", text))
    in_phrase = sorted({m.group(1) for m in re.finditer(r"(?:invalid user |user[= ]|failures? for )([^\s\[\]();,\"]+)", text)}
                       & users)
    detector = sum(p.startswith('{"lines"') for p in PROMPTS)
    print(f"model calls: {calls:.0f}, mean {mean_ms:.1f} ms each against the local stand-in (Rampart's side and loopback)")
    print(f"prompts: {len(PROMPTS) - detector} alert triages, {detector} log-detector batches, {len(text)} characters")
    print(f"in the logs: {len(addresses)} source addresses, {len(users)} user names, {len(hosts)} host names")
    print(f"IPv4 addresses left in the prompts: {len(ipv4)}")
    print(f"host names left: {len(present(hosts))} {present(hosts)}")
    print(f"user names left where the text names an account: {len(in_phrase)} {in_phrase}")
    print(f"user names present anywhere (as ordinary words too): {len(present(users))} {present(users)}")


main()
