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

`squad_fit.py --sentences F.sentences` fits a sentence score (score_weights, or
score_weights_wv for a dump made with word vectors: `frugal eval squad --embedder glove`) from the
file written beside F, one line per candidate sentence of the top 10 chunks: id, article,
question type, sentence number, chunk, label, 1 for the answer, tokens, score, number within its
chunk, the question's top-5 tokens whole, then the features of enum xans_sfeature. Same halves;
a conditional logit (a softmax over each question's sentences, target spread over the sentences
holding a gold answer; Newton's method with step halving, L2 0.01), then the intercept that
calibrates each sentence's logistic. Prints the weights and how often the top sentence holds a
gold answer on each half. Needs numpy (python3-numpy, installed by `make setup-bench`).

`squad_fit.py --gain F.sentences F.contexts` tunes the compressed context of
src/answer/compress.c (FRUGAL_ASK_DEFAULT_CONTEXT_GAIN, capped at FRUGAL_ASK_DEFAULT_BUDGET) on
the fitting half by simulating it from the sentences' scores and tokens: the answer sentence,
then every other whose softmax share per token (share / (tokens + 1)) is at least the bound,
while they fit the cap; checked on the other half, beside the top-5 chunks whole (.contexts).
`squad_fit.py --contexts F.contexts [THRESHOLD]` reports the compressed context as measured, one
line per question in the file written beside F: support and token ratio on all questions, each
half, and the questions the router would send to a generator (confidence < THRESHOLD).
"""
import math
import random
import re
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
    "coverage squared", "coverage x rank", "coverage x chunk coverage", "wv: soft coverage",
    "wv: soft extra", "wv: soft high", "wv: cosine", "wv: chunk soft", "wv: chunk cosine"]


def halves(items, article):
    articles = sorted({article(x) for x in items})
    random.Random(13).shuffle(articles)
    half = set(articles[: len(articles) // 2])
    return ([x for x in items if article(x) in half], [x for x in items if article(x) not in half])


def load_sentence_table(path):
    """The .sentences file as arrays: per line the article, chunk, label, tokens, score, whole
    tokens and features; the index of each question's first line (and the end)."""
    import numpy as np
    ids, rows = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            ids.append(p[0])
            rows.append([float(v) for v in p[1:]])
    a = np.array(rows, dtype=np.float64)
    starts = [0] + [i for i in range(1, len(ids)) if ids[i] != ids[i - 1]] + [len(ids)]
    qids = [ids[i] for i in starts[:-1]]
    return a, np.array(starts), qids


def fit_half_mask(article):
    """Per line: whether its question's article is in the fitting half."""
    import numpy as np
    arts = sorted(set(article.astype(int).tolist()))
    random.Random(13).shuffle(arts)
    half = set(arts[: len(arts) // 2])
    return np.array([int(x) in half for x in article])


def fit_clogit(X, y, q, l2=0.01, iters=60):
    """Conditional logit by Newton's method with step halving: questions q (0..n-1, grouped),
    target y spread evenly over each question's positive lines (questions without one left
    out), L2 on the weights."""
    import numpy as np
    n = int(q.max()) + 1
    ysum = np.bincount(q, weights=y, minlength=n)
    keep = ysum[q] > 0
    X, y, q = X[keep], y[keep], q[keep]
    _, q = np.unique(q, return_inverse=True)
    n = int(q.max()) + 1
    t = y / np.bincount(q, weights=y, minlength=n)[q]
    d = X.shape[1]
    w = np.zeros(d)

    def loss(w):
        z = X @ w
        mx = np.full(n, -np.inf)
        np.maximum.at(mx, q, z)
        e = np.exp(z - mx[q])
        den = np.bincount(q, weights=e, minlength=n)
        return -(t * (z - mx[q] - np.log(den[q]))).sum() + 0.5 * l2 * (w @ w), e / den[q]
    cur, p = loss(w)
    for _ in range(iters):
        g = X.T @ (p - t) + l2 * w
        xp = np.zeros((n, d))
        np.add.at(xp, q, X * p[:, None])
        h = (X * p[:, None]).T @ X - xp.T @ xp + l2 * np.eye(d)
        step = np.linalg.solve(h, g)
        a = 1.0
        while True:
            nxt, p2 = loss(w - a * step)
            if nxt <= cur or a < 1e-4:
                break
            a *= 0.5
        w = w - a * step
        done = cur - nxt < 1e-9 * abs(cur)
        cur, p = nxt, p2
        if done:
            break
    return w


def rank_main(path):
    import numpy as np
    a, starts, _ = load_sentence_table(path)
    nq = len(starts) - 1
    qidx = np.repeat(np.arange(nq), np.diff(starts))
    label, feats = a[:, 4], a[:, 10:]
    fit = fit_half_mask(a[:, 0])
    w = fit_clogit(feats[fit], label[fit], qidx[fit])
    z = feats @ w
    # the intercept that makes the logistic of a sentence's logit its chance of holding an
    # answer on the fitting half (bisection: the summed residual falls as it grows)
    lo, hi = -60.0, 60.0
    for _ in range(80):
        b = (lo + hi) / 2
        pr = 1.0 / (1.0 + np.exp(-np.clip(z[fit] + b, -40, 40)))
        if (pr - label[fit]).sum() > 0:
            hi = b
        else:
            lo = b
    wv = bool(np.any(feats[:, len(SENTENCE_FEATURES) - 6:] != 0))
    print("/* sentence score weights (paste into extract.c, %s) */" %
          ("score_weights_wv" if wv else "score_weights"))
    for c, n in zip(w, SENTENCE_FEATURES):
        print("    %.4f, /* %s */" % (c, n))
    print("%s = %.4f" % ("score_intercept_wv" if wv else "score_intercept", b))
    chunk = a[:, 3]
    for name, m in (("fit", fit), ("check", ~fit)):
        good, total = 0, 0
        for qi in range(nq):
            lo_, hi_ = starts[qi], starts[qi + 1]
            if not m[lo_]:
                continue
            zz = np.where(chunk[lo_:hi_] < 5, z[lo_:hi_], -np.inf)
            good += label[lo_ + int(np.argmax(zz))] > 0
            total += 1
        print("%s half: the top sentence of the top 5 chunks holds a gold answer for %.4f of %d "
              "questions" % (name, good / total, total))


def gain_simulate(a, starts, whole_support, lams, cap):
    """compress_select's expected-gain pass at each bound in lams: per question, (holds a gold
    answer, tokens, top-5 tokens whole, top-5 whole support)."""
    import numpy as np
    chunk, label, tok, score, whole = a[:, 3], a[:, 4], a[:, 6], a[:, 7], a[:, 9]
    sc = np.clip(score, 1e-15, 1 - 1e-15)
    z = np.log(sc / (1 - sc))
    out = {lam: [] for lam in lams}
    for qi in range(len(starts) - 1):
        lo, hi = starts[qi], starts[qi + 1]
        zz = z[lo:hi]
        share = np.exp(zz - zz.max())
        share /= share.sum()
        t = tok[lo:hi]
        best = int(np.argmax(np.where(chunk[lo:hi] < 5, zz, -np.inf)))
        key = share / (t + 1.0)
        order = sorted(range(hi - lo), key=lambda i: (-key[i], i))
        for lam in lams:
            used = t[best]
            good = label[lo + best] > 0
            for i in order:
                if key[i] < lam:
                    break
                if i != best and used + t[i] + 1 <= cap:
                    used += t[i] + 1
                    good = good or label[lo + i] > 0
            out[lam].append((good, used, whole[lo], whole_support[qi]))
    return out


def gain_main(path, contexts_path):
    a, starts, qids = load_sentence_table(path)
    ws = {}
    with open(contexts_path, encoding="utf-8") as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            ws[p[0]] = int(p[6])
    whole_support = [ws[i] for i in qids]
    fit = fit_half_mask(a[:, 0])[starts[:-1]]
    header = re.search(r"#define FRUGAL_ASK_DEFAULT_BUDGET (\d+)",
                       open("include/frugal.h", encoding="utf-8").read())
    cap = int(header.group(1)) if header else 600
    lams = (0.0003, 0.0004, 0.00045, 0.0005, 0.00051, 0.00052, 0.00053, 0.00054, 0.00055, 0.0006,
            0.0007, 0.0008, 0.001)
    res = gain_simulate(a, starts, whole_support, lams, cap)

    def summary(rows, mask):
        sel = [r for r, m in zip(rows, mask) if m]
        return (sum(r[0] for r in sel) / len(sel), sum(r[1] for r in sel) / sum(r[2] for r in sel),
                sum(r[3] for r in sel) / len(sel))
    every = [True] * len(fit)
    f0, c0, a0 = (summary(res[lams[0]], m) for m in (fit, ~fit, every))
    print("top-5 chunks whole: fit half support %.4f, check half %.4f, all %.4f" % (
        f0[2], c0[2], a0[2]))
    print("cap %d tokens" % cap)
    print("     bound  fit:support  ratio  check:support  ratio  all:support  ratio")
    best = None
    for lam in lams:
        f, c, al = (summary(res[lam], m) for m in (fit, ~fit, every))
        print("  %.5f  %11.4f %6.4f  %13.4f %6.4f  %11.4f %6.4f" % (
            lam, f[0], f[1], c[0], c[1], al[0], al[1]))
        if f[1] <= 0.25 and (best is None or f[0] > best[1]):
            best = (lam, f[0])
    if best is not None:
        print("the most fitting-half support at a ratio <= 0.25: bound %.5f" % best[0])


def contexts_main(path, threshold):
    """The compressed context as measured (the .contexts file): support and token ratio on each
    half and on the questions the router sends to a generator (confidence < threshold)."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            rows.append((int(p[1]), float(p[2]), int(p[3]), int(p[4]), int(p[5]), int(p[6])))
    fit_r, check_r = halves(rows, lambda r: r[0])
    print("questions          n  context_support  ratio  top-5 whole support")
    for name, rs in (("all", rows), ("fit half", fit_r), ("check half", check_r)):
        for sub, sel in (("", rs), (" generated", [r for r in rs if r[1] < threshold])):
            if not sel:
                continue
            print("%-18s %5d  %15.4f %6.4f  %19.4f" % (
                name + sub, len(sel), sum(r[2] for r in sel) / len(sel),
                sum(r[3] for r in sel) / max(1, sum(r[4] for r in sel)),
                sum(r[5] for r in sel) / len(sel)))


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--sentences":
        rank_main(sys.argv[2])
        return
    if len(sys.argv) > 3 and sys.argv[1] == "--gain":
        gain_main(sys.argv[2], sys.argv[3])
        return
    if len(sys.argv) > 2 and sys.argv[1] == "--contexts":
        contexts_main(sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 0.70)
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
