#!/usr/bin/env python3
"""squad_fit.py - fits the extractive confidence model (src/answer/extract.c, xans_confidence).

Input: the TSV that `frugal eval squad FILE --features F` writes, one line per question:
id, article index, label (1 when the answer sentence contains a gold answer), confidence, then the
features in the order of enum xans_feature. The articles are shuffled with random.Random(13) and
split in two halves: the model is fitted on the first (logistic regression, Newton's method, L2
0.01 on the coefficients, not on the intercept) and checked on the second, where the printed
curve of coverage against support must hold up. Prints the C constants to paste into extract.c
and the threshold whose support on the fitting half is >= 0.90 (lowest such, in steps of 0.01).
Standard library only: the project's Python has no numpy.
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


def main():
    rows = load(sys.argv[1])
    articles = sorted({a for a, _, _ in rows})
    random.Random(13).shuffle(articles)
    half = set(articles[: len(articles) // 2])
    fit_rows = [r for r in rows if r[0] in half]
    check_rows = [r for r in rows if r[0] not in half]
    w = fit(fit_rows)
    names = ["score", "margin", "coverage", "bm25", "context", "rank", "type", "typed",
             "retrieval margin", "question terms"]
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
