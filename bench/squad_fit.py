#!/usr/bin/env python3
"""squad_fit.py - fits the extractive models of src/answer/extract.c on half of SQuAD v1.1 dev.

`squad_fit.py FEATURES` fits the confidence model (xans_confidence). Input: the TSV that
`frugal eval squad FILE --features F` writes, one line per question: id, article index, label (1
when the answer sentence contains a gold answer), confidence, then the features in the order of
enum xans_feature. The articles are shuffled with random.Random(13) and split in two halves: the
model is fitted on the first (logistic regression, Newton's method, L2 0.01 on the coefficients,
not on the intercept) and checked on the second, where the printed curve of coverage against
support must hold up. Prints the C constants to paste into extract.c and the threshold whose
support on the fitting half is >= 0.90 (lowest such, in steps of 0.01).

`squad_fit.py --sentences F.sentences` fits the sentence score (score_weights in extract.c) from
the file written beside F, one line per candidate sentence: id, article, question type, sentence
number, chunk, label, 1 for the answer, tokens, then the features of enum xans_sfeature. Same
halves; a conditional logit (a softmax over each question's sentences, target spread over the
sentences holding a gold answer), then the intercept that calibrates each sentence's logistic.
Prints the weights and how often the top sentence holds a gold answer on each half. About three
minutes: the project's Python has no numpy, so this is the standard library only.
"""
import math
import random
import sys


def load(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            rows.append((int(p[1]), int(p[2]), [float(v) for v in p[4:]]))
    return rows


def solve(a, b):
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for c in range(n):
        piv = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[piv] = m[piv], m[c]
        for r in range(n):
            if r != c and m[c][c] != 0:
                f = m[r][c] / m[c][c]
                for k in range(c, n + 1):
                    m[r][k] -= f * m[c][k]
    return [m[i][n] / m[i][i] for i in range(n)]


def fit(rows, l2=0.01, iters=25):
    d = len(rows[0][2]) + 1
    w = [0.0] * d
    for _ in range(iters):
        g = [0.0] * d
        h = [[0.0] * d for _ in range(d)]
        for _, y, f in rows:
            x = [1.0] + f
            z = sum(wi * xi for wi, xi in zip(w, x))
            p = 1.0 / (1.0 + math.exp(-max(-30, min(30, z))))
            for i in range(d):
                g[i] += (p - y) * x[i]
                for j in range(d):
                    h[i][j] += p * (1 - p) * x[i] * x[j]
        for i in range(1, d):
            g[i] += l2 * w[i]
            h[i][i] += l2
        step = solve(h, g)
        w = [wi - si for wi, si in zip(w, step)]
    return w


def conf(w, f):
    z = w[0] + sum(wi * fi for wi, fi in zip(w[1:], f))
    return 1.0 / (1.0 + math.exp(-z))


def curve(w, rows, t):
    sel = [y for _, y, f in rows if conf(w, f) >= t]
    return len(sel) / len(rows), (sum(sel) / len(sel) if sel else 0.0)


SENTENCE_FEATURES = [
    "coverage", "bm25", "context", "rank", "type", "top chunk", "bigram", "density", "length",
    "novel", "first", "chunk coverage", "type near", "rarest", "top document", "entity", "focus",
    "run", "new name", "new number", "type: number", "type: date", "type: person", "type: place",
    "near: number", "near: date", "near: person", "near: place", "coverage x density",
    "coverage squared", "coverage x rank", "coverage x chunk coverage"]


def load_sentences(path):
    """Questions of the .sentences file: (article, [(label, features)]), in file order."""
    questions = []
    last = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if p[0] != last:
                questions.append((int(p[1]), []))
                last = p[0]
            questions[-1][1].append((int(p[5]), [float(v) for v in p[8:]]))
    return questions


def questions_tokens(path):
    """As load_sentences, with each sentence's tokens beside."""
    out = []
    last = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if p[0] != last:
                out.append((int(p[1]), [], []))
                last = p[0]
            out[-1][1].append((int(p[5]), [float(v) for v in p[8:]]))
            out[-1][2].append(int(p[7]))
    return out


def fit_rank(questions, l2=0.01, iters=30):
    """Conditional logit: a softmax over each question's sentences whose target spreads evenly
    over the sentences holding a gold answer (questions without one are left out); Newton's
    method with each step capped at 2 per weight, L2 on the weights."""
    d = len(questions[0][1][0][1])
    w = [0.0] * d
    for _ in range(iters):
        g = [0.0] * d
        h = [[0.0] * d for _ in range(d)]
        for _, sents in questions:
            npos = sum(y for y, _ in sents)
            if npos == 0:
                continue
            zs = [sum(wi * fi for wi, fi in zip(w, f)) for _, f in sents]
            top = max(zs)
            es = [math.exp(z - top) for z in zs]
            tot = sum(es)
            ps = [e / tot for e in es]
            ex = [sum(p * f[c] for p, (_, f) in zip(ps, sents)) for c in range(d)]
            for p, (y, f) in zip(ps, sents):
                t = y / npos
                dx = [fc - ec for fc, ec in zip(f, ex)]
                for c in range(d):
                    g[c] += (p - t) * f[c]
                    pc = p * dx[c]
                    if pc != 0.0:
                        row = h[c]
                        for e in range(c, d):
                            row[e] += pc * dx[e]
        for c in range(d):
            for e in range(c):
                h[c][e] = h[e][c]
            g[c] += l2 * w[c]
            h[c][c] += l2
        step = solve(h, g)
        big = max(abs(v) for v in step)
        scale = 2.0 / big if big > 2.0 else 1.0
        w = [wi - scale * si for wi, si in zip(w, step)]
    return w


def rank_main(path):
    questions = load_sentences(path)
    articles = sorted({a for a, _ in questions})
    random.Random(13).shuffle(articles)
    half = set(articles[: len(articles) // 2])
    fit_q = [q for q in questions if q[0] in half]
    w = fit_rank(fit_q)
    # the intercept that makes the logistic of a sentence's logit its chance of holding an answer
    b = 0.0
    for _ in range(30):
        g = 0.0
        hh = 0.0
        for _, sents in fit_q:
            for y, f in sents:
                z = b + sum(wi * fi for wi, fi in zip(w, f))
                p = 1.0 / (1.0 + math.exp(-max(-30, min(30, z))))
                g += p - y
                hh += p * (1 - p)
        b -= max(-2.0, min(2.0, g / hh))
    print("/* sentence score weights (paste into extract.c, score_weights) */")
    for c, n in zip(w, SENTENCE_FEATURES):
        print("    %.4f, /* %s */" % (c, n))
    print("score_intercept = %.4f" % b)
    for name, qs in (("fit", fit_q), ("check", [q for q in questions if q[0] not in half])):
        good = 0
        for _, sents in qs:
            zs = [sum(wi * fi for wi, fi in zip(w, f)) for _, f in sents]
            good += sents[zs.index(max(zs))][0]
        print("%s half: the top sentence holds a gold answer for %.4f of %d questions" % (
            name, good / len(qs), len(qs)))
    # what a context of the best sentences can hold: the tokens, in score order, up to the
    # first sentence holding a gold answer
    need = []
    for _, sents, toks in questions_tokens(path):
        zs = [sum(wi * fi for wi, fi in zip(w, f)) for _, f in sents]
        order = sorted(range(len(sents)), key=lambda i: (-zs[i], i))
        used = 0
        for i in order:
            used += toks[i]
            if sents[i][0]:
                need.append(used)
                break
    n = len(questions)
    print("all questions: a gold answer within the best sentences of N tokens (score order): " +
          ", ".join("%d: %.4f" % (b, sum(1 for u in need if u <= b) / n)
                    for b in (240, 300, 400, 600, 1000)))


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--sentences":
        rank_main(sys.argv[2])
        return
    rows = load(sys.argv[1])
    articles = sorted({a for a, _, _ in rows})
    random.Random(13).shuffle(articles)
    half = set(articles[: len(articles) // 2])
    fit_rows = [r for r in rows if r[0] in half]
    check_rows = [r for r in rows if r[0] not in half]
    w = fit(fit_rows)
    names = ["prob", "logit", "chunk prob", "score", "margin", "coverage", "bm25", "context",
             "rank", "type", "retrieval margin", "top chunk", "bigram", "density",
             "chunk coverage", "length", "top document", "question: number", "question: date",
             "question: person", "question: place", "question terms"]
    print("/* coefficients (paste into xans_confidence) */")
    for n, c in zip(names, w[1:]):
        print("        %.4f, /* %s */" % (c, n))
    print("    intercept = %.4f" % w[0])
    thr = None
    for i in range(101):
        t = i / 100
        cov, sup = curve(w, fit_rows, t)
        if sup >= 0.90 and cov > 0:
            thr = t
            break
    print("threshold (support >= 0.90 on the fitting half): %s" % thr)
    print("threshold  fit:coverage support  check:coverage support")
    for t in [i / 10 for i in range(10)] + ([thr] if thr is not None else []):
        a = curve(w, fit_rows, t)
        b = curve(w, check_rows, t)
        print("%9.2f  %12.4f %7.4f  %14.4f %7.4f" % (t, a[0], a[1], b[0], b[1]))


if __name__ == "__main__":
    main()
