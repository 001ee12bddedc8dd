#!/usr/bin/env python3
"""Writes sample.pdf, a minimal two-page text PDF built by hand (one Helvetica font, absolute
text positions, a correct xref table), and corrupt.pdf (a PDF header followed by garbage).
The outputs are committed; rerun from this folder only when the test document changes.
Check with: pdftotext -layout sample.pdf -"""

PAGES = [
    # (x, y, text) in points from the bottom-left corner of a US Letter page
    [(72, 720, "Frugal PDF Sample"),
     (72, 706, "second line of the first paragraph"),
     (72, 650, "Left column"),
     (400, 650, "Right column")],
    [(72, 720, "Page two text.")],
]


def esc(s):
    return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def stream(lines):
    ops = ["BT /F1 12 Tf 1 0 0 1 %d %d Tm (%s) Tj ET" % (x, y, esc(t)) for x, y, t in lines]
    return "\n".join(ops).encode("ascii")


def build():
    n_pages = len(PAGES)
    # objects: 1 catalog, 2 pages, 3 font, then per page: page object, content stream
    objs = {}
    objs[1] = b"<< /Type /Catalog /Pages 2 0 R >>"
    kids = " ".join("%d 0 R" % (4 + 2 * i) for i in range(n_pages))
    objs[2] = ("<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, n_pages)).encode()
    objs[3] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
    for i, lines in enumerate(PAGES):
        page, content = 4 + 2 * i, 5 + 2 * i
        objs[page] = ("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                      "/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>"
                      % content).encode()
        data = stream(lines)
        objs[content] = b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for num in sorted(objs):
        offsets[num] = len(out)
        out += b"%d 0 obj\n" % num + objs[num] + b"\nendobj\n"
    xref = len(out)
    count = max(objs) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % count
    for num in range(1, count):
        out += b"%010d 00000 n \n" % offsets[num]
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (count, xref)
    return bytes(out)


open("sample.pdf", "wb").write(build())
open("corrupt.pdf", "wb").write(b"%PDF-1.4\n" + bytes(range(7, 200)) * 4 + b"\n%%EOF\n")
