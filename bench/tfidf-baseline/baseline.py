"""TF-IDF + random forest, leave one source out, beside Rampart's figures.

The seed's design: character n-grams (1-3) of the lower-cased value,
TF-IDF weighted, a 100-tree random forest; a value is an attack when the
forest's likeliest class is not benign. Trained on the same corpus
Rampart trains on, without the left-out source, as Rampart's figures are.
Usage: baseline.py CORPUS.jsonl RAMPART_TRAIN.json FALSE_POSITIVES.txt
"""

import json
import sys
import time
from urllib.parse import unquote_plus

from sklearn.ensemble import RandomForestClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import make_pipeline


def text(row):
    # Query values arrive URL-encoded; the seed decoded them once.
    return unquote_plus(row["value"]) if row["context"] == "form" else row["value"]


def model():
    return make_pipeline(
        TfidfVectorizer(analyzer="char", ngram_range=(1, 3), lowercase=True, max_features=20000, sublinear_tf=True),
        RandomForestClassifier(n_estimators=100, n_jobs=-1, random_state=42),
    )


def main():
    rows = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
    ours = json.load(open(sys.argv[2]))["metrics"]
    hard = [l.rstrip("\n") for l in open(sys.argv[3], encoding="utf-8", errors="replace")]
    hard = [l for l in hard if l.strip() and not l.startswith("#")]
    sources = sorted({r["source"] for r in rows})
    print(f"{len(rows)} values; leave one source out (TF-IDF char 1-3 + RF 100 | Rampart):")
    for source in sources:
        train = [r for r in rows if r["source"] != source]
        test = [r for r in rows if r["source"] == source]
        started = time.time()
        m = model().fit([text(r) for r in train], [r["class"] for r in train])
        predicted = m.predict([text(r) for r in test])
        figures = []
        for cls in sorted({r["class"] for r in test}):
            idx = [i for i, r in enumerate(test) if r["class"] == cls]
            flagged = sum(predicted[i] != "benign" for i in idx) / len(idx)
            theirs = ours["leave_one_source_out"].get(source, {}).get(cls, {})
            mine = theirs.get("false_positive_rate" if cls == "benign" else "detected")
            what = "flagged" if cls == "benign" else "detected"
            figures.append(f"{cls} {len(idx)}: {what} {100 * flagged:.1f}% | {100 * mine:.1f}%")
        print(f"  {source}: " + "; ".join(figures) + f"  ({time.time() - started:.0f}s)", flush=True)
    m = model().fit([text(r) for r in rows], [r["class"] for r in rows])
    flagged = sum(p != "benign" for p in m.predict([unquote_plus(v) for v in hard])) / len(hard)
    print(
        f"  libinjection false_positives.txt ({len(hard)}, never trained on): flagged "
        f"{100 * flagged:.1f}% | {100 * ours['hard_negatives']['false_positive_rate']:.1f}%"
    )


main()
