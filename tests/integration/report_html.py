#!/usr/bin/python3
"""`trailkeep report VERIFY.json -o FILE` (README "report"), checked in a real
browser: Debian's chromium, headless.

A real `verify --json` against the fake AWS (the world of validate_fakeaws.py:
an organization trail, 3 simulated hours; then one member denied for 2 more
hours, and a log object whose key is HTML markup put under another member's
prefix) is rendered with `trailkeep report` (and by verify itself with --html), then
chromium
  - takes a screenshot (--screenshot): a PNG whose pixels include the ok and
    the findings colors of the grid;
  - dumps the DOM after rendering (--dump-dom), parsed with html.parser: the
    grid's cells and their status classes are exactly the JSON's cells, each
    shows the delivery age computed from newest_delivery and the run's time,
    every finding is listed under its cell with its hint, the window, the time
    of the run and the config's name are shown, and the hostile key is text:
    no <img>, <script>, event handler or external reference in the DOM.
A second document (a role that cannot be assumed: every cell unchecked) gives
an all-unchecked grid.  `verify --merge` keeps the shards' "run" only when
they agree; a document without one says so.  Usage errors, a document verify never writes and an
output that is a symbolic link are refused.
Prints PASS:/FAIL: lines; exit 1 on any failure.
"""

import html.parser
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, TOP)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tests.fakeaws.control import FakeAWS  # noqa: E402
from tests.fakeaws.testing import Checks  # noqa: E402
import validate_fakeaws as vf  # noqa: E402

TK = os.environ.get("TRAILKEEP_BIN") or os.path.join(TOP, "trailkeep")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
check = Checks(limit=3000)
# markup in an S3 key (no '/': it is one file name)
HOSTILE = "<img src=x onerror=\"document.title='pwned'\"><svg onload=alert(1)><script>alert(2)\"'&amp;"
OK_RGB = (0xb9, 0xe4, 0xbd)        # td.status-ok in src/checks/report_html.c
FINDINGS_RGB = (0xf4, 0xb4, 0xb4)  # td.status-findings (an error finding)


def age(now, then):
    """tk_format_age (src/core/timeutil.h): 42s, 5m, 3h07m, 2d04h."""
    d = max(0, now - then)
    if d < 60:
        return "%ds" % d
    if d < 3600:
        return "%dm" % (d // 60)
    if d < 86400:
        return "%dh%02dm" % (d // 3600, d % 3600 // 60)
    return "%dd%02dh" % (d // 86400, d % 86400 // 3600)


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class Dom(html.parser.HTMLParser):
    """What the browser rendered: the grid's cells, the finding groups, the
    run description, every tag and attribute."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags = []          # (tag, attrs dict)
        self.cells = []         # dicts: account, region, status, classes, text
        self.groups = []        # dicts: account, region, findings: [dict]
        self.ids = {}           # id -> text
        self.stack = []         # open elements: (tag, attrs, text list)
        self.pending = []       # the findings of the section being read
        self.parts = {}         # the parts of the finding being read

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag in ("meta", "br", "img", "link", "input", "hr"):
            return
        self.stack.append((tag, a, []))

    def handle_endtag(self, tag):
        while self.stack:
            t, a, text = self.stack.pop()
            s = "".join(text)
            for _, _, outer in self.stack:
                outer.append(s)
            cls = (a.get("class") or "").split()
            if t == "td" and "cell" in cls:
                self.cells.append({"account": a.get("data-account"), "region": a.get("data-region"),
                                   "status": a.get("data-status"), "classes": cls, "text": s})
            if "id" in a:
                self.ids[a["id"]] = s
            if t == "section" and "group" in cls:
                self.groups.append({"account": a.get("data-account") or None,
                                    "region": a.get("data-region") or None,
                                    "findings": self.pending, "id": a.get("id")})
                self.pending = []
            if t == "li" and "finding" in cls:
                self.pending.append({"classes": cls, "text": s, "parts": dict(self.parts)})
                self.parts = {}
            if t in ("code", "span", "p", "div") and self.stack and \
                    any(x == "finding" for x in (self.stack[-1][1].get("class") or "").split()):
                for c in cls:
                    self.parts[c] = s
            if t == tag:
                break

    def handle_data(self, data):
        if self.stack:
            self.stack[-1][2].append(data)


def chromium(*args, tmp):
    prof = tempfile.mkdtemp(dir=tmp, prefix="chrome-")
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + prof,
           "--no-first-run", "--disable-extensions", "--disable-background-networking",
           "--hide-scrollbars", "--force-device-scale-factor=1"] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, HOME=prof))


def png_colors(path):
    """The set of (r, g, b) in an 8-bit non-interlaced PNG (RGB or RGBA), decoded here."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return None
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            if depth != 8 or ctype not in (2, 6) or interlace:
                return None
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * bpp
    prev = bytearray(stride)
    colors = set()
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        for x in range(0, stride, bpp):
            colors.add((line[x], line[x + 1], line[x + 2]))
        prev = line
    return colors


def report(doc_path, out, *extra):
    return subprocess.run([TK, "report", doc_path, "-o", out] + list(extra), capture_output=True,
                          text=True, timeout=60, env=dict(os.environ, TRAILKEEP_NOW="2026-01-02T00:00:00Z"))


def render_dom(page, tmp):
    p = chromium("--dump-dom", "file://" + page, tmp=tmp)
    d = Dom()
    d.feed(p.stdout)
    d.close()
    return p, d


def check_page(doc, page, tmp, label, now, cfg):
    p, dom = render_dom(page, tmp)
    check(p.returncode == 0 and "</html>" in p.stdout, "%s: chromium --dump-dom rendered the page" % label,
          p.stderr[-800:])
    want = sorted((c["account"], c["region"], c["status"]) for c in doc["cells"])
    got = sorted((c["account"], c["region"], c["status"]) for c in dom.cells)
    check(want == got and len(want) > 0, "%s: the rendered grid has exactly the JSON's cells with their "
          "status (%d cells)" % (label, len(want)), (want, got))
    check(all("status-" + c["status"] in c["classes"] for c in dom.cells),
          "%s: each rendered cell's class is status-<its JSON status>" % label,
          [c for c in dom.cells if "status-" + c["status"] not in c["classes"]][:3])
    by = {(c["account"], c["region"]): c for c in doc["cells"]}
    bad = []
    for c in dom.cells:
        j = by.get((c["account"], c["region"]))
        want_age = ("newest " + age(now, j["newest_delivery"])) if j and j["newest_delivery"] \
            else "no delivery"
        if not j or want_age not in c["text"]:
            bad.append((c, want_age))
    check(not bad, "%s: each cell shows its delivery age (newest_delivery to the run's time)" % label, bad[:3])
    # findings grouped by cell, with their hints
    fkeys = sorted((f["account"], f["region"], f["code"], f["message"], f["hint"]) for f in doc["findings"])
    gkeys = sorted((g["account"], g["region"], x["parts"].get("code"), x["parts"].get("msg"),
                    x["parts"].get("hint")) for g in dom.groups for x in g["findings"])
    check(fkeys == gkeys, "%s: every finding is listed under its cell with its message and hint (%d)"
          % (label, len(fkeys)), (fkeys[:3], gkeys[:3]))
    linked = [c for c in dom.cells if c["status"] != "ok"]
    run = doc.get("run") or {}
    check(dom.ids.get("run-config") == cfg and dom.ids.get("run-time") == iso(now) and
          dom.ids.get("run-window") == "%s .. %s" % (iso(run["window"]["start"]), iso(run["window"]["end"])),
          "%s: the config's name, the time of the run and the window are shown" % label,
          (dom.ids, run))
    external = [(t, a) for t, a in dom.tags if t in ("script", "img", "link", "iframe", "object", "embed")
                or any(k.startswith("on") for k in a)
                or any(k in ("src", "href") and not (v or "").startswith("#") for k, v in a.items())]
    check(not external, "%s: no script, image, event handler or external reference in the DOM "
          "(self-contained, nothing injected)" % label, external[:5])
    return dom, linked


def main():
    t0 = time.time()
    if not os.path.exists(CHROMIUM):
        check(False, "chromium is installed (make deps)")
        return 1
    fa = FakeAWS(seed=16, stderr=subprocess.DEVNULL)
    tmp = tempfile.mkdtemp(prefix="tk-report-")
    try:
        run(fa, tmp)
    finally:
        fa.stop()
        subprocess.run(["rm", "-rf", tmp])
    print("# report_html: %.1f s" % (time.time() - t0))
    return 1 if check.failures else 0


def run(fa, tmp):
    w = vf.build_world(fa, members=3, kms=True)
    cfg = os.path.join(tmp, "org.ini")
    vf.org_config(w, cfg)
    victim, marked = w["members"][0]["id"], w["members"][1]["id"]
    fa.post("tamper", kind="deny_account", trail=w["arn"], account=victim)
    fa.post("advance", seconds=2 * 3600)
    now_s, now = "2026-01-01T05:00:00Z", 1767243600
    # a log file name (ACCT_CloudTrail_REGION_TIME_...) no digest lists: log_unreferenced names it
    key = "AWSLogs/%s/%s/CloudTrail/eu-west-1/2026/01/01/%s_CloudTrail_eu-west-1_20260101T0130Z_%s.json.gz" % (
        w["oid"], marked, marked, HOSTILE)
    r = vf.aws(fa, w["la"], "s3api", "put-object", "--bucket", vf.BUCKET, "--key", key, "--body", cfg)
    check(r.returncode == 0, "a log object with markup in its key is put", r.stderr[-300:])

    vpage = os.path.join(tmp, "verify.html")
    p = vf.run_verify(fa, w, now_s, [cfg, "--json", "--since", "5h", "--html", vpage])
    doc = vf.json_of(p)
    check(p.returncode == 1 and doc is not None, "verify --json: exit 1 (findings)", p.stderr[-500:])
    if not doc:
        return
    docp = os.path.join(tmp, "verify.json")
    with open(docp, "w") as f:
        f.write(p.stdout)
    statuses = {c["status"] for c in doc["cells"]}
    keyed = [f for f in doc["findings"] if f["key"] == key]
    check({"ok", "findings"} <= statuses and keyed and doc.get("run", {}).get("config") == cfg and
          doc["run"]["time"] == now and doc["run"]["window"] == {"start": now - 5 * 3600, "end": now},
          "verify --json: ok and findings cells, a finding names the hostile key, \"run\" has the config, "
          "time and window", (statuses, [f["code"] for f in doc["findings"]], doc.get("run")))

    page = os.path.join(tmp, "report.html")
    r = report(docp, page)
    check(r.returncode == 0 and os.path.isfile(page) and r.stdout == "",
          "report VERIFY.json -o FILE: exit 0, the page written", r.stderr[-500:])
    check(not [n for n in os.listdir(tmp) if ".tmp." in n], "report: no temporary file left behind")
    raw = open(page, encoding="utf-8").read() if os.path.isfile(page) else ""
    check("<script" not in raw and HOSTILE not in raw and "&lt;img src=x" in raw,
          "the page as written: the key's markup is escaped text")

    png = os.path.join(tmp, "report.png")
    s = chromium("--screenshot=" + png, "--window-size=1400,1000", "file://" + page, tmp=tmp)
    colors = png_colors(png) if os.path.isfile(png) else None
    check(colors is not None and OK_RGB in colors and FINDINGS_RGB in colors,
          "chromium --screenshot: a PNG with the ok and the findings colors of the grid",
          (s.returncode, s.stderr[-500:], colors and len(colors)))

    dom, _ = check_page(doc, page, tmp, "findings", now, cfg)
    # verify --html: the same page, written by verify itself
    check(os.path.isfile(vpage), "verify --html FILE wrote the page")
    if os.path.isfile(vpage):
        vdom, _ = check_page(doc, vpage, tmp, "verify --html", now, cfg)
        check(sorted(map(str, vdom.cells)) == sorted(map(str, dom.cells)) and
              [g["findings"] for g in vdom.groups] == [g["findings"] for g in dom.groups],
              "verify --html: the grid and findings of 'report' of its --json")
    hostile_text = [x for g in dom.groups for x in g["findings"] if key in x["parts"].get("obj", "")]
    check(hostile_text and all(g["account"] == marked for g in dom.groups
                               for x in g["findings"] if x in hostile_text),
          "the hostile key is shown as text (s3://bucket/key) under its account's cell",
          [g["findings"] for g in dom.groups][:2])
    vic = [c for c in dom.cells if c["account"] == victim]
    check(vic and all(c["status"] == "findings" and "worst-error" in c["classes"] for c in vic),
          "the denied member's cells are findings with an error", vic)

    # --merge keeps the shards' "run" when they all have the same one, else leaves it out
    shards = []
    for k, since in ((1, "5h"), (2, "5h"), (2, "4h")):
        q = vf.run_verify(fa, w, now_s, [cfg, "--json", "--since", since, "--no-integrity", "--shard",
                                         "%d/2" % k])
        sp = os.path.join(tmp, "shard-%d-%s.json" % (k, since))
        with open(sp, "w") as f:
            f.write(q.stdout)
        shards.append(sp)
    mpage = os.path.join(tmp, "merged.html")
    same = vf.run_verify(fa, w, now_s, [cfg, "--json", "--merge", shards[0], shards[1], "--html", mpage])
    mixed = vf.run_verify(fa, w, now_s, [cfg, "--json", "--merge", shards[0], shards[2]])
    ds, dm = vf.json_of(same), vf.json_of(mixed)
    check(ds is not None and ds.get("run") == doc["run"] and dm is not None and "run" not in dm,
          "--merge: the shards' \"run\" kept when they agree, left out when they differ",
          (ds and ds.get("run"), dm and dm.get("run"), same.stderr[-300:], mixed.stderr[-300:]))
    if ds is not None and os.path.isfile(mpage):
        _, mdom = render_dom(mpage, tmp)
        check(sorted((c["account"], c["region"], c["status"]) for c in mdom.cells) ==
              sorted((c["account"], c["region"], c["status"]) for c in ds["cells"]) and
              mdom.ids.get("run-time") == iso(now),
              "verify --merge --html: the page of the merged run (cells, run)", mdom.ids)
    else:
        check(False, "verify --merge --html wrote the page", same.stderr[-300:])
    if dm is not None:
        mp = os.path.join(tmp, "mixed.json")
        with open(mp, "w") as f:
            f.write(mixed.stdout)
        r = report(mp, "-")
        check(r.returncode == 0 and '<dd id="run-time">not recorded</dd>' in r.stdout and
              "Delivery ages as of 2026-01-02T00:00:00Z" in r.stdout,
              "report of a document without \"run\": run not recorded, ages at the report's clock", r.stderr)

    # every cell unchecked: a role that cannot be assumed
    cfg2 = os.path.join(tmp, "norole.ini")
    vf.org_config(w, cfg2, assume_role="NoSuchRole")
    p = vf.run_verify(fa, w, now_s, [cfg2, "--json", "--since", "5h", "--no-integrity"])
    doc2 = vf.json_of(p)
    check(p.returncode == 3 and doc2 is not None, "verify --json, role not assumable: exit 3", p.stderr[-500:])
    if doc2:
        docp2 = os.path.join(tmp, "unchecked.json")
        with open(docp2, "w") as f:
            f.write(p.stdout)
        page2 = os.path.join(tmp, "unchecked.html")
        r = report(docp2, page2)
        check(r.returncode == 0, "report of the unchecked run: exit 0", r.stderr[-300:])
        dom2, _ = check_page(doc2, page2, tmp, "unchecked", now, cfg2)
        check(dom2.cells and all(c["status"] == "unchecked" for c in dom2.cells),
              "unchecked run: every rendered cell is unchecked")

    # refused: a document verify never writes, usage, an output that is a link
    bad = dict(doc)
    bad["cells"] = [dict(doc["cells"][0], status="<b>green</b>")]
    badp = os.path.join(tmp, "bad.json")
    with open(badp, "w") as f:
        json.dump(bad, f)
    r = report(badp, os.path.join(tmp, "bad.html"))
    check(r.returncode == 2 and "status" in r.stderr and not os.path.exists(os.path.join(tmp, "bad.html")),
          "a cell status verify never writes: exit 2, nothing written", r.stderr)
    target = os.path.join(tmp, "precious")
    with open(target, "w") as f:
        f.write("precious\n")
    os.symlink(target, os.path.join(tmp, "link.html"))
    r = report(docp, os.path.join(tmp, "link.html"))
    check(r.returncode == 3 and "symbolic link" in r.stderr and open(target).read() == "precious\n",
          "an output that is a symbolic link: refused (exit 3), nothing written through it", r.stderr)
    r = subprocess.run([TK, "report", docp], capture_output=True, text=True)
    check(r.returncode == 2 and "-o FILE" in r.stderr and r.stdout == "", "report without -o: usage, exit 2",
          r.stderr)


if __name__ == "__main__":
    sys.exit(main())
