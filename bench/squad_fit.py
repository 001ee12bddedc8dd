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
number, chunk, label, 1 for the answer, tokens, score, number within its chunk, the question's
top-5 tokens whole, then the features of enum xans_sfeature. Same
halves; a conditional logit (a softmax over each question's sentences, target spread over the
sentences holding a gold answer), then the intercept that calibrates each sentence's logistic.
Prints the weights and how often the top sentence holds a gold answer on each half. About three
minutes: the project's Python has no numpy, so this is the standard library only.

`squad_fit.py --budget F.sentences` tunes the adaptive context budget of src/answer/compress.c
(FRUGAL_ASK_DEFAULT_CONTEXT_MASS and the cap FRUGAL_ASK_DEFAULT_BUDGET) on the fitting half, by
simulating compress_select from the sentences' scores and tokens, and checks it on the other.
`squad_fit.py --deep F.sentences F.contexts` simulates contexts drawn from the top 5, 8 and 10
chunks (written with `frugal eval squad --context-chunks 10`): the best mass budget and the best
expected-gain budget at a ratio <= 0.25 on the fitting half, checked on the other.
`squad_fit.py --contexts F.contexts [THRESHOLD]` reports the compressed context as measured, one
line per question in the file written beside F: support and token ratio on all questions, each
half, and the questions the router would send to a generator (confidence < THRESHOLD).
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
            questions[-1][1].append((int(p[5]), [float(v) for v in p[11:]]))
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
            out[-1][1].append((int(p[5]), [float(v) for v in p[11:]]))
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


def halves(items, article):
    articles = sorted({article(x) for x in items})
    random.Random(13).shuffle(articles)
    half = set(articles[: len(articles) // 2])
    return ([x for x in items if article(x) in half], [x for x in items if article(x) not in half])


def load_candidates(path):
    """Questions of the .sentences file as compress_select sees them: the answer, and per
    sentence its label, tokens, score, chunk and number in the chunk; its selection order."""
    out = []
    last = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            p = line.rstrip("\n").split("\t", 11)
            if p[0] != last:
                out.append({"article": int(p[1]), "whole": int(p[10]), "best": None, "label": [],
                            "tokens": [], "score": [], "chunk": [], "index": []})
                last = p[0]
            q = out[-1]
            if p[6] == "1":
                q["best"] = len(q["label"])
            q["label"].append(int(p[5]))
            q["tokens"].append(int(p[7]))
            q["score"].append(float(p[8]))
            q["chunk"].append(int(p[4]))
            q["index"].append(int(p[9]))
    for q in out:
        keys = []
        for sc, t in zip(q["score"], q["tokens"]):
            sc = min(max(sc, 1e-12), 1 - 1e-12)
            keys.append(math.log(sc / (1 - sc)) - 0.5 * math.log(1 + t))  # COMPRESS_TOKEN_PENALTY
        q["order"] = sorted(range(len(keys)), key=lambda i: (-keys[i], i))
    return out


def select(q, budget):
    """compress_select's greedy pass at a budget: (holds a gold answer, tokens)."""
    n = len(q["tokens"])
    tok, sel = q["tokens"], [False] * n
    if q["best"] is None:
        return False, 0
    sel[q["best"]] = True
    used = tok[q["best"]]

    def take(i):
        nonlocal used
        t = tok[i] + (1 if used > 0 else 0)
        if not sel[i] and used + t <= budget:
            sel[i] = True
            used += t
    for i in q["order"]:
        take(i)
    ch, ix = q["chunk"], q["index"]
    for i in q["order"]:
        if sel[i]:
            if i > 0 and ch[i - 1] == ch[i] and ix[i - 1] + 1 == ix[i]:
                take(i - 1)
            if i + 1 < n and ch[i + 1] == ch[i] and ix[i + 1] == ix[i] + 1:
                take(i + 1)
    return any(y and s for y, s in zip(q["label"], sel)), used


def adaptive_budget(q, target, cap):
    """compress.c's adaptive_budget: tokens until the picked scores reach target of the sum."""
    if q["best"] is None:
        return 0
    total = sum(q["score"])
    used, mass = 0, 0.0
    for i in [q["best"]] + [i for i in q["order"] if i != q["best"]]:
        used += q["tokens"][i] + (1 if used > 0 else 0)
        mass += q["score"][i] / total if total > 0 else 1.0
        if mass >= target or used >= cap:
            break
    return min(used, cap)


def simulate(qs, budget):
    good, tokens, whole = 0, 0, 0
    for q in qs:
        g, t = select(q, budget(q))
        good += g
        tokens += t
        whole += q["whole"]
    return good / len(qs), tokens / whole


def budget_main(path):
    """Tunes the adaptive context budget (compress.c) on the fitting half: the target share of
    the summed sentence scores and the cap with the most context support at a token ratio <=
    0.25; prints the best few, the check half's figures and a fixed budget's for comparison.
    A simulation of compress_select from the .sentences file (it counts the separators as the
    budget does; the rendered context's count is a little lower)."""
    qs = load_candidates(path)
    fit_q, check_q = halves(qs, lambda q: q["article"])
    results = []
    for target in [0.60 + 0.02 * i for i in range(16)]:
        for cap in (300, 400, 500, 600, 100000):
            sup, ratio = simulate(fit_q, lambda q: adaptive_budget(q, target, cap))
            results.append((sup, -ratio, target, cap))
    ok = sorted((r for r in results if -r[1] <= 0.25), reverse=True)[:5]
    print("target   cap  fit:support  ratio  check:support  ratio  (adaptive budget)")
    for sup, ratio, target, cap in ok:
        c = simulate(check_q, lambda q: adaptive_budget(q, target, cap))
        print("%6.2f %5s  %11.4f %6.4f  %13.4f %6.4f" % (
            target, cap if cap < 100000 else "none", sup, -ratio, c[0], c[1]))
    for b in (240, 300, 400):
        f = simulate(fit_q, lambda q: b)
        c = simulate(check_q, lambda q: b)
        print("fixed %4d  %11.4f %6.4f  %13.4f %6.4f" % (b, f[0], f[1], c[0], c[1]))


def deep_restrict(q, n_chunks):
    """q's candidates of the top n_chunks chunks, the best of them as the answer, in
    compress_select's order."""
    keep = [i for i in range(len(q["label"])) if q["chunk"][i] < n_chunks]
    r = {k: [q[k][i] for i in keep] for k in ("label", "tokens", "score", "chunk", "index")}
    r["whole"], r["conf"], r["whole_support"] = q["whole"], q["conf"], q["whole_support"]
    r["best"] = max(range(len(keep)), key=lambda j: (r["score"][j], -j)) if keep else None
    keys = []
    for sc, t in zip(r["score"], r["tokens"]):
        sc = min(max(sc, 1e-12), 1 - 1e-12)
        keys.append(math.log(sc / (1 - sc)) - 0.5 * math.log(1 + t))
    r["order"] = sorted(range(len(keys)), key=lambda i: (-keys[i], i))
    return r


def marginal_budget(q, lam):
    """A budget by expected gain per token: after the answer sentence, whose chance of holding
    the answer is the question's confidence, each next sentence in selection order is paid for
    while (the chance that none so far holds it) x (its score) / sqrt(its tokens) >= lam."""
    if q["best"] is None:
        return 0
    used = q["tokens"][q["best"]]
    miss = 1.0 - q["conf"]
    for i in q["order"]:
        if i == q["best"]:
            continue
        t = q["tokens"][i] + 1
        if miss * q["score"][i] / math.sqrt(t) < lam:
            break
        used += t
        miss *= 1.0 - q["score"][i]
    return used


def deep_main(path, contexts_path):
    """Contexts drawn from deeper chunks than the top 5 (`frugal eval squad --features F
    --context-chunks N`): for the top 5, 8 and 10 chunks, the best adaptive (mass) budget and
    the best expected-gain budget (marginal_budget) at a token ratio <= 0.25 of the top-5 chunks
    whole on the fitting half, and the same settings on the check half; then the expected-gain
    budget's support against its ratio on the top 10 chunks; simulated (the answer sentence is
    the best of the chunks used, so it can differ from frugal_ask's top-5 one)."""
    qs = load_candidates(path)
    extra = {}
    with open(contexts_path, encoding="utf-8") as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            extra[p[0]] = (float(p[2]), int(p[6]))
    with open(path, encoding="utf-8") as f:
        ids = []
        for line in f:
            i = line.split("\t", 1)[0]
            if not ids or ids[-1] != i:
                ids.append(i)
    for q, i in zip(qs, ids):
        q["conf"], q["whole_support"] = extra[i]
    fit_q, check_q = halves(qs, lambda q: q["article"])
    print("top-5 chunks whole: fit half support %.4f, check half %.4f" % (
        sum(q["whole_support"] for q in fit_q) / len(fit_q),
        sum(q["whole_support"] for q in check_q) / len(check_q)))
    print("chunks  budget                 fit:support  ratio  check:support  ratio")
    for n_chunks in (5, 8, 10):
        f_q = [deep_restrict(q, n_chunks) for q in fit_q]
        c_q = [deep_restrict(q, n_chunks) for q in check_q]
        rules = [("mass %.2f cap %d" % (t, c), (lambda q, t=t, c=c: adaptive_budget(q, t, c)))
                 for t in (0.64, 0.68, 0.72, 0.76, 0.80) for c in (300, 400, 600)]
        rules += [("gain %.5f" % lam, (lambda q, lam=lam: marginal_budget(q, lam)))
                  for lam in (0.0007, 0.0008, 0.0009, 0.00095, 0.0010, 0.0011, 0.0013)]
        best = {}
        for name, rule in rules:
            sup, ratio = simulate(f_q, rule)
            kind = name.split()[0]
            if ratio <= 0.25 and (kind not in best or sup > best[kind][0]):
                best[kind] = (sup, ratio, name, rule)
        for kind in ("mass", "gain"):
            if kind in best:
                sup, ratio, name, rule = best[kind]
                c = simulate(c_q, rule)
                print("%6d  %-21s  %11.4f %6.4f  %13.4f %6.4f" % (
                    n_chunks, name, sup, ratio, c[0], c[1]))
    print("the expected-gain budget on the top 10 chunks, every lam (support against ratio):")
    f_q = [deep_restrict(q, 10) for q in fit_q]
    c_q = [deep_restrict(q, 10) for q in check_q]
    for lam in (0.0006, 0.0007, 0.0008, 0.0009, 0.00095, 0.0010):
        f = simulate(f_q, lambda q: marginal_budget(q, lam))
        c = simulate(c_q, lambda q: marginal_budget(q, lam))
        print("%6d  %-21s  %11.4f %6.4f  %13.4f %6.4f" % (
            10, "gain %.5f" % lam, f[0], f[1], c[0], c[1]))


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
    if len(sys.argv) > 2 and sys.argv[1] == "--budget":
        budget_main(sys.argv[2])
        return
    if len(sys.argv) > 3 and sys.argv[1] == "--deep":
        deep_main(sys.argv[2], sys.argv[3])
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
