#!/usr/bin/env python3
"""Where the AGN of unseen sources go, and two ways tried to get them back (issue #18).

Reads the fold networks that `stampseq benchmark --retrain-grouped ... --retrain-runs RUNS`
keeps (RUNS/<network>/fold-K-<group>/best.stampseq and split.json), answers every labelled
object with each fold's networks through `stampseq neutralise` and `stampseq classify`, and
scores each held-out object with its own fold's networks (as the benchmark does), then:

1. how well the ensembles rank held-out AGN above held-out variable stars (area under the
   curve of P(AGN) / (P(AGN) + P(VS))) against where their answers put the line;
2. the decision moved toward the classes that were rare in training: probabilities times
   (training frequency of the class in that fold) ** -gamma, at fixed gammas and with gamma
   chosen on the other groups' held-out objects (the honest figure), and the same shift on
   ALeRCE's stamp classifier test set with the bundled networks (the only source outside
   the grouping);
3. gradient-boosted trees on the alert's 30-day history and counterpart features, trained
   on the other groups, ranking the held-out AGN against the variable stars, alone and
   averaged with the GRUs.

With --summary it prints only each network's scores and theirs together (balanced accuracy,
recalls, AGN / VS area under the curve; --nets names the networks, the three GRUs by
default), over every held-out group or one (--fold 1, the big group:
how training changes were screened, on runs of that fold alone, default-fused.md);
--checkpoint last scores the runs' last checkpoints instead of those kept, and --features
the features read as missing (all 26: the stamps alone).

Labels are weak (catalogue cross-matches). Needs numpy, scikit-learn and fastavro:
    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install numpy scikit-learn fastavro
    /tmp/venv/bin/python scripts/unseen-agn.py --runs RUNS
    /tmp/venv/bin/python scripts/unseen-agn.py --runs RUNS --summary --fold 1
"""

import argparse
import csv
import hashlib
import json
import os
import subprocess
import sys

import fastavro
import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score

CLASSES = ["AGN", "SN", "VS", "asteroid"]
GRU = ["tsc-gru-real", "tsc-gru-real-s23", "tsc-gru-real-s24"]
ENHANCED = ["enhanced-real", "enhanced-real-s13", "enhanced-real-s14"]
GAMMAS = [0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0]


def args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", required=True, help="the benchmark's --retrain-runs folder")
    p.add_argument("--data", default=os.environ.get("STAMPSEQ_DATA", "../shared/data"))
    p.add_argument("--bin", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", "target"), "release", "stampseq"))
    p.add_argument("--work", default="/tmp/unseen-agn", help="where answers are cached")
    p.add_argument("--features", default="ra,dec,ecl_long,gal_long,ecl_lat,gal_lat,ndethist",
                   help="read as missing, as the bundled networks do")
    p.add_argument("--checkpoint", default="best", choices=["best", "last"],
                   help="which checkpoint of each fold run answers (best: the one kept)")
    p.add_argument("--summary", action="store_true",
                   help="only each network's scores (--nets) and theirs together over the "
                        "held-out groups")
    p.add_argument("--nets", default=",".join(GRU),
                   help="with --summary: the fold runs' networks to score, alone and together "
                        "(folders of --runs; default the three GRUs)")
    p.add_argument("--fold", type=int,
                   help="with --summary: only this held-out group (1 to 5; 1 is the big one)")
    return p.parse_args()


def last_answers(path):
    """Each object's answer at its last detection (up to 5), as the benchmark scores it."""
    last = {}
    for r in json.load(open(path))["rows"]:
        o = r["object_id"]
        if o not in last or r["k"] > last[o]["k"]:
            last[o] = r
    return last


def classify(a, model, out, inputs):
    if not os.path.exists(out):
        subprocess.run([a.bin, "classify", "--model", model, "--format", "json",
                        "--max-detections", "5", "--out", out, *inputs],
                       check=True, stderr=subprocess.DEVNULL)
    return last_answers(out)


def fold_answers(a, networks, inputs):
    """fold -> (held-out objects, training class frequencies, {network: {object: probs}},
    {object: (source, record)})."""
    folds = {}
    for net in networks:
        for d in sorted(os.listdir(os.path.join(a.runs, net))):
            run = os.path.join(a.runs, net, d)
            checkpoint = os.path.join(run, f"{a.checkpoint}.stampseq")
            if not d.startswith("fold-") or not os.path.isfile(checkpoint):
                continue
            k = int(d.split("-")[1])
            # Answers are cached by network, fold, checkpoint and the features read as missing.
            tag = f"{net}.{d}.{a.checkpoint}.{hashlib.sha1(a.features.encode()).hexdigest()[:8]}"
            model = os.path.join(a.work, f"{tag}.stampseq")
            if not os.path.exists(model):
                subprocess.run([a.bin, "neutralise", "--features", a.features, "--out", model,
                                checkpoint],
                               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            last = classify(a, model, os.path.join(a.work, f"{tag}.json"), inputs)
            split = json.load(open(os.path.join(run, "split.json")))
            entry = folds.setdefault(k, {"test": split["test"], "train": split["train"] + split["val"],
                                         "probs": {}, "source": {}})
            entry["probs"][net] = {o: np.array(r["probabilities"]) for o, r in last.items()}
            entry["source"].update({o: r["source"] for o, r in last.items()})
    return folds


def frequencies(objects, labels):
    counts = np.array([max(sum(labels.get(o) == c for o in objects), 1) for c in CLASSES], float)
    return counts / counts.sum()


def recalls(rows):
    """rows: (label, probabilities) -> (balanced accuracy over the classes present, {class: (found, n)})."""
    found = {}
    for label, p in rows:
        n = found.setdefault(label, [0, 0])
        n[1] += 1
        n[0] += CLASSES[int(np.argmax(p))] == label
    return 100 * np.mean([f / n for f, n in found.values()]), found


def shifted(folds, labels, nets, gamma, keep=None, only=None):
    rows = []
    for k, f in folds.items():
        if keep is not None and k not in keep:
            continue
        weight = frequencies(f["train"], labels) ** -gamma
        for o in f["test"]:
            label = labels.get(o)
            if label not in CLASSES or (only and label not in only):
                continue
            p = np.mean([f["probs"][n][o] for n in nets], axis=0) * weight
            if only:
                p = np.array([p[i] if c in only else 0 for i, c in enumerate(CLASSES)])
            rows.append((label, p))
    return rows


def agn_vs_auc(rows):
    y = [label == "AGN" for label, _ in rows if label in ("AGN", "VS")]
    s = [p[0] / (p[0] + p[2] + 1e-12) for label, p in rows if label in ("AGN", "VS")]
    return roc_auc_score(y, s)


def show(found):
    return " ".join(f"{c} {found[c][0]}/{found[c][1]}" for c in CLASSES if c in found)


def decision_shift(folds, labels, ensembles):
    big = max(folds, key=lambda k: sum(labels.get(o) == "AGN" for o in folds[k]["test"]))
    print("## The decision moved toward classes rare in training (probabilities x frequency^-gamma)")
    for name, nets in ensembles.items():
        rows = shifted(folds, labels, nets, 0)
        print(f"{name}: AGN/VS AUC {agn_vs_auc(rows):.3f} over every held-out group, "
              f"{agn_vs_auc(shifted(folds, labels, nets, 0, keep={big})):.3f} on fold {big}")
        for g in GAMMAS[::2]:
            ba, found = recalls(shifted(folds, labels, nets, g))
            mix, _ = recalls(shifted(folds, labels, nets, g, only=("AGN", "VS")))
            print(f"  gamma {g:<5}: {ba:.1f} % ({show(found)}); AGN/VS only {mix:.1f} %")
        chosen, rows, mix_rows = [], [], []
        for k in sorted(folds):
            others = set(folds) - {k}
            g = max(GAMMAS, key=lambda g: (recalls(shifted(folds, labels, nets, g, keep=others))[0], -g))
            chosen.append(g)
            rows += shifted(folds, labels, nets, g, keep={k})
            mix_rows += shifted(folds, labels, nets, g, keep={k}, only=("AGN", "VS"))
        ba, found = recalls(rows)
        print(f"  gamma chosen on the other groups {chosen}: {ba:.1f} % ({show(found)}); "
              f"AGN/VS only {recalls(mix_rows)[0]:.1f} %")


def external(a, labels_split, ensembles):
    path = os.path.join(a.data, "ztf/aux/alerce_stamp_classifier_test_stamps.avro")
    records = list(fastavro.reader(open(path, "rb")))
    truth = {r["oid"]: r["label"] for r in records}
    has_metadata = {r["oid"]: r["sgscore1"] is not None for r in records}
    train = [o for o, r in labels_split.items() if r["part"] in ("train", "val")]
    freq = frequencies(train, {o: r["label"] for o, r in labels_split.items()})
    probs = {}
    for net in sorted({n for nets in ensembles.values() for n in nets}):
        last = classify(a, os.path.join("assets/models", f"{net}.stampseq"),
                        os.path.join(a.work, f"bundled-{net}-alerce-test.json"), [path])
        probs[net] = {o: np.array(r["probabilities"]) for o, r in last.items()}
    print("\n## The same shift on ALeRCE's stamp classifier test set (bundled networks)")
    for name, nets in ensembles.items():
        for g in (0, 0.25, 0.5):
            line = []
            for subset, keep in (("with metadata", True), ("all records", False)):
                rows = [(label, np.mean([probs[n][o] for n in nets], axis=0) * freq ** -g)
                        for o, label in truth.items()
                        if label in ("AGN", "VS", "asteroid") and (has_metadata[o] or not keep)]
                ba, found = recalls(rows)
                line.append(f"{subset} {ba:.1f} % ({show(found)})")
            print(f"{name} gamma {g}: " + "; ".join(line))


def history_features(record):
    c = record["candidate"]
    previous = record.get("prv_candidates") or []
    detections = [p for p in previous if p.get("magpsf") is not None]
    f = []
    for band in (1, 2):
        m = [p["magpsf"] for p in detections if p["fid"] == band] + ([c["magpsf"]] if c["fid"] == band else [])
        f += [len(m), np.ptp(m) if len(m) > 1 else np.nan, np.std(m) if len(m) > 1 else np.nan]
    times = [p["jd"] for p in detections] + [c["jd"]]
    f += [len(detections), len(previous) - len(detections), max(times) - min(times)]
    positive = [p for p in detections if p.get("isdiffpos") in ("t", "1")]
    f.append(len(positive) / len(detections) if detections else np.nan)
    ref = c.get("magnr")
    f.append(c["magpsf"] - ref if ref is not None and ref > 0 else np.nan)
    for key in ("sgscore1", "distpsnr1", "chinr", "sharpnr", "classtar", "fwhm", "ncovhist", "rb", "sigmapsf"):
        v = c.get(key)
        f.append(np.nan if v is None or v == -999 else v)
    f.append(1.0 if c["isdiffpos"] in ("t", "1") else 0.0)
    ok = lambda x: x is not None and 0 < x < 30  # noqa: E731
    g, r, i = c.get("sgmag1"), c.get("srmag1"), c.get("simag1")
    f += [g - r if ok(g) and ok(r) else np.nan, r - i if ok(r) and ok(i) else np.nan]
    return f


def history(folds, labels, gru):
    files = {}

    def record(source):
        path, index = source.rsplit("#", 1)
        if path not in files:
            try:
                files[path] = list(fastavro.reader(open(path, "rb")))
            except Exception as e:  # a Parquet or framed message: not this check's input
                files[path] = e
        if isinstance(files[path], Exception):
            raise files[path]
        return files[path][int(index)]

    ids, x, y, group, net = [], [], [], [], []
    for k, f in folds.items():
        for o in f["test"]:
            if labels.get(o) not in ("AGN", "VS"):
                continue
            try:
                x.append(history_features(record(f["source"][o])))
            except Exception:
                continue
            p = np.mean([f["probs"][n][o] for n in gru], axis=0)
            ids.append(o), y.append(labels[o] == "AGN"), group.append(k), net.append(p[0] / (p[0] + p[2] + 1e-12))
    x, y, group, net = np.array(x, float), np.array(y), np.array(group), np.array(net)
    trees = np.zeros(len(y))
    for k in folds:
        train, test = group != k, group == k
        if test.any() and y[train].any() and not y[train].all():
            model = HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, max_depth=3,
                                                   class_weight="balanced", random_state=0)
            trees[test] = model.fit(x[train], y[train]).predict_proba(x[test])[:, 1]
    big = max(folds, key=lambda k: ((group == k) & y).sum())
    print(f"\n## The 30-day history: trees trained on the other groups, AGN/VS AUC ({len(y)} objects read)")
    for name, s in (("GRUs", net), ("history trees", trees), ("mean of both", (net + trees) / 2)):
        print(f"{name}: {roc_auc_score(y[group == big], s[group == big]):.3f} on fold {big}, "
              f"{roc_auc_score(y, s):.3f} over every held-out group")


def summary(folds, labels, nets, fold=None):
    """Each network's scores and theirs together over the held-out groups (or one of them)."""
    keep = None if fold is None else {fold}
    if keep and fold not in folds:
        sys.exit(f"no fold run of held-out group {fold}")
    for k, f in sorted(folds.items()):
        missing = [n for n in nets if n not in f["probs"]]
        if missing and (keep is None or k in keep):
            sys.exit(f"held-out group {k} has no finished fold run of {', '.join(missing)}")
    together = "the three" if len(nets) == 3 else f"the {len(nets)} together"
    for name, members in [(n, [n]) for n in nets] + [(together, nets)]:
        rows = shifted(folds, labels, members, 0, keep=keep)
        ba, found = recalls(rows)
        mix, _ = recalls(shifted(folds, labels, members, 0, keep=keep, only=("AGN", "VS")))
        print(f"{name:18s} {ba:5.1f} % ({show(found)}); AGN/VS only {mix:.1f} %; "
              f"AGN/VS AUC {agn_vs_auc(rows):.3f}")


def main():
    a = args()
    os.makedirs(a.work, exist_ok=True)
    split = {r["objectId"]: r for r in csv.DictReader(open("assets/benchmark/split.csv"))}
    labels = {o: r["label"] for o, r in split.items()}
    inputs = [os.path.join(a.data, "ztf/labeled"), os.path.join(a.data, "ztf/extra")]
    wanted = a.nets.split(",") if a.summary else GRU
    networks = [n for n in wanted + ([] if a.summary else ENHANCED)
                if os.path.isdir(os.path.join(a.runs, n))]
    if not set(wanted) <= set(networks):
        sys.exit(f"{a.runs} lacks fold runs of {', '.join(sorted(set(wanted) - set(networks)))}")
    ensembles = {"three GRUs": GRU}
    if set(ENHANCED) <= set(networks):
        ensembles["six networks"] = GRU + ENHANCED
    folds = fold_answers(a, networks, inputs)
    if a.summary:
        summary(folds, labels, wanted, a.fold)
        return
    decision_shift(folds, labels, ensembles)
    external(a, split, ensembles)
    history(folds, labels, GRU)


if __name__ == "__main__":
    main()
