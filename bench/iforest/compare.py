"""Rampart's Isolation Forest and scikit-learn's on the same split.

For each seed and subsample size ψ: shuffle the NSL-KDD rows, write 70% and
30% to two files, run `rampart eval anomaly --train 70% --test 30%
--subsample ψ`, and fit scikit-learn's IsolationForest (100 trees,
max_samples ψ, the same seed) on the normal rows of the 70%, encoded the
way such a baseline usually is (one-hot protocol/service/flag, raw numbers)
and the way Rampart encodes them (the same with ln(1 + x) on never-negative
columns); and isotree's extended isolation forest (hyperplane splits over
two features, `ndim=2`) on Rampart's encoding, to see whether oblique splits
rank the attacks better. Prints one table; "mean" is the mean of the four
families' ROC AUC, which the largest family (DoS) does not dominate.
"""

import json
import os
import subprocess
import sys
import time

import isotree
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


FAMILIES = ("DoS", "Probe", "R2L", "U2R")


def row(seed, psi, name, auc, fam, fit_secs, rate):
    mean = sum(fam.values()) / len(fam)
    cells = " | ".join(f"{fam.get(f, float('nan')):.4f}" for f in FAMILIES)
    print(f"| {seed} | {psi} | {name} | {auc:.4f} | {cells} | {mean:.4f} | {fit_secs:.2f} | {rate:,.0f} |", flush=True)


def main():
    binary, data, work = sys.argv[1:4]
    seeds = [int(s) for s in sys.argv[4:]] or [1, 2, 3]
    psis = [int(p) for p in os.environ.get("PSI", "256 1024").split()]
    lines = [l for l in open(data) if l.strip()]
    print("| seed | ψ | model | ROC AUC | DoS | Probe | R2L | U2R | mean | fit s | scored/s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for seed, psi in ((seed, psi) for seed in seeds for psi in psis):
        order = np.random.default_rng(seed).permutation(len(lines))
        cut = len(lines) * 7 // 10
        train_lines = [lines[i] for i in order[:cut]]
        test_lines = [lines[i] for i in order[cut:]]
        open(f"{work}/train.txt", "w").writelines(train_lines)
        open(f"{work}/test.txt", "w").writelines(test_lines)
        out = subprocess.run(
            [binary, "eval", "anomaly", "--train", f"{work}/train.txt", "--test", f"{work}/test.txt",
             "--format", "nsl-kdd", "--seed", str(seed), "--subsample", str(psi), "--json"],
            check=True, capture_output=True, text=True).stdout
        r = json.loads(out)
        fam = {f: a for f, _, a in r["roc_auc_by_family"]}
        row(seed, psi, "Rampart", r["roc_auc"], fam, r["fit_secs"], r["points_per_sec"])
        train_rows = [l.rstrip("\n").split(",") for l in train_lines]
        test_rows = [l.rstrip("\n").split(",") for l in test_lines]
        labels = [r[41] for r in test_rows]
        normal_train = [r for r in train_rows if r[41] == "normal"]
        for name, log in (("scikit-learn, raw", False), ("scikit-learn, ln(1 + x)", True), ("isotree extended, ln(1 + x)", True)):
            x_train = encode(normal_train, normal_train, log)
            x_test = encode(normal_train, test_rows, log)
            if name.startswith("isotree"):
                forest = isotree.IsolationForest(ndim=2, sample_size=psi, ntrees=100, random_seed=seed, nthreads=1)
                score = forest.predict
            else:
                forest = IsolationForest(n_estimators=100, max_samples=psi, random_state=seed)
                score = lambda x: -forest.score_samples(x)  # noqa: E731 (higher is more anomalous, as Rampart's)
            started = time.perf_counter()
            forest.fit(x_train)
            fit_secs = time.perf_counter() - started
            started = time.perf_counter()
            scores = list(score(x_test))
            rate = len(test_rows) / (time.perf_counter() - started)
            auc = roc_auc_score([l != "normal" for l in labels], scores)
            row(seed, psi, name, auc, by_family(scores, labels), fit_secs, rate)


if __name__ == "__main__":
    main()
