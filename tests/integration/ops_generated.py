#!/usr/bin/python3
"""The operations pieces of issue 16 on GENERATED configurations ("test the
space, not the example"): organization mode here, per-account mode in
ops_generated_peraccount.py (which imports this file).

For each world (a config from tests/matrix/gen.py, with [monitoring] when the
generator picks it, built and applied by tests/matrix/world.py, 2 simulated
hours delivered, on a pinned clock) three
states are checked, each on a fresh copy of the healthy world:
  clean      an account left out on purpose ([organization] exclude_accounts:
             an organization member nobody configured, or logs of an unknown
             account): no finding, exit 0;
  break      one break of tests/matrix/catalogue.py, chosen by the seed among
             the ones whose integrity side is known, plus a log object whose
             key is HTML markup (log_unreferenced, README "Log file integrity")
             and the config at a path that is HTML markup;
  unchecked  a call failed by the fake (README "Fail closed"): per-account
             mode GetTrailStatus of one trail owner (its cells), organization
             mode the central bucket's listing (every cell).
Expected verdicts come from the catalogue (README tables) and the README's
severity table, exit table, shard rule, metrics table, alert table and the
report's colors, never from the tool's output.  Per state:
  - one unsharded `verify --json --metrics --state --html` run: the findings
    per cell are the catalogue's, the exit code the README's;
  - Kubernetes (break: N in {2,3,5} and one N larger than the number of
    cells; unchecked: that larger N): the Indexed Job's command line from
    deploy/kubernetes (the Kustomize base resolved, N set by the one edit)
    run with JOB_COMPLETION_INDEX 0..N-1 at once: each shard's document holds exactly the cells of the
    README's rule (sorted by account, region; cell i to shard i mod N + 1),
    shard 1's merge equals the unsharded --json document and metrics file
    (byte for byte), and `verify --merge` of the shard documents exits as the
    unsharded run;
  - Prometheus: `promtool check metrics`; trailkeep_cell_status per cell is
    the README's status of the expected findings; `promtool test rules` on
    the run's series: exactly the alerts the README's alert table derives from
    the expected findings, with account/region/code labels (none on a clean
    config); the not-run alert after 2 hours of the same last-run value;
  - the HTML page, rendered by headless Chromium (--dump-dom): one cell per
    configured account x region, a dash elsewhere in the grid, each cell
    colored (by the page's own CSS) as the README says for its expected
    findings, excluded accounts nowhere, the hostile key and config path as
    text, no script, image, handler or external reference;
  - systemd (break state): the unit is config-path dependent (ExecStart names
    /etc/trailkeep/org.ini); the README's way to change it, a drop-in with
    ExecStart= reset, is checked with `systemd-analyze verify`, and the
    resulting command line runs the generated config against the fake with
    the environment file's variables: same metrics as the unsharded run.
Once (this script): `make install DESTDIR=...`, then the installed release
binary's `plan` of every generated config (both modes) equals the checkout's.
Prints PASS:/FAIL: lines; exit 1 on any failure.
"""

import colorsys
import copy
import gzip
import html.parser
import json
import os
import random
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, TOP)
sys.path.insert(0, HERE)

from tests.fakeaws.testing import Checks, make_install  # noqa: E402
from tests.matrix import breaks as B  # noqa: E402
from tests.matrix.catalogue import EXPECT  # noqa: E402
from tests.matrix.gen import MGMT, gen  # noqa: E402
from tests.matrix.run import Result, Runner, check_verify  # noqa: E402
from tests.matrix.world import TK, World  # noqa: E402
import deploy_kubernetes as dk  # noqa: E402
import deploy_prometheus as dp  # noqa: E402

check = Checks(limit=2500)
BASE = os.path.join(TOP, "deploy", "kubernetes", "base")
RULES = os.path.join(TOP, "deploy", "prometheus", "trailkeep-rules.yml")
SD = os.path.join(TOP, "deploy", "systemd")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
BUILD = os.environ.get("BUILD", "build/default")
HOSTILE = "<img src=x onerror=\"document.title='pwned'\"><svg onload=alert(1)><script>alert(2)\"'&amp;"
HOSTILE_DIR = "cfg <b>bold</b> <img src=x onerror=alert(3)> \"q\" 'a'&amp;"

# The worlds: (seed, mode, forced fields).  Forced fields only where a break
# needs them; the seed varies the rest (accounts, regions, prefix, roles...).
WORLDS = {
    "organization": [(1601, {"n_accounts": 4, "multi_region": True}), (1619, {})],
    "per-account": [(1611, {"multi_region": True}), (1618, {})],
}
# more worlds (OPS_MORE=1; about twice the time)
MORE = {"organization": [(1605, {})], "per-account": [(1612, {"n_accounts": 3})]}
# breaks whose integrity side is known (no key or location change: verify
# with integrity, as the Kubernetes job runs it, adds nothing to the
# catalogue's --no-integrity findings but the injected log_unreferenced)
BREAKS = ["trail_not_logging", "bucket_policy_deny_statement", "validation_off", "region_no_logs",
          "global_events_duplicated", "selectors_read_only", "trail_deleted", "account_left_org",
          "trusted_access_off"]
# what these breaks add with integrity on (README "Log file integrity")
INTEGRITY_SIDE = {"region_no_logs": {"cell": {"digest_missing"}}}
# README "`verify` and `validate`", Findings and severity
WARNINGS = {"global_events_duplicated", "prefix_unexpected", "account_unconfigured",
            "access_log_stale", "access_log_none"}
INTEGRITY = re.compile(r"^(digest_|log_)")
# README "Alerts": the codes with their own alert
OWN = {"cell_unchecked", "delivery_stale", "delivery_none"}
EXCLUDED_MEMBER = "100000000077"
SYSTEMD_NEGATIVE = [True]
PROMTOOL_NEGATIVE = [True]


def severity(code):
    return "warning" if code in WARNINGS else "error"


def status_of(codes):
    """README metrics table: unchecked (cell_unchecked), red (an error),
    warning (only warnings), ok."""
    if "cell_unchecked" in codes:
        return "unchecked"
    if any(severity(c) == "error" for c in codes):
        return "red"
    return "warning" if codes else "ok"


def exit_of(codes_by_cell, stray=()):
    """README exit table: 3 a cell unchecked, 1 an error finding, 0 otherwise."""
    allc = set(stray)
    for v in codes_by_cell.values():
        allc |= v
    if "cell_unchecked" in allc:
        return 3
    return 1 if any(severity(c) == "error" for c in allc) else 0


# ------------------------------------------------------------------ expectations
class Expect:
    """The expected findings of a state: exp (catalogue format) and kinds."""

    def __init__(self, cfg, cells, kinds, exp, labels=None, excluded=None):
        self.cfg, self.cells, self.kinds, self.exp = cfg, cells, kinds, exp
        self.labels = labels or {}
        self.excluded = excluded

    def predicted(self, doc):
        """{cell: codes}: the required codes, plus the codes the catalogue
        allows ("may") that the run reported there (check_verify has checked
        they are allowed)."""
        got = {}
        for f in (doc or {}).get("findings", []):
            if f.get("region") is not None:
                got.setdefault((f["account"], f["region"]), set()).add(f["code"])
        out = {c: set() for c in self.cells}
        for c in self.cells:
            for k, codes in self.exp.get("verify", {}).items():
                if c in self.kinds.get(k, ()):
                    out[c] |= codes
            for k, codes in list(self.exp.get("verify_may", {}).items()) + \
                    list(self.exp.get("verify_any", {}).items()):
                if c in self.kinds.get(k, ()):
                    out[c] |= codes & got.get(c, set())
        return out

    def stray(self):
        return [code for code, _ in self.exp.get("extra", [])]


def advance_of(cfg, name):
    """How long the break is left to act (tests/matrix/run.py's rule)."""
    exp = EXPECT[name]
    adv = exp.get("advance", cfg.max_age[1] + 900)
    if exp.get("advance_cw"):
        adv = max(cfg.max_age[1], cfg.cw_max_age()) + 900
    if exp.get("advance_access"):
        adv = cfg.access_max_age() + 3600
    return adv


def expect_break(cfg, ctx, name, cells, hostile_cell):
    exp = copy.deepcopy(EXPECT[name])
    if hasattr(Runner, "monitoring_may"):
        # what [monitoring] may add (catalogue mon_may, the access logs' age)
        exp = Runner.monitoring_may(cfg, exp, advance_of(cfg, name))
    kinds = Runner("/tmp").kinds(cfg, ctx, cells, exp.get("scope"))
    kinds["hostile"] = [hostile_cell]
    exp.setdefault("verify", {})["hostile"] = {"log_unreferenced"}
    # README "Log file integrity": "no digest in the window is digest_missing
    # too, never success": a declared region CloudTrail never delivered to
    for k, codes in INTEGRITY_SIDE.get(name, {}).items():
        exp["verify"][k] = exp["verify"].get(k, set()) | codes
    ex = exp.get("verify_exit", 0)
    exp["verify_exit"] = tuple(sorted(set(x if x == 3 else 1 for x in (ex if isinstance(ex, tuple) else (ex,)))))
    if len(exp["verify_exit"]) == 1:
        exp["verify_exit"] = exp["verify_exit"][0]
    return Expect(cfg, cells, kinds, exp, ctx.labels)


# ------------------------------------------------------------------ the world
def hostile_key(w, acct, region):
    """A log file name (ACCT_CloudTrail_REGION_TIME_UNIQUE.json.gz) no digest
    lists, its time 30 minutes into the world (older than the newest digest):
    log_unreferenced (README "Log file integrity"); the unique part is markup."""
    c = w.cfg
    return "%sCloudTrail/%s/2026/01/01/%s_CloudTrail_%s_20260101T0030Z_%s.json.gz" % (
        c.log_prefix(acct), region, acct, region, HOSTILE)


def put_object(w, key, body):
    sess, _ = w.break_glass("mallory")
    w.client("s3", sess).put_object(Bucket=w.cfg.bucket, Key=key, Body=body)


def unknown_logs(w):
    """A log file under the prefix of an account nobody configured."""
    c = w.cfg
    p = (c.key_prefix + "/") if c.key_prefix else ""
    org = (c.org_id + "/") if c.mode == "organization" else ""
    a = B.UNKNOWN_ACCOUNT
    key = "%sAWSLogs/%s%s/CloudTrail/%s/2026/01/01/%s_CloudTrail_%s_20260101T0150Z_x.json.gz" % (
        p, org, a, c.home, a, c.home)
    put_object(w, key, gzip.compress(json.dumps({"Records": []}).encode(), mtime=0))


def with_exclude(text, ids):
    return text.replace("[central]", "exclude_accounts = %s\n\n[central]" % ", ".join(ids), 1)


def tk_env(w, extra=None):
    e = {"PATH": os.path.dirname(os.path.realpath(TK)) + ":/usr/bin:/bin",
         "HOME": os.environ.get("HOME", "/tmp"), "TRAILKEEP_NOW": w.now,
         "TRAILKEEP_BACKOFF_SCALE": "0.01", "TRAILKEEP_SEED": "1",
         "TRAILKEEP_TEMPLATES": os.path.join(TOP, "templates"),
         "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        if k in os.environ:
            e[k] = os.environ[k]
    e.update(w.fa.env(w.keys[MGMT], region=w.cfg.home))
    e.update(extra or {})
    return e


def sanitizer_clean(label, *texts):
    bad = [t[-1500:] for t in texts if t and ("ERROR: AddressSanitizer" in t or "ERROR: LeakSanitizer" in t
                                              or "runtime error:" in t)]
    if bad:
        check(False, "%s: no sanitizer report" % label, bad[0])


# ------------------------------------------------------------------ Kubernetes
def manifest(n):
    """The resolved CronJob with N shards by the base's one edit."""
    text = open(os.path.join(BASE, "cronjob.yaml")).read()
    edited = re.sub(r"completions: \d+", "completions: %d" % n, text)
    docs = dk.kustomize(BASE, {"cronjob.yaml": edited})
    return dk.cronjob_of(docs)


def shard_cells(cells, n, k):
    """README "Scale: shards": cells sorted by (account, region) in byte
    order, cell i (0-based) to shard (i mod N) + 1."""
    s = sorted(cells, key=lambda c: (c[0].encode(), c[1].encode()))
    return [c for i, c in enumerate(s) if i % n == k - 1]


def k8s(w, st, label, config, n, whole, whole_prom, want_rc):
    cj = manifest(n)
    js = cj["spec"]["jobTemplate"]["spec"]
    c = js["template"]["spec"]["containers"][0]
    argv = c["command"] + c.get("args", [])
    env = {x["name"]: x["value"] for x in c["env"] if "value" in x}
    data = os.path.join(st, "k8s-%d" % n)
    os.makedirs(data)
    # the pod: the manifest's env (SHARDS from the one edit), the fake's
    # credentials instead of IRSA, the volume and the ConfigMap as local paths
    base = tk_env(w)
    base.update(env)
    base.update({"RUN_ID": "trailkeep-verify-29000000", "TRAILKEEP_CONFIG": config,
                 "TRAILKEEP_DATA": data, "POLL_SECONDS": "1", "MERGE_WAIT_SECONDS": "300",
                 "PUSHGATEWAY_URL": ""})
    check(js["completions"] == n and js["parallelism"] == n and env.get("SHARDS") == str(n),
          "%s N=%d: the one edit sets completions, parallelism and SHARDS" % (label, n))
    procs = [subprocess.Popen(argv, env=dict(base, JOB_COMPLETION_INDEX=str(i)), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(n)]
    outs = [p.communicate(timeout=600) for p in procs]
    rcs = [p.returncode for p in procs]
    sanitizer_clean("%s N=%d pods" % (label, n), *[o[1] for o in outs])
    run = os.path.join(data, "runs", "trailkeep-verify-29000000")
    check(rcs == [0] * n, "%s N=%d: every pod exits 0 (exit 1 and 3 are results)" % (label, n),
          [(i, r, o[1][-300:]) for i, (r, o) in enumerate(zip(rcs, outs)) if r][:3])
    # each shard's document holds the cells the README's rule gives it
    cells = sorted(w.cfg.cells())
    bad, docs = [], []
    for k in range(1, n + 1):
        p = os.path.join(run, "shard-%d.json" % k)
        try:
            d = json.load(open(p))
        except (OSError, ValueError):
            d = None
        docs.append(p)
        got = sorted((x["account"], x["region"]) for x in (d or {}).get("cells", []))
        if d is None or got != sorted(shard_cells(cells, n, k)) or \
                d.get("shard") != {"index": k, "count": n}:
            bad.append((k, got, sorted(shard_cells(cells, n, k))))
    check(not bad, "%s N=%d: shard K's document has exactly the cells i with i mod N = K-1 of the "
          "sorted cells, and \"shard\": {K, N} (%d cells)" % (label, n, len(cells)), bad[:2])
    try:
        merged = json.load(open(os.path.join(run, "merged.json")))
    except (OSError, ValueError):
        merged = None
    check(merged is not None and _noreq(merged) == _noreq(whole),
          "%s N=%d: shard 1's merge == the unsharded run's --json document (AWS request ids in messages "
          "aside: every call has its own)" % (label, n),
          "" if merged is None else _docdiff(_noreq(whole), _noreq(merged)))
    prom = os.path.join(data, "trailkeep.prom")
    got = open(prom).read() if os.path.exists(prom) else None
    check(got is not None and got == open(whole_prom).read(),
          "%s N=%d: the merged metrics file == the unsharded run's, byte for byte" % (label, n))
    # the merge's exit code (the job's script keeps it to itself)
    p = subprocess.run([TK, "verify", config, "--merge"] + docs, env=tk_env(w), capture_output=True,
                       text=True, timeout=120)
    sanitizer_clean("%s N=%d merge" % (label, n), p.stderr)
    check(p.returncode == want_rc, "%s N=%d: verify --merge of the %d documents exits %d (README exit table)"
          % (label, n, n, want_rc), (p.returncode, p.stderr[-300:]))


def _noreq(doc):
    d = copy.deepcopy(doc)
    for f in d.get("findings", []):
        if isinstance(f.get("message"), str):
            f["message"] = re.sub(r"\(request id [^)]*\)", "(request id)", f["message"])
    return d


def _docdiff(a, b):
    ka = set(json.dumps(x, sort_keys=True) for x in a.get("findings", []))
    kb = set(json.dumps(x, sort_keys=True) for x in b.get("findings", []))
    ca = set(json.dumps(x, sort_keys=True) for x in a.get("cells", []))
    cb = set(json.dumps(x, sort_keys=True) for x in b.get("cells", []))
    return {"findings only unsharded": sorted(ka - kb)[:2], "findings only merged": sorted(kb - ka)[:2],
            "cells only unsharded": sorted(ca - cb)[:2], "cells only merged": sorted(cb - ca)[:2],
            "other keys": sorted(set(a) ^ set(b)) + [k for k in a if k in b and k not in
                                                      ("findings", "cells") and a[k] != b[k]]}


# ------------------------------------------------------------------ Prometheus
def prometheus(label, st, prom_text, predicted, stray, run_time, exp_unchecked):
    r = dp.promtool("check", "metrics", stdin=prom_text)
    check(r.returncode == 0 and not (r.stdout + r.stderr).strip(),
          "%s: promtool check metrics accepts the run's --metrics" % label, r.stdout + r.stderr)
    samples = dp.parse_metrics(prom_text)
    st_got = {}
    for n, lab, v in samples:
        if n == "trailkeep_cell_status" and v == "1":
            st_got.setdefault((lab.get("account"), lab.get("region")), []).append(lab.get("status"))
    st_want = {c: [status_of(codes)] for c, codes in predicted.items()}
    check(st_got == st_want, "%s: trailkeep_cell_status is 1 for the README's status of each cell's "
          "expected findings (%s)" % (label, ", ".join("%d %s" % (n, s) for s, n in sorted(
              _count(v[0] for v in st_want.values()).items()))),
          {c: (st_got.get(c), st_want.get(c)) for c in set(st_got) | set(st_want)
           if st_got.get(c) != st_want.get(c)})
    check(all(c in st_want for c in st_got) and set(c for c, s in st_want.items() if s == ["unchecked"])
          == set(exp_unchecked), "%s: the unchecked cells are the ones the break leaves unchecked" % label)
    last = [v for n, _, v in samples if n == "trailkeep_last_run_timestamp_seconds"]
    check(last == [str(run_time)], "%s: trailkeep_last_run_timestamp_seconds is the run's clock" % label, last)

    # promtool test rules: the textfile stays as written (node_exporter keeps
    # serving it) for 3 hours; time is counted from the run (its last-run
    # value becomes 0, promtool's start)
    STEPS = 36
    inputs = []
    for n, lab, v in samples:
        if n == "trailkeep_last_run_timestamp_seconds":
            v = str(int(float(v)) - run_time)
        inputs.append({"series": dp.series_text(n, lab), "values": " ".join([v] * STEPS)})
    with open(RULES) as f:
        rules = {x["alert"]: x for g in yaml.safe_load(f)["groups"] for x in g["rules"]}

    def exp(name, labels):
        ann = {k: re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels.get(m.group(1), ""), v)
               for k, v in rules[name].get("annotations", {}).items()}
        return {"exp_labels": labels, "exp_annotations": ann}
    want = {"TrailkeepCellRed": set(), "TrailkeepCellUnchecked": set(), "TrailkeepDeliveryLate": set(),
            "TrailkeepIntegrityFailure": set()}
    for (a, rg), codes in predicted.items():
        for code in codes:
            lab = frozenset({"severity": "page", "account": a, "region": rg, "code": code}.items())
            if code in ("delivery_stale", "delivery_none"):
                want["TrailkeepDeliveryLate"].add(lab)
            elif INTEGRITY.match(code):
                want["TrailkeepIntegrityFailure"].add(lab)
            elif severity(code) == "error" and code not in OWN:
                want["TrailkeepCellRed"].add(lab)
        if "cell_unchecked" in codes:
            want["TrailkeepCellUnchecked"].add(frozenset({"severity": "page", "account": a, "region": rg,
                                                          "code": "cell_unchecked"}.items()))
    # findings on no cell (account_unconfigured, prefix_unexpected) are warnings: no page
    cases = [{"eval_time": "30m", "alertname": nm,
              "exp_alerts": [exp(nm, dict(sorted(s))) for s in sorted(v, key=sorted)]}
             for nm, v in sorted(want.items())]
    cases += [{"eval_time": t, "alertname": "TrailkeepNotRun", "exp_alerts": []} for t in ("30m", "2h")]
    cases.append({"eval_time": "2h10m", "alertname": "TrailkeepNotRun",
                  # the rule's empty account/region labels: Prometheus drops empty labels
                  "exp_alerts": [exp("TrailkeepNotRun", {"severity": "page", "code": "not_run"})]})
    test = {"rule_files": [RULES], "evaluation_interval": "1m",
            "tests": [{"interval": "5m", "input_series": inputs, "alert_rule_test": cases}]}
    tf = os.path.join(st, "rules-test.yml")
    with open(tf, "w") as f:
        yaml.safe_dump(test, f, sort_keys=False)
    r = dp.promtool("test", "rules", tf)
    nwant = {k[len("Trailkeep"):]: len(v) for k, v in want.items() if v}
    check(r.returncode == 0 and "SUCCESS" in r.stdout,
          "%s: promtool test rules on the run's series: exactly the alerts the README derives from the "
          "expected findings (%s), with account/region/code; not-run fires 2 h after the last run, not "
          "before" % (label, ", ".join("%s %d" % x for x in sorted(nwant.items())) or "none"),
          (r.stdout + r.stderr)[-2500:])
    # the same test with one alert too many (or one missing) must fail (once per script)
    if PROMTOOL_NEGATIVE:
        PROMTOOL_NEGATIVE.pop()
        bad = copy.deepcopy(test)
        c0 = bad["tests"][0]["alert_rule_test"]
        hit = [c for c in c0 if c["exp_alerts"] and c["alertname"] != "TrailkeepNotRun"]
        if hit:
            hit[0]["exp_alerts"].pop()
        else:
            c0[0]["exp_alerts"].append(exp(c0[0]["alertname"], {"severity": "page", "code": "x",
                                                                  "account": "1", "region": "r"}))
        bf = os.path.join(st, "rules-test-bad.yml")
        with open(bf, "w") as f:
            yaml.safe_dump(bad, f, sort_keys=False)
        rb = dp.promtool("test", "rules", bf)
        check(rb.returncode != 0, "%s: promtool test rules fails with one expected alert %s" % (
            label, "missing" if hit else "too many"))
    return sum(len(v) for v in want.values())


def _count(it):
    out = {}
    for x in it:
        out[x] = out.get(x, 0) + 1
    return out


# ------------------------------------------------------------------ HTML
class Grid(html.parser.HTMLParser):
    """The grid's rows (account, [td]), the <style> text, every tag, all text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.rows, self.style, self.text = [], [], [], []
        self.ids = {}
        self.in_grid = self.in_style = False
        self.cur = None
        self.td = None
        self.id_stack = []
        self.head = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "table" and a.get("id") == "grid":
            self.in_grid = True
        if tag == "style":
            self.in_style = True
        if self.in_grid and tag == "tr":
            self.cur = {"cells": [], "th": []}
        if self.in_grid and tag in ("td", "th") and self.cur is not None:
            self.td = {"tag": tag, "attrs": a, "text": ""}
        if "id" in a:
            self.id_stack.append([a["id"], tag, ""])

    def handle_endtag(self, tag):
        if tag == "style":
            self.in_style = False
        if self.in_grid and tag in ("td", "th") and self.td is not None:
            (self.cur["cells"] if self.td["tag"] == "td" else self.cur["th"]).append(self.td)
            self.td = None
        if self.in_grid and tag == "tr" and self.cur is not None:
            self.rows.append(self.cur)
            self.cur = None
        if tag == "table":
            self.in_grid = False
        if self.id_stack and self.id_stack[-1][1] == tag:
            i, _, t = self.id_stack.pop()
            self.ids[i] = t

    def handle_data(self, data):
        if self.in_style:
            self.style.append(data)
        self.text.append(data)
        if self.td is not None:
            self.td["text"] += data
        for x in self.id_stack:
            x[2] += data


def css_background(style, classes):
    """The background a td with these classes gets from the page's own
    rules (selectors td.a.b; the most classes win, later rules win ties)."""
    best, bestn = None, -1
    for m in re.finditer(r"([^{}]+)\{([^}]*)\}", style):
        decl = re.search(r"background:([^;]+)", m.group(2))
        if not decl:
            continue
        for sel in m.group(1).split(","):
            sel = sel.strip()
            mm = re.fullmatch(r"td((?:\.[A-Za-z0-9_-]+)+)", sel)
            if not mm:
                continue
            need = mm.group(1).split(".")[1:]
            if all(c in classes for c in need) and len(need) >= bestn:
                best, bestn = decl.group(1).strip(), len(need)
    return best


def color_name(bg):
    """green / red / amber / grey-hatched, from a CSS background value."""
    if bg is None:
        return None
    if "gradient" in bg:
        cols = re.findall(r"#([0-9a-fA-F]{6})", bg)
        grey = cols and all(_sat(c) < 0.1 for c in cols)
        return "grey-hatched" if grey and len(set(cols)) > 1 else "gradient"
    m = re.fullmatch(r"#([0-9a-fA-F]{6})", bg)
    if not m:
        return bg
    r, g, b = (int(m.group(1)[i:i + 2], 16) / 255 for i in (0, 2, 4))
    h, s, _ = colorsys.rgb_to_hsv(r, g, b)
    if s < 0.1:
        return "grey"
    h *= 360
    if h < 20 or h >= 340:
        return "red"
    if 25 <= h < 65:
        return "amber"
    if 90 <= h < 160:
        return "green"
    return "hue%d" % h


def _sat(hexc):
    r, g, b = (int(hexc[i:i + 2], 16) / 255 for i in (0, 2, 4))
    return colorsys.rgb_to_hsv(r, g, b)[1]


def chromium_dom(page, st):
    prof = tempfile.mkdtemp(dir=st, prefix="chrome-")
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + prof,
           "--no-first-run", "--disable-extensions", "--disable-background-networking",
           "--dump-dom", "file://" + page]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=dict(os.environ, HOME=prof))
    g = Grid()
    g.feed(p.stdout)
    g.close()
    return p, g


WANT_COLOR = {"ok": "green", "red": "red", "warning": "amber", "unchecked": "grey-hatched"}


def grid(g, cfg, predicted, style=None):
    """(problems, colors seen per status, cells, rows, regions, dup) of the
    rendered grid against the README: one td.cell per configured cell with
    data-status the JSON status of its expected findings and the background
    the README's color for it (from the page's CSS, or style), '-' elsewhere."""
    cells = set(cfg.cells())
    header = [t["text"].strip() for t in (g.rows[0]["th"] if g.rows else [])]
    regions = header[1:]
    rows = {}
    dup = []
    for row in g.rows[1:]:
        acct = row["th"][0]["text"].strip().split()[0] if row["th"] else None
        if acct in rows:
            dup.append(acct)
        rows[acct] = row["cells"]
    bad, colors = [], {}
    want_color = WANT_COLOR
    css = "".join(g.style) if style is None else style
    for acct, tds in rows.items():
        for i, td in enumerate(tds):
            rg = regions[i] if i < len(regions) else None
            a = td["attrs"]
            cls = (a.get("class") or "").split()
            if (acct, rg) not in cells:
                if "cell" in cls or td["text"].strip() != "-":
                    bad.append(("a cell the config does not have", acct, rg, cls, td["text"]))
                continue
            st_want = status_of(predicted.get((acct, rg), set()))
            json_status = {"ok": "ok", "red": "findings", "warning": "findings", "unchecked": "unchecked"}[st_want]
            col = color_name(css_background(css, cls))
            colors[st_want] = col
            if "cell" not in cls or a.get("data-account") != acct or a.get("data-region") != rg or \
                    a.get("data-status") != json_status or col != want_color[st_want]:
                bad.append((acct, rg, cls, a.get("data-status"), col, "want", json_status, want_color[st_want]))
    n_cells = sum(1 for tds in rows.values() for td in tds if "cell" in (td["attrs"].get("class") or "").split())
    if n_cells != len(cells):
        bad.append("%d cells in the grid, %d configured" % (n_cells, len(cells)))
    return bad, colors, cells, rows, regions, dup


def report_checks(label, st, page, cfg, predicted, config, excluded, hostile):
    if not os.path.isfile(page):
        check(False, "%s: verify --html wrote the page" % label)
        return
    p, g = chromium_dom(page, st)
    check(p.returncode == 0 and "</html>" in p.stdout, "%s: chromium --dump-dom rendered the page" % label,
          p.stderr[-500:])
    # README "report": accounts and regions in the document's order, a dash
    # where the config has no such cell
    bad, colors, cells, rows, regions, dup = grid(g, cfg, predicted)
    want_regions = sorted(set(rg for _, rg in cells))
    want_accts = sorted(set(a for a, _ in cells))
    check(sorted(regions) == want_regions and sorted(rows) == want_accts and not dup,
          "%s: the grid has one row per expected account (%d) and one column per configured region (%d)"
          % (label, len(want_accts), len(want_regions)), (regions, sorted(rows), dup))
    check(not bad,
          "%s: each of the %d configured cells appears once, colored as the README says for its expected "
          "findings (%s), a dash elsewhere" % (label, len(cells), ", ".join(
              "%s %s" % (k, v) for k, v in sorted(colors.items()))), bad[:4])
    # the check can fail: the page's four colors rotated (ok red, red amber,
    # amber grey, grey green)
    css = "".join(g.style)
    rot = {"b9e4bd": "f4b4b4", "f4b4b4": "fde2a7", "fde2a7": "cfd4da", "cfd4da": "b9e4bd"}
    swapped = re.sub(r"#([0-9a-f]{6})", lambda m: "#" + rot.get(m.group(1), m.group(1)), css)
    check(css != swapped and grid(g, cfg, predicted, style=swapped)[0],
          "%s: the color check notices a page whose status colors are rotated" % label)
    text = "".join(g.text)
    if hostile:
        check(HOSTILE in text, "%s: the hostile key is on the page as text, markup and all" % label)
    if excluded:
        check(not [x for x in excluded if x in text],
              "%s: the accounts left out on purpose (exclude_accounts) appear nowhere on the page" % label)
    check(g.ids.get("run-config") == config,
          "%s: the config's name is shown as text, markup and all" % label, (g.ids.get("run-config"), config))
    external = [(t, a) for t, a in g.tags if t in ("script", "img", "link", "iframe", "object", "embed", "svg")
                or any(k.startswith("on") for k in a)
                or any(k in ("src", "href") and not (v or "").startswith("#") for k, v in a.items())]
    check(not external, "%s: no script, image, svg, handler or external reference in the rendered DOM "
          "(self-contained, the hostile strings stayed text)" % label, external[:4])
    return text


# ------------------------------------------------------------------ systemd
def systemd(w, st, label, config, whole_prom, want_rc):
    """The unit names /etc/trailkeep/org.ini: a drop-in (README: systemctl
    edit, ExecStart= reset) points it at the generated config; checked by
    systemd-analyze verify with the unit, then its command line is run."""
    units = os.path.join(st, "units")
    os.makedirs(os.path.join(units, "trailkeep-verify.service.d"))
    src = open(os.path.join(SD, "trailkeep-verify.service")).read()
    bindir = os.path.dirname(os.path.realpath(TK))
    unit = src.replace("@BINDIR@", bindir)
    with open(os.path.join(units, "trailkeep-verify.service"), "w") as f:
        f.write(unit)
    shutil.copy(os.path.join(SD, "trailkeep-verify.timer"), units)
    orig = [v for k, v in _ini(unit) if k == "ExecStart"][0]
    check(" /etc/trailkeep/org.ini " in orig, "%s: the unit is config-path dependent: ExecStart names "
          "/etc/trailkeep/org.ini (README: change it with a drop-in)" % label, orig)
    textdir = os.path.join(st, "textfile")
    os.makedirs(textdir)
    argv0 = shlex.split(orig)
    i = argv0.index("--metrics")
    exec_new = orig.replace(" /etc/trailkeep/org.ini ", " %s " % config) \
        .replace(argv0[i + 1], os.path.join(textdir, "trailkeep.prom"))
    with open(os.path.join(units, "trailkeep-verify.service.d", "config.conf"), "w") as f:
        f.write("[Service]\nExecStart=\nExecStart=%s\nReadWritePaths=%s\n" % (exec_new, textdir))
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", "./trailkeep-verify.service",
                        "./trailkeep-verify.timer"], cwd=units, capture_output=True, text=True, timeout=120)
    check(r.returncode == 0 and not (r.stdout + r.stderr).strip(),
          "%s: systemd-analyze verify: the unit with the drop-in for the generated config, and the timer"
          % label, r.stdout + r.stderr)
    # the drop-in is read: a misspelled key in it is reported (once per script)
    if SYSTEMD_NEGATIVE:
        SYSTEMD_NEGATIVE.pop()
    else:
        return _systemd_run(w, st, label, unit, exec_new, textdir, whole_prom, want_rc)
    with open(os.path.join(units, "trailkeep-verify.service.d", "zz-bad.conf"), "w") as f:
        f.write("[Service]\nReadWritePath=%s\n" % textdir)
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", "./trailkeep-verify.service"], cwd=units,
                       capture_output=True, text=True, timeout=120)
    os.unlink(os.path.join(units, "trailkeep-verify.service.d", "zz-bad.conf"))
    check("ReadWritePath" in r.stderr, "%s: systemd-analyze reads the drop-in (a misspelled key there "
          "is reported)" % label, r.stderr[-300:])
    _systemd_run(w, st, label, unit, exec_new, textdir, whole_prom, want_rc)


def _systemd_run(w, st, label, unit, exec_new, textdir, whole_prom, want_rc):
    # the command line, run as systemd would: the environment file's variables
    # (env.example with the fake's keys filled in), STATE_DIRECTORY
    envfile = open(os.path.join(SD, "env.example")).read()
    fake = w.fa.env(w.keys[MGMT])
    envfile = envfile.replace("#AWS_ACCESS_KEY_ID=AKIA...", "AWS_ACCESS_KEY_ID=" + fake["AWS_ACCESS_KEY_ID"]) \
        .replace("#AWS_SECRET_ACCESS_KEY=...", "AWS_SECRET_ACCESS_KEY=" + fake["AWS_SECRET_ACCESS_KEY"])
    envfile += "AWS_ENDPOINT_URL=%s\nAWS_EC2_METADATA_DISABLED=true\n" % w.fa.url
    env = {"PATH": "/usr/bin:/bin", "TRAILKEEP_NOW": w.now, "TRAILKEEP_BACKOFF_SCALE": "0.01",
           "TRAILKEEP_SEED": "1", "TRAILKEEP_TEMPLATES": os.path.join(TOP, "templates")}
    for line in envfile.splitlines():
        line = line.strip()
        if line and line[0] not in "#;" and "=" in line:
            k, _, v = line.partition("=")
            env[k.strip()] = v.strip()
    sd_state = os.path.join(st, "var-lib-trailkeep")
    os.makedirs(sd_state, mode=0o700)
    env["STATE_DIRECTORY"] = sd_state
    argv = [a.replace("${STATE_DIRECTORY}", sd_state) for a in shlex.split(exec_new)]
    p = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    sanitizer_clean(label + " systemd", p.stderr)
    svc = dict(_ini(unit))
    ok_rcs = {0} | set(int(x) for x in svc.get("SuccessExitStatus", "").split())
    prom = os.path.join(textdir, "trailkeep.prom")
    got = open(prom).read() if os.path.exists(prom) else None
    check(p.returncode == want_rc and p.returncode in ok_rcs and got == open(whole_prom).read() and
          os.path.isfile(os.path.join(sd_state, "verify.state")),
          "%s: the unit's command line (drop-in, env file with AWS_REGION=us-east-1, STATE_DIRECTORY) runs "
          "the generated config: exit %d, a success for the unit; the metrics of the unsharded run, the "
          "state in the state directory" % (label, want_rc), (p.returncode, p.stderr[-400:], got is not None))


def _ini(text):
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and line[0] not in "#;[" and "=" in line:
            k, _, v = line.partition("=")
            out.append((k.strip(), v.strip()))
    return out


# ------------------------------------------------------------------ one state
def state(w, tmp, label, expect, config, ns, excluded=None, systemd_too=False):
    st = os.path.join(tmp, label.replace(" ", "-"))
    os.makedirs(st)
    cfg = w.cfg
    prom = os.path.join(st, "whole.prom")
    page = os.path.join(st, "verify.html")
    p = subprocess.run([TK, "verify", config, "--json", "--metrics", prom, "--state",
                        os.path.join(st, "whole.state"), "--html", page], env=tk_env(w),
                       capture_output=True, text=True, timeout=300)
    sanitizer_clean(label, p.stderr)
    try:
        doc = json.loads(p.stdout)
    except ValueError:
        doc = None
    res = Result(cfg.seed, cfg.mode, label)
    check_verify(res, p.returncode, doc, p.stdout + p.stderr, expect.cells, expect.kinds, expect.exp,
                 "verify", expect.labels)
    # with integrity (the Kubernetes job's command): besides the injected
    # key, no integrity finding
    allowed = set()
    for k, codes in expect.exp.get("verify", {}).items():
        allowed |= set((c, code) for c in expect.kinds.get(k, ()) for code in codes)
    extra_int = [f for f in (doc or {}).get("findings", []) if INTEGRITY.match(f["code"]) and
                 ((f["account"], f["region"]), f["code"]) not in allowed]
    if extra_int:
        res.fail("integrity findings nobody caused: %s" % [(f["code"], f["account"], f["region"])
                                                         for f in extra_int[:3]])
    check(res.status == "PASS", "%s: the unsharded verify (with integrity) reports the catalogue's findings "
          "on exactly their cells, exit %s" % (label, expect.exp.get("verify_exit", 0)),
          "\n".join(res.errors) + "\nconfig: " + cfg.summary())
    if doc is None or not os.path.exists(prom):
        return
    predicted = expect.predicted(doc)
    want_rc = exit_of(predicted, expect.stray())
    check(p.returncode == want_rc, "%s: exit %d, the README's exit for the expected findings" % (label, want_rc),
          p.returncode)
    t = [time.time()]
    prom_text = open(prom).read()
    unchecked = [c for c, codes in predicted.items() if "cell_unchecked" in codes]
    prometheus(label, st, prom_text, predicted, expect.stray(), _epoch(w.now), unchecked)
    t.append(time.time())
    report_checks(label, st, page, cfg, predicted, config, excluded, "hostile" in expect.kinds)
    t.append(time.time())
    for n in ns:
        k8s(w, st, label, config, n, doc, prom, want_rc)
        t.append(time.time())
    if systemd_too:
        plain = os.path.join(st, "org.ini")
        shutil.copy(config, plain)
        systemd(w, st, label, plain, prom, want_rc)
    t.append(time.time())
    print("# %s: %d cells, seconds: prometheus %.1f, report %.1f, kubernetes N=%s %s, systemd %.1f" % (
        label, len(expect.cells), t[1] - t[0], t[2] - t[1], ns,
        " ".join("%.1f" % (t[3 + i] - t[2 + i]) for i in range(len(ns))), t[-1] - t[-2]), flush=True)


def _epoch(iso):
    return int(time.mktime(time.strptime(iso, "%Y-%m-%dT%H:%M:%SZ")) - time.timezone)


# ------------------------------------------------------------------ one world
def gen_cfg(seed, mode, force):
    """The generated config (with [monitoring] when the generator picks it)."""
    return gen(seed, mode, **force)


def world(seed, mode, force, tmp):
    cfg = gen_cfg(seed, mode, force)
    d = os.path.join(tmp, "w%d" % seed)
    os.makedirs(d)
    print("# world seed=%d: %s" % (seed, cfg.summary()), flush=True)
    w = World(cfg, d)
    try:
        w.setup()
        rc, out, err = w.tk("plan", "-o", os.path.join(d, "plan"))
        rc2, aout, _ = w.apply()
        w.advance(2 * 3600)
        check(rc == 0 and rc2 == 0, "[seed %d %s] the generated config plans and applies (%d cells)"
              % (seed, mode, len(cfg.cells())), "plan %d, apply %d: %s" % (rc, rc2, (out + err + aout)[-1500:]))
        if rc or rc2:
            return
        snap = os.path.join(d, "healthy")
        w.save(snap)
        rng = random.Random("ops/%d/%s" % (seed, mode))
        cells = sorted(cfg.cells())
        big = len(cells) + 1 + rng.randint(0, 2)
        while big in (2, 3, 5):
            big += 1
        hdir = os.path.join(d, HOSTILE_DIR)
        os.makedirs(hdir)

        # --- clean, with an account left out on purpose -------------------------------
        excluded = []
        if mode == "organization":
            w.fa.post("create_account", id=EXCLUDED_MEMBER, name="Excluded <b>Member</b>", in_org=True)
            excluded.append(EXCLUDED_MEMBER)
            w.advance(600)              # the organization trail delivers its logs too
        unknown_logs(w)
        excluded.append(B.UNKNOWN_ACCOUNT)
        # without exclude_accounts they are reported (warnings): the exclusion is what is tested
        rc, doc, out = w.tk_json("verify", "--no-integrity")
        got = sorted((f["code"], f["account"]) for f in (doc or {}).get("findings", []))
        want = sorted([("prefix_unexpected", B.UNKNOWN_ACCOUNT)] + (
            [("account_unconfigured", EXCLUDED_MEMBER), ("prefix_unexpected", EXCLUDED_MEMBER)]
            if mode == "organization" else []))
        check(rc == 0 and got == want, "[seed %d %s clean] without exclude_accounts verify warns about the "
              "accounts (%s), exit 0" % (seed, mode, ", ".join("%s %s" % x for x in want)), (rc, got, out[-500:]))
        w.write_config(with_exclude(cfg.ini(), excluded))
        state(w, d, "[seed %d %s clean]" % (seed, mode), Expect(cfg, cells, {}, {"verify_exit": 0}),
              w.config, [], excluded=excluded)

        # --- a break from the catalogue, a hostile key, the config at a hostile path ---
        runner = Runner(d)
        names = [b for b in BREAKS if not runner.applicable(cfg, b) and not B.pending_reason(w, b)]
        name = rng.choice(names)
        w.reload(snap)
        ctx = B.make(w, name, random.Random("%d/%s/%s" % (seed, mode, name)))
        text = ctx.config_text or cfg.ini()
        bcells = sorted(set(cells) | ({ctx.cell} if ctx.cell else set()))
        hcell = rng.choice([c for c in cells if c != ctx.cell])
        put_object(w, hostile_key(w, *hcell), b"not even gzip")
        adv = advance_of(cfg, name)
        if adv:
            w.advance(adv)
        config = os.path.join(hdir, "org.ini")
        with open(config, "w") as f:
            f.write(text)
        cfg_cells = cfg.cells
        if ctx.cell and ctx.cell not in cells:
            cfg.cells = lambda: bcells      # the break declares a region (its config)
        try:
            state(w, d, "[seed %d %s break %s]" % (seed, mode, name),
                  expect_break(cfg, ctx, name, bcells, hcell), config, [2, 3, 5, big], systemd_too=True)
        finally:
            cfg.cells = cfg_cells

        # --- a failed call: cells unchecked ----------------------------------------------
        w.reload(snap)
        if mode == "per-account":
            victim = rng.choice(cfg.trail_owners())
            w.fa.post("set_faults", forced=[{"account": victim, "service": "cloudtrail",
                                             "operation": "GetTrailStatus", "code": "AccessDeniedException",
                                             "status": 400, "message": "injected by ops_generated"}])
            kinds = {"victim": [c for c in cells if c[0] == victim]}
        else:
            w.fa.post("set_faults", forced=[{"account": cfg.central, "service": "s3",
                                             "operation": "ListObjectsV2", "code": "AccessDenied",
                                             "status": 403, "message": "injected by ops_generated"}])
            kinds = {"victim": cells}
        try:
            state(w, d, "[seed %d %s unchecked]" % (seed, mode),
                  Expect(cfg, cells, kinds, {"verify": {"victim": {"cell_unchecked"}}, "verify_exit": 3}),
                  w.config, [big])
        finally:
            w.fa.post("set_faults")
    finally:
        w.close()
    return cfg


# ------------------------------------------------------------------ install
def install(tmp):
    """make install DESTDIR (the release build), then the installed binary's
    plan of every generated config == the checkout build's plan."""
    if not os.path.isfile(os.path.join(TOP, BUILD, "trailkeep.1")):
        check(False, "%s/trailkeep.1 exists (make tools builds it)" % BUILD)
        return
    stage = os.path.join(tmp, "stage")
    p = make_install(TOP, BUILD, stage)
    tk = os.path.join(stage, "usr", "bin", "trailkeep")
    check(p.returncode == 0 and os.access(tk, os.X_OK), "make install DESTDIR=TMP PREFIX=/usr",
          (p.stdout + p.stderr)[-1500:])
    if p.returncode:
        return
    env = {"PATH": "/usr/bin:/bin", "HOME": tmp}
    n = 0
    for mode in ("organization", "per-account"):
        for seed, force in WORLDS[mode]:
            cfg = gen_cfg(seed, mode, force)
            cfg.org_id = "o-ops%07d" % seed
            da, db = os.path.join(tmp, "plan-%d-i" % seed), os.path.join(tmp, "plan-%d-c" % seed)
            for d in (da, db):
                os.makedirs(d)
                with open(os.path.join(d, "org.ini"), "w") as f:
                    f.write(cfg.ini())
            # an empty directory, no TRAILKEEP_TEMPLATES: the installed templates
            a = subprocess.run([tk, "plan", "org.ini", "-o", "plan"], cwd=da, env=env, capture_output=True,
                               text=True)
            b = subprocess.run([TK, "plan", "org.ini", "-o", "plan", "--templates",
                                os.path.join(TOP, "templates")], cwd=db, env=env, capture_output=True, text=True)
            fa, fb = _files(os.path.join(da, "plan")), _files(os.path.join(db, "plan"))
            check(a.returncode == 0 and b.returncode == 0 and fa and fa == fb and a.stdout == b.stdout,
                  "[seed %d %s] the installed binary plans the generated config with the installed templates "
                  "(%d files, the checkout's plan byte for byte)" % (seed, mode, len(fa)),
                  (a.returncode, a.stderr[-500:], b.stderr[-300:], sorted(set(fa) ^ set(fb))[:5]))
            n += 1
            if n == 1:
                # the release build: the clock of the checks cannot be moved
                v = subprocess.run([tk, "verify", "org.ini", "--timeout", "2s"], cwd=da,
                                   env=dict(env, TRAILKEEP_NOW="2026-01-01T00:00:00Z"), capture_output=True,
                                   text=True)
                check(v.returncode == 2 and "TRAILKEEP_NOW" in v.stderr and "test setting" in v.stderr,
                      "the installed (release) binary's verify refuses TRAILKEEP_NOW (exit 2, names it)",
                      (v.returncode, v.stderr[-300:]))


def _files(d):
    out = {}
    for root, _, names in os.walk(d):
        for nm in names:
            p = os.path.join(root, nm)
            out[os.path.relpath(p, d)] = open(p, "rb").read()
    return out


def main(mode, with_install):
    t0 = time.time()
    for tool in ("promtool", "systemd-analyze"):
        if not shutil.which(tool):
            check(False, "%s is installed (make deps)" % tool)
            return 1
    if not os.path.exists(CHROMIUM):
        check(False, "chromium is installed (make deps)")
        return 1
    tmp = tempfile.mkdtemp(prefix="tk-ops-gen-")
    try:
        for seed, force in WORLDS[mode] + (MORE[mode] if os.environ.get("OPS_MORE") else []):
            try:
                world(seed, mode, force, tmp)
            except Exception:  # noqa: BLE001  a harness failure is a failure, never a skip
                check(False, "[seed %d %s] the world ran" % (seed, mode), traceback.format_exc()[-2000:])
        if with_install:
            install(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("# ops_generated %s: %.1f s" % (mode, time.time() - t0))
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main("organization", True))
