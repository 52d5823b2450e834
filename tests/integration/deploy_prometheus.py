#!/usr/bin/python3
"""deploy/prometheus/trailkeep-rules.yml and deploy/grafana/trailkeep.json
against the series of real `trailkeep verify --metrics` runs on the fake AWS
(issue 16 "Alerting", issue 18 "Operations").

Two runs of one damaged organization (a modified log file, a trail that
drifted from the config, an expected account that is not a member, every
cell's newest delivery older than max_delivery_age), the second with S3's
ListObjectsV2 refused (every cell unchecked):
  - `promtool check metrics` accepts both --metrics files;
  - `promtool check rules` accepts the rules; every alert has the labels
    account, region, code (from the series or static) and a runbook naming
    `trailkeep doctor`;
  - `promtool test rules`: the input series are the two runs' textfiles
    (run 1 for the first hour, run 2 for the second), generated here; the
    expected alerts are derived from each run's --json document (findings and
    cell status, README "verify"), not from the metrics;
  - the not-run alert: fires 2 h (+ its `for`) after the last run, and when
    the series is absent; not while runs keep coming;
  - the Grafana dashboard is valid JSON whose queries name only series the
    runs wrote.
Prints PASS:/FAIL: lines; exit 1 on any failure.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, TOP)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tests.fakeaws.control import FakeAWS  # noqa: E402
from tests.fakeaws.testing import Checks  # noqa: E402
import validate_fakeaws as vf  # noqa: E402

RULES = os.path.join(TOP, "deploy", "prometheus", "trailkeep-rules.yml")
DASH = os.path.join(TOP, "deploy", "grafana", "trailkeep.json")
NOW = "2026-01-01T05:00:00Z"     # 2 h after the last delivery: every cell stale (1h limit)
STEPS = 12                       # samples per run at 5 m: one hour each
check = Checks(limit=3000)
INTEGRITY = re.compile(r"^(digest_|log_)")
OWN = {"cell_unchecked", "delivery_stale", "delivery_none"}


def parse_metrics(text):
    """[(name, {label: value}, value-string)] of a text exposition (no timestamps)."""
    out = []
    lab_re = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?')
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$", line)
        if not m:
            out.append(("!unparsed", {"line": line}, "0"))
            continue
        labels = {}
        body = m.group(3) or ""
        pos = 0
        while pos < len(body):
            lm = lab_re.match(body, pos)
            if not lm:
                labels["!bad"] = body
                break
            labels[lm.group(1)] = re.sub(r"\\(.)", lambda x: {"n": "\n"}.get(x.group(1), x.group(1)),
                                         lm.group(2))
            pos = lm.end()
        out.append((m.group(1), labels, m.group(4)))
    return out


def series_text(name, labels):
    esc = lambda v: v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")  # noqa: E731
    return "%s{%s}" % (name, ",".join('%s="%s"' % (k, esc(v)) for k, v in sorted(labels.items())))


def expected_alerts(doc):
    """{alertname: set of frozenset(label items)} a run's --json document implies."""
    want = {"TrailkeepCellRed": set(), "TrailkeepCellUnchecked": set(),
            "TrailkeepDeliveryLate": set(), "TrailkeepIntegrityFailure": set()}
    for f in doc["findings"]:
        lab = {"severity": "page", "code": f["code"]}
        if f["account"]:
            lab["account"] = f["account"]
        if f["region"]:
            lab["region"] = f["region"]
        if f["code"] in ("delivery_stale", "delivery_none"):
            want["TrailkeepDeliveryLate"].add(frozenset(lab.items()))
        elif INTEGRITY.match(f["code"]):
            want["TrailkeepIntegrityFailure"].add(frozenset(lab.items()))
        elif f["severity"] == "error" and f["code"] not in OWN:
            want["TrailkeepCellRed"].add(frozenset(lab.items()))
    for c in doc["cells"]:
        if c["status"] == "unchecked":
            want["TrailkeepCellUnchecked"].add(frozenset({
                "severity": "page", "code": "cell_unchecked", "account": c["account"],
                "region": c["region"]}.items()))
    return want


def promtool(*args, stdin=None):
    return subprocess.run(["promtool"] + list(args), input=stdin, capture_output=True, text=True,
                          timeout=120)


def main():
    t0 = time.time()
    if subprocess.run(["sh", "-c", "command -v promtool"], capture_output=True).returncode:
        check(False, "promtool is installed (Debian package prometheus; make deps)")
        return 1
    fa = FakeAWS(seed=31, stderr=subprocess.DEVNULL)
    tmp = tempfile.mkdtemp(prefix="tk-deploy-prom-")
    try:
        run(fa, tmp)
    finally:
        fa.stop()
        subprocess.run(["rm", "-rf", tmp])
    print("# deploy_prometheus: %.1f s" % (time.time() - t0))
    return 1 if check.failures else 0


def verify_run(fa, w, cfg, tmp, name):
    prom = os.path.join(tmp, name + ".prom")
    p = vf.run_verify(fa, w, NOW, [cfg, "--since", "6h", "--json", "--metrics", prom])
    doc = vf.json_of(p)
    text = open(prom).read() if os.path.exists(prom) else ""
    return p, doc, text, prom


def run(fa, tmp):
    w = vf.build_world(fa, members=3)
    m = w["members"]
    fa.post("tamper", kind="modify_log", trail=w["arn"], account=m[0]["id"], region="eu-west-1")
    cfg = os.path.join(tmp, "org.ini")
    # a single-region trail config against the multi-region trail: trail_config_drift;
    # 123456789012 is expected but no member: account_not_in_org, prefix_missing
    vf.org_config(w, cfg, w["accounts"] + ["123456789012"], global_events=False)

    p1, doc1, text1, prom1 = verify_run(fa, w, cfg, tmp, "run1")
    fa.post("set_faults", forced=[{"service": "s3", "operation": "ListObjectsV2",
                                   "code": "AccessDenied", "status": 403, "count": 1000}])
    p2, doc2, text2, prom2 = verify_run(fa, w, cfg, tmp, "run2")
    fa.post("set_faults")
    codes1 = set(f["code"] for f in doc1["findings"]) if doc1 else set()
    check(p1.returncode == 1 and doc1 and text1 and
          {"log_hash_mismatch", "trail_config_drift", "delivery_stale", "account_not_in_org"} <= codes1,
          "run 1: exit 1, integrity, drift, stale delivery and membership findings, metrics written",
          "rc=%d %s %s" % (p1.returncode, sorted(codes1), p1.stderr[-400:]))
    check(p2.returncode == 3 and doc2 and text2 and
          all(c["status"] == "unchecked" for c in doc2["cells"]),
          "run 2 (S3 listing refused): exit 3, every cell unchecked, metrics written",
          "rc=%d %s" % (p2.returncode, p2.stderr[-400:]))
    if not (doc1 and doc2 and text1 and text2):
        return

    # --- promtool check metrics --------------------------------------------------------
    for name, prom in (("run 1", prom1), ("run 2", prom2)):
        with open(prom) as f:
            r = promtool("check", "metrics", stdin=f.read())
        check(r.returncode == 0 and not r.stdout.strip() and not r.stderr.strip(),
              "promtool check metrics accepts the --metrics file of %s" % name, r.stdout + r.stderr)
    s1, s2 = parse_metrics(text1), parse_metrics(text2)
    check(not [s for s in s1 + s2 if s[0] == "!unparsed" or "!bad" in s[1]],
          "every sample line parses as name{labels} value (no timestamps)")
    last = [v for n, _, v in s1 if n == "trailkeep_last_run_timestamp_seconds"]
    check(last == ["1767243600"], "trailkeep_last_run_timestamp_seconds is the run's time (%s)" % NOW,
          last)

    # --- promtool check rules, labels and runbooks -------------------------------------------
    r = promtool("check", "rules", RULES)
    check(r.returncode == 0 and "SUCCESS: 5 rules found" in r.stdout,
          "promtool check rules: the 5 alert rules are valid", r.stdout + r.stderr)
    import yaml
    with open(RULES) as f:
        rules = [x for g in yaml.safe_load(f)["groups"] for x in g["rules"]]
    for x in rules:
        expr, lab = x["expr"], x.get("labels", {})
        has = lambda k: k in lab or re.search(r"by \([^)]*\b%s\b" % k, expr)  # noqa: E731
        check(all(has(k) for k in ("account", "region", "code")) and
              "trailkeep doctor" in x.get("annotations", {}).get("runbook", ""),
              "alert %s: labels account, region, code; its runbook names `trailkeep doctor`"
              % x["alert"], x)
    used = set(re.findall(r"\btrailkeep_[a-z_]+", " ".join(x["expr"] for x in rules)))
    written = set(n for n, _, _ in s1 + s2)
    check(used and used <= written, "the rules use only series --metrics writes (%s)"
          % ", ".join(sorted(used)), sorted(used - written))

    # --- promtool test rules on the runs' series ------------------------------------------
    allkeys = {}
    for run_i, samples in ((0, s1), (1, s2)):
        for n, lab, v in samples:
            allkeys.setdefault(series_text(n, lab), ["_"] * (2 * STEPS))
            for j in range(STEPS):
                allkeys[series_text(n, lab)][run_i * STEPS + j] = v
    inputs = [{"series": k, "values": " ".join(v)} for k, v in sorted(allkeys.items())]
    cases = []
    byname = {x["alert"]: x for x in rules}

    def exp(name, labels):
        # promtool compares annotations too: the rule's templates with the labels
        ann = {k: re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda mm: labels.get(mm.group(1), ""), v)
               for k, v in byname[name].get("annotations", {}).items()}
        return {"exp_labels": labels, "exp_annotations": ann}
    for at, doc in (("30m", doc1), ("90m", doc2)):
        for name, sets in sorted(expected_alerts(doc).items()):
            cases.append({"eval_time": at, "alertname": name,
                          "exp_alerts": [exp(name, dict(sorted(s))) for s in sorted(sets, key=sorted)]})
        cases.append({"eval_time": at, "alertname": "TrailkeepNotRun", "exp_alerts": []})
    n1 = {k: len(v) for k, v in expected_alerts(doc1).items()}
    n2 = {k: len(v) for k, v in expected_alerts(doc2).items()}
    check(all(n1[k] for k in ("TrailkeepCellRed", "TrailkeepDeliveryLate",
                              "TrailkeepIntegrityFailure")) and n1["TrailkeepCellUnchecked"] == 0
          and n2["TrailkeepCellUnchecked"] == len(doc2["cells"]) and n2["TrailkeepDeliveryLate"] == 0,
          "the runs' documents call for red, late and integrity alerts (run 1) and unchecked "
          "ones (run 2): %s / %s" % (n1, n2))
    stale = [
        # the last run at t=0: nothing for 2 h; `for: 5m`
        {"interval": "5m", "input_series": [{"series": "trailkeep_last_run_timestamp_seconds",
                                             "values": "0x40"}],
         "alert_rule_test": [
             {"eval_time": "2h", "alertname": "TrailkeepNotRun", "exp_alerts": []},
             {"eval_time": "2h10m", "alertname": "TrailkeepNotRun",
              "exp_alerts": [exp("TrailkeepNotRun", {"severity": "page", "code": "not_run"})]}]},
        # a run every 5 m: never
        {"interval": "5m", "input_series": [{"series": "trailkeep_last_run_timestamp_seconds",
                                             "values": "0+300x40"}],
         "alert_rule_test": [{"eval_time": "3h", "alertname": "TrailkeepNotRun", "exp_alerts": []}]},
        # never ran at all
        {"interval": "5m", "input_series": [{"series": "trailkeep_cells{status=\"ok\"}",
                                             "values": "1x40"}],
         "alert_rule_test": [{"eval_time": "30m", "alertname": "TrailkeepNotRun",
                              "exp_alerts": [exp("TrailkeepNotRun", {"severity": "page", "code": "not_run"})]}]},
    ]
    test = {"rule_files": [RULES], "evaluation_interval": "1m",
            "tests": [{"interval": "5m", "input_series": inputs, "alert_rule_test": cases}] + stale}
    tf = os.path.join(tmp, "rules-test.yml")
    with open(tf, "w") as f:
        yaml.safe_dump(test, f, sort_keys=False)
    r = promtool("test", "rules", tf)
    check(r.returncode == 0 and "SUCCESS" in r.stdout,
          "promtool test rules: on the two runs' series every expected alert fires with its "
          "account/region/code and nothing else (%d series, %d cases); not-run after 2 h and "
          "when absent" % (len(inputs), len(cases)), (r.stdout + r.stderr)[-3000:])
    # the test can fail: one expected alert too many is reported
    bad = json.loads(json.dumps(test))
    bad["tests"][0]["alert_rule_test"][0]["exp_alerts"].append({"exp_labels": {"code": "nope"}})
    with open(tf, "w") as f:
        yaml.safe_dump(bad, f, sort_keys=False)
    r = promtool("test", "rules", tf)
    check(r.returncode != 0, "promtool test rules fails when an expected alert is missing")

    # --- Grafana dashboard ---------------------------------------------------------------
    try:
        with open(DASH) as f:
            dash = json.load(f)
    except (OSError, ValueError) as e:
        check(False, "deploy/grafana/trailkeep.json is valid JSON", e)
        return
    exprs = []

    def walk(o):
        if isinstance(o, dict):
            if isinstance(o.get("expr"), str):
                exprs.append(o["expr"])
            for v in o.values():
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)
    walk(dash)
    names = set(re.findall(r"\btrailkeep_[a-z_]+", " ".join(exprs)))
    titles = " ".join(p.get("title", "") for p in dash.get("panels", [])).lower()
    check(dash.get("title") and dash.get("uid") and exprs and names <= written and
          {"trailkeep_cell_status", "trailkeep_delivery_age_seconds",
           "trailkeep_integrity_failures"} <= names,
          "the dashboard is valid JSON; its %d queries name only series --metrics writes, "
          "among them cell status, delivery age and integrity failures" % len(exprs),
          sorted(names - written))
    check("status" in titles and "delivery" in titles and "integrity" in titles,
          "the dashboard has status, delivery age and integrity panels", titles)
    for e in exprs:
        # PromQL syntax: promtool has no expression checker, but a rule file does
        rf = os.path.join(tmp, "expr.yml")
        with open(rf, "w") as f:
            yaml.safe_dump({"groups": [{"name": "g", "rules": [
                {"record": "x", "expr": re.sub(r"\$\{?__\w+\}?", "5m", e)}]}]}, f)
        r = promtool("check", "rules", rf)
        check(r.returncode == 0, "dashboard query parses as PromQL: %s" % e[:80], r.stdout + r.stderr)


if __name__ == "__main__":
    sys.exit(main())
