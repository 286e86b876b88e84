"""Rampart's Isolation Forest and scikit-learn's on the same split.

For each seed: shuffle the NSL-KDD rows, write 70% and 30% to two files,
run `rampart eval anomaly --train 70% --test 30%`, and fit scikit-learn's
IsolationForest (100 trees, max_samples 256, the same seed) on the normal
rows of the 70%, encoded the way such a baseline usually is (one-hot
protocol/service/flag, raw numbers) and the way Rampart encodes them (the
same with ln(1 + x) on never-negative columns). Prints one table.
"""

import json
import subprocess
import sys
import time

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.metrics import roc_auc_score

FAMILY = {}
for names, family in [
    ("back land neptune pod smurf teardrop apache2 mailbomb processtable udpstorm", "DoS"),
    ("ipsweep nmap portsweep satan mscan saint", "Probe"),
    ("ftp_write guess_passwd imap multihop phf spy warezclient warezmaster named sendmail "
     "snmpgetattack snmpguess worm xlock xsnoop httptunnel", "R2L"),
    ("buffer_overflow loadmodule perl rootkit ps sqlattack xterm", "U2R"),
]:
    for n in names.split():
        FAMILY[n] = family


def encode(train_rows, rows, log):
    """One-hot columns 1-3 over the training vocabulary, the rest as numbers."""
    vocab = [sorted({r[c] for r in train_rows}) for c in (1, 2, 3)]
    index = [{v: i for i, v in enumerate(vs)} for vs in vocab]
    numeric = [c for c in range(41) if c not in (1, 2, 3)]
    train_num = np.array([[float(r[c]) for c in numeric] for r in train_rows])
    never_negative = (train_num >= 0).all(axis=0)

    def one(rows):
        num = np.array([[float(r[c]) for c in numeric] for r in rows])
        if log:
            num[:, never_negative] = np.log1p(np.maximum(num[:, never_negative], 0))
        hot = np.zeros((len(rows), sum(len(v) for v in vocab)))
        base = 0
        for k, c in enumerate((1, 2, 3)):
            for i, r in enumerate(rows):
                j = index[k].get(r[c])
                if j is not None:
                    hot[i, base + j] = 1.0
            base += len(vocab[k])
        return np.hstack([num, hot])

    return one(rows)


def by_family(scores, labels):
    normal = [s for s, l in zip(scores, labels) if l == "normal"]
    out = {}
    for fam in ("DoS", "Probe", "R2L", "U2R"):
        attack = [s for s, l in zip(scores, labels) if FAMILY.get(l) == fam]
        if attack:
            out[fam] = roc_auc_score([0] * len(normal) + [1] * len(attack), normal + attack)
    return out


def main():
    binary, data, work = sys.argv[1:4]
    seeds = [int(s) for s in sys.argv[4:]] or [1, 2, 3]
    lines = [l for l in open(data) if l.strip()]
    print("| seed | model | ROC AUC | DoS | Probe | R2L | U2R | fit s | scored/s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for seed in seeds:
        order = np.random.default_rng(seed).permutation(len(lines))
        cut = len(lines) * 7 // 10
        train_lines = [lines[i] for i in order[:cut]]
        test_lines = [lines[i] for i in order[cut:]]
        open(f"{work}/train.txt", "w").writelines(train_lines)
        open(f"{work}/test.txt", "w").writelines(test_lines)
        out = subprocess.run(
            [binary, "eval", "anomaly", "--train", f"{work}/train.txt", "--test", f"{work}/test.txt",
             "--format", "nsl-kdd", "--seed", str(seed), "--json"],
            check=True, capture_output=True, text=True).stdout
        r = json.loads(out)
        fam = {f: a for f, _, a in r["roc_auc_by_family"]}
        print(f"| {seed} | Rampart | {r['roc_auc']:.4f} | " + " | ".join(f"{fam.get(f, float('nan')):.4f}" for f in ("DoS", "Probe", "R2L", "U2R"))
              + f" | {r['fit_secs']:.2f} | {r['points_per_sec']:,.0f} |")
        train_rows = [l.rstrip("\n").split(",") for l in train_lines]
        test_rows = [l.rstrip("\n").split(",") for l in test_lines]
        labels = [r[41] for r in test_rows]
        normal_train = [r for r in train_rows if r[41] == "normal"]
        for log in (False, True):
            x_train = encode(normal_train, normal_train, log)
            x_test = encode(normal_train, test_rows, log)
            started = time.perf_counter()
            forest = IsolationForest(n_estimators=100, max_samples=256, random_state=seed).fit(x_train)
            fit_secs = time.perf_counter() - started
            started = time.perf_counter()
            scores = list(-forest.score_samples(x_test))
            rate = len(test_rows) / (time.perf_counter() - started)
            auc = roc_auc_score([l != "normal" for l in labels], scores)
            fam = by_family(scores, labels)
            name = "scikit-learn, ln(1 + x)" if log else "scikit-learn, raw"
            print(f"| {seed} | {name} | {auc:.4f} | " + " | ".join(f"{fam.get(f, float('nan')):.4f}" for f in ("DoS", "Probe", "R2L", "U2R"))
                  + f" | {fit_secs:.2f} | {rate:,.0f} |")


if __name__ == "__main__":
    main()
