"""The matrix flow and its checks.

For one generated config:
  1. plan; apply; deliver two hours (the fake's `advance`); verify (with
     integrity) green on exactly the declared cells; a second apply makes zero
     write calls; doctor green.  The healthy world is saved.
  2. each break on a fresh copy of the healthy world: make it, let the logs go
     stale (max_delivery_age + 15 min), then verify --no-integrity (doctor's view:
     README "doctor" runs verify's control-plane and freshness checks) and
     doctor against catalogue.EXPECT; then the fix: `trailkeep apply` must
     converge (verify green again an hour later, a further apply makes zero
     writes), otherwise the fix text is checked and the break reverted by hand
     where that is possible (then verify must be green again).

Every result line starts with "PASS: " or "FAIL: " and names the seed, mode and
break; a failing break prints the generated config and the replay command."""

import json
import os
import traceback
import random
import shutil
import time

from . import breaks as B
from .catalogue import APPLY, EXPECT
from .gen import MGMT, OPT_IN
from .world import World


class Result:
    def __init__(self, seed, mode, brk):
        self.seed, self.mode, self.brk = seed, mode, brk
        self.errors = []
        self.status = "PASS"
        self.note = ""

    def fail(self, what):
        self.errors.append(what)
        self.status = "FAIL"


def replay(cfg, brk=None):
    s = "make matrix SEED=%d COUNT=1 MODE=%s" % (cfg.seed, cfg.mode)
    if cfg.forced:
        s += " FORCE='%s'" % json.dumps(cfg.forced, separators=(",", ":"))
    if brk:
        s += " ONLY=%s" % brk
    return s


# --- verify ---------------------------------------------------------------------------------

def _codes_by_cell(doc):
    out = {}
    stray = []
    for f in doc.get("findings", []):
        if f.get("region") is None:
            stray.append(f)
            continue
        out.setdefault((f["account"], f["region"]), set()).add(f["code"])
    return out, stray


def check_verify(res, rc, doc, out, cells, kinds, exp, stage, labels=None):
    """verify's findings on exactly the expected cells (README tables via
    catalogue.EXPECT); every other cell ok."""
    if doc is None:
        res.fail("%s: verify printed no JSON document (exit %d): %s" % (stage, rc, out[-1500:]))
        return
    got_cells = sorted((c["account"], c["region"]) for c in doc.get("cells", []))
    if got_cells != sorted(cells):
        res.fail("%s: verify's cells %s, declared %s" % (stage, got_cells, sorted(cells)))
    by_cell, stray = _codes_by_cell(doc)
    for c in sorted(set(by_cell) - set(cells)):
        res.fail("%s: findings %s on cell %s, which the config does not declare" %
                 (stage, sorted(by_cell[c]), c))
    req_all = exp.get("verify", {})
    any_all = exp.get("verify_any", {})
    may_all = exp.get("verify_may", {})
    bad = {}         # one line per kind of mismatch, with the cells it concerns
    for c in cells:
        req, may, anys = set(), set(), []
        for k, codes in req_all.items():
            if c in kinds.get(k, ()):
                req |= codes
        for k, codes in may_all.items():
            if c in kinds.get(k, ()):
                may |= codes
        for k, codes in any_all.items():
            if c in kinds.get(k, ()):
                anys.append(codes)
        got = by_cell.get(c, set())
        missing = req - got
        extra = got - req - may
        if missing or extra or any(not (got & a) for a in anys):
            why = "verify codes %s, expected %s%s%s" % (
                sorted(got) or "none", sorted(req) or "none",
                (" (may also: %s)" % sorted(may)) if may else "",
                "".join(" (one of %s)" % sorted(a) for a in anys))
            bad.setdefault(why, []).append("%s %s" % c)
    for why, cs in bad.items():
        res.fail("%s: %s on cell%s %s" % (stage, why, "s" if len(cs) > 1 else "", ", ".join(cs)))
    want_stray = sorted(exp.get("extra", []))
    labels = dict(labels or {})
    labels.setdefault(B.UNKNOWN_ACCOUNT, "unknown-account")
    got_stray = sorted((f["code"], labels.get(f["account"], f["account"])) for f in stray)
    may_stray = set(exp.get("extra_may", []))
    for anys in exp.get("extra_any", []):
        if not set(got_stray) & anys:
            res.fail("%s: findings on no cell %s, expected one of %s" % (stage, got_stray, sorted(anys)))
    got_stray = [x for x in got_stray if x not in may_stray or x in want_stray]
    if got_stray != want_stray:
        res.fail("%s: findings on no cell %s, expected %s" % (stage, got_stray, want_stray))
    want_rc = exp.get("verify_exit", 0)
    if rc not in (want_rc if isinstance(want_rc, tuple) else (want_rc,)):
        res.fail("%s: verify exit %d, expected %s" % (stage, rc, want_rc))
    for cd in doc.get("cells", []):
        c = (cd["account"], cd["region"])
        if c in by_cell and cd.get("status") == "ok":
            res.fail("%s: cell %s %s has findings but status ok" % (stage, c[0], c[1]))


# --- doctor ---------------------------------------------------------------------------------

def _cause_for(exp, kinds, c):
    for k, causes in exp.get("cause", []):
        if c in kinds.get(k, ()):
            return set(causes)
    return None


def check_doctor(res, rc, doc, out, cells, kinds, exp, ctx, config):
    if doc is None:
        res.fail("doctor: no JSON document (exit %d): %s" % (rc, out[-1500:]))
        return
    red = {(c["account"], c["region"]): c for c in doc.get("cells", []) if c.get("status") != "ok"}
    req = set()
    for k in exp.get("red", []):
        req |= set(kinds.get(k, ()))
    may = set(req)
    for k in exp.get("red_may", []):
        may |= set(kinds.get(k, ()))
    if not req <= set(red) or not set(red) <= may:
        res.fail("doctor: red cells %s, expected %s%s" % (
            sorted(red), sorted(req), (" (may also: %s)" % sorted(may - req)) if may - req else ""))
    main = exp.get("main")
    mains = {main}
    bad = {}

    def note(c, why):
        bad.setdefault(why, []).append("%s %s" % c)
    for c, cd in sorted(red.items()):
        if cd.get("status") != "cause":
            note(c, "status %s (error: %s)" % (cd.get("status"), cd.get("error")))
            continue
        want = _cause_for(exp, kinds, c)
        if want is not None and cd.get("cause") not in want:
            note(c, "cause %s, expected %s (symptom: %s)" % (cd.get("cause"), sorted(want), cd.get("symptom")))
        if cd.get("cause") not in mains:
            continue
        k = cd.get("culprit") or {}
        if exp.get("culprit"):
            who = k.get("who") or ""
            ok = k.get("event") == exp["culprit"] and \
                ((ctx.who in who) if ctx.who_contains else (who == ctx.who)) and k.get("when") == ctx.when
            if not ok:
                note(c, "culprit %s, expected %s by %s at %s" % (json.dumps(k), exp["culprit"], ctx.who, ctx.when))
        fix = cd.get("fix") or ""
        if exp.get("fix") == APPLY:
            if not fix.startswith("trailkeep apply %s" % config):
                note(c, "fix %r, expected 'trailkeep apply CONFIG'" % fix)
        elif exp.get("fix"):
            for s in exp["fix"] if isinstance(exp["fix"], list) else [exp["fix"]]:
                if s not in fix:
                    note(c, "fix %r does not say %r" % (fix, s))
        for s in ([exp["fix_note"]] if exp.get("fix_note") else []) + ctx.fix_contains:
            if s not in fix:
                note(c, "fix %r does not say %r" % (fix, s))
    for why, cs in bad.items():
        res.fail("doctor: %s on cell%s %s" % (why, "s" if len(cs) > 1 else "", ", ".join(cs)))
    # README "doctor": exit 1 when a cause is found on a cell with an error;
    # a cause on a cell whose verify findings are all warnings is severity
    # warning, and warnings alone exit 0 (verify's own severity rule)
    if red and not any(cd.get("status") == "unexamined" for cd in red.values()):
        want_rc = 1 if exp.get("verify_exit", 0) == 1 or \
            any(cd.get("severity") != "warning" for cd in red.values()) else 0
        if rc != want_rc:
            res.fail("doctor: exit %d with causes found, expected %d" % (rc, want_rc))
        sev_want = "warning" if exp.get("verify_exit", 0) == 0 else None
        for c, cd in sorted(red.items()):
            if sev_want and cd.get("status") == "cause" and cd.get("severity") != sev_want:
                res.fail("doctor: cell %s %s severity %s, expected %s (verify saw only warnings)"
                         % (c[0], c[1], cd.get("severity"), sev_want))
    if not red and req:
        res.fail("doctor: exit %d, nothing red" % rc)
    # account-level causes (README "doctor"): verify's account_unconfigured /
    # prefix_unexpected, each a warning; alone, doctor exits 0
    labels = dict(ctx.labels or {})
    labels.setdefault(B.UNKNOWN_ACCOUNT, "unknown-account")
    got = {labels.get(a.get("account"), a.get("account")): a for a in doc.get("accounts", [])}
    want = exp.get("accounts", {})
    if sorted(got) != sorted(want):
        res.fail("doctor: account-level causes on %s, expected on %s" % (sorted(got), sorted(want)))
    for label, cause in sorted(want.items()):
        a = got.get(label)
        if a is None:
            continue
        if a.get("cause") != cause or a.get("severity") != "warning":
            res.fail("doctor: account %s cause %s (%s), expected %s (warning)"
                     % (label, a.get("cause"), a.get("severity"), cause))
        if config not in (a.get("fix") or ""):
            res.fail("doctor: account %s fix %r does not name the config" % (label, a.get("fix")))
    if want and not red and rc != 0:
        res.fail("doctor: exit %d with only account-level warnings, expected 0" % rc)


# --- the flow ---------------------------------------------------------------------------------

# --- fail closed (issue 13): each call verify and doctor make, failed in turn --------------------

# fast retries: the 500 variant fails every attempt of every retry
FAST = {"TRAILKEEP_BACKOFF_SCALE": "0.001", "AWS_MAX_ATTEMPTS": "2"}


def ops_of(w, fn):
    """The service:Operation names the fake served while fn() ran (control ops left out)."""
    since = w.mark()
    fn()
    return sorted(op for op in w.fa.post("stats", since=since)["per_op"] if not op.startswith("control:"))


def fail_closed_sweep(res, w, label, codes, red_before, causes_before, warnings_only=False):
    """README "Fail closed": a check whose call failed is unchecked (verify:
    cell_unchecked, exit 3) or unexamined (doctor, exit 3), never passed.  For
    every operation verify (--no-integrity) and doctor make in this world, the
    fake fails every call of it; then:
    - verify is never green (exit 1 or 3, not every cell ok), and a world that
      was red stays red (exit 1 or 3);
    - doctor never exits 0 (unless, without the fault, it found only causes of
      severity warning and exited 0: then it may still); no cell red without
      the fault is healthy with it;
    - a cell whose cause was `unknown` ("every check passed") is never `unknown`
      while a call doctor made failed: it is unexamined."""
    vops = ops_of(w, lambda: w.tk_json("verify", "--no-integrity", env=FAST))
    dops = ops_of(w, lambda: w.tk_json("doctor", env=FAST))
    if len(vops) < 4 or len(dops) < 4:
        res.fail("%s: verify and doctor make calls (%s; %s)" % (label, vops, dops))
        return
    for op in sorted(set(vops) | set(dops)):
        svc, _, name = op.partition(":")
        for code, status in codes:
            what = "%s: with %s failing (%d %s)" % (label, op, status, code)
            w.fa.post("set_faults", forced=[{"service": svc, "operation": name, "code": code,
                                             "status": status, "message": "injected by the matrix"}])
            try:
                if op in vops:
                    rc, doc, out = w.tk_json("verify", "--no-integrity", env=FAST)
                    st = sorted(set(c.get("status") for c in (doc or {}).get("cells", [])))
                    if rc not in (1, 3) or st == ["ok"]:
                        res.fail("%s, verify is green (exit %d, cells %s): %s" % (what, rc, st, out[-800:]))
                if op not in dops:
                    continue
                rc, doc, out = w.tk_json("doctor", env=FAST)
                cells = {(c["account"], c["region"]): c for c in (doc or {}).get("cells", [])}
                if (rc not in (1, 3) and not (warnings_only and rc == 0)) or \
                        (doc is not None and red_before and
                         not [c for c in cells.values() if c.get("status") != "ok"]):
                    res.fail("%s, doctor is green (exit %d): %s" % (what, rc, out[-800:]))
                for c in sorted(red_before):
                    cd = cells.get(c)
                    if cd is not None and cd.get("status") == "ok":
                        res.fail("%s, doctor calls red cell %s %s healthy" % (what, c[0], c[1]))
                    if cd is not None and causes_before.get(c) == "unknown" and cd.get("cause") == "unknown":
                        res.fail("%s, doctor still says 'unknown' (every check passed) on %s %s"
                                 % (what, c[0], c[1]))
            finally:
                w.fa.post("set_faults")


class Runner:
    def __init__(self, tmp, verbose=False, timings=None, fail_closed=None):
        self.tmp = tmp
        self.verbose = verbose
        # None, or the (code, status) pairs each call is failed with
        self.fail_closed = fail_closed
        self.results = []
        self.timings = timings if timings is not None else {}

    def log(self, s):
        if self.verbose:
            print("# " + s, flush=True)

    def emit(self, res, cfg, world_config=None):
        self.results.append(res)
        head = "[seed=%d %s] %s" % (res.seed, res.mode, res.brk)
        if res.status == "PASS":
            print("PASS: %s%s" % (head, (" (%s)" % res.note) if res.note else ""), flush=True)
        elif res.status == "PENDING":
            print("# PENDING: %s: %s" % (head, res.note), flush=True)
        elif res.status == "SKIP":
            print("# SKIP: %s: %s" % (head, res.note), flush=True)
        else:
            print("FAIL: %s%s" % (head, (" (%s)" % res.note) if res.note else ""))
            for e in res.errors:
                print("    " + e.replace("\n", "\n      "))
            print("    config: %s" % cfg.summary())
            print("    replay: %s" % replay(cfg, None if res.brk == "healthy" else res.brk))
            if world_config:
                print("    generated config:")
                for line in world_config.splitlines():
                    print("      | " + line)
        print("", end="", flush=True)

    def baseline(self, w):
        """Step 1: build the healthy world in w; returns (snapshot dir, Result)."""
        cfg = w.cfg
        res = Result(cfg.seed, cfg.mode, "healthy")
        try:
            w.setup()
            rc, out, err = w.tk("plan", "-o", os.path.join(w.tmp, "plan"))
            if rc != 0:
                res.fail("plan: exit %d: %s" % (rc, (out + err)[-1500:]))
                return None, res
            rc, out, writes = w.apply()
            if rc != 0:
                res.fail("apply: exit %d: %s" % (rc, out[-2500:]))
                return None, res
            w.advance(2 * 3600)
            cells = cfg.cells()
            rc, doc, out = w.tk_json("verify")
            check_verify(res, rc, doc, out, cells, {}, {}, "healthy verify")
            rc, out, writes = w.apply()
            if rc != 0 or writes != 0 or "nothing to do" not in out:
                res.fail("second apply: exit %d, %d write calls (expected 0, 'nothing to do'): %s" %
                         (rc, writes, out[-1500:]))
            rc, doc, out = w.tk_json("doctor")
            check_doctor(res, rc, doc, out, cells, {}, {}, B.Ctx(MGMT), w.config)
            if rc != 0:
                res.fail("healthy doctor: exit %d" % rc)
            if self.fail_closed:
                fail_closed_sweep(res, w, "healthy", self.fail_closed, set(), {})
            snap = os.path.join(w.tmp, "healthy")
            w.save(snap)
            return snap, res
        except Exception as e:          # a broken harness step is a failure, never a skip
            res.fail("exception: %r\n%s" % (e, traceback.format_exc()[-2000:]))
            return None, res

    def applicable(self, cfg, name):
        exp = EXPECT[name]
        if cfg.mode not in exp["modes"]:
            return "organization mode only" if cfg.mode == "per-account" else "per-account mode only"
        for n in exp.get("needs", []):
            if n == "multi_region" and not cfg.multi_region:
                return "needs multi_region = true"
            if n == "single_region" and cfg.multi_region:
                return "needs multi_region = false"
            if n == "retention" and not cfg.retention_days:
                return "needs retention_days"
            if n == "no_lock" and cfg.object_lock != "none":
                return "needs object_lock = none (objects cannot be deleted)"
            if n == "opt_in" and OPT_IN not in cfg.regions:
                return "needs an opt-in region"
            if n == "data_events" and not cfg.data_events:
                return "needs data_events"
            if n == "mgmt_trail" and MGMT not in cfg.sections():
                return "needs a management account [account] section"
            if n == "monitoring" and not cfg.monitoring:
                return "needs [monitoring]"
            if n == "alarms" and (not cfg.monitoring or "none" in cfg.alarm_sets()):
                return "needs [monitoring] alarms"
            if n == "topic_key" and cfg.mon("topic_key") == "none":
                return "needs an encrypted alarm topic"
            if n == "subscribe" and not cfg.mon("subscribe"):
                return "needs [monitoring] subscribe"
            if n == "access_log" and not cfg.access_bucket:
                return "needs access_log_bucket"
        if name in ("account_left_org", "account_removed_from_org", "account_suspended") and not cfg.members:
            return "needs a member account"
        if name == "bucket_changed_unreadable" and not [a for a in cfg.trail_owners() if a != cfg.central]:
            return "needs a trail owned by another account than the central one"
        if name == "trusted_access_off" and not cfg.members:
            return "needs a member account"
        return None

    def run_break(self, w, snap, name):
        cfg = w.cfg
        res = Result(cfg.seed, cfg.mode, name)
        exp = EXPECT[name]
        why = self.applicable(cfg, name)
        if why:
            res.status, res.note = "SKIP", why
            return res, None
        pend = B.pending_reason(w, name)
        if pend:
            res.status, res.note = "PENDING", pend
            return res, None
        t0 = time.time()
        text = None
        try:
            w.reload(snap)
            rng = random.Random("%d/%s/%s" % (cfg.seed, cfg.mode, name))
            ctx = B.make(w, name, rng)
            res.note = ctx.note
            if ctx.config_text:
                w.write_config(ctx.config_text)
            text = open(w.config).read()
            # the newest log before the break is then older than max_delivery_age
            adv = exp.get("advance", cfg.max_age[1] + 900)
            if exp.get("advance_cw"):
                adv = max(cfg.max_age[1], cfg.cw_max_age()) + 900
            if exp.get("advance_access"):
                adv = cfg.access_max_age() + 3600
            exp = self.monitoring_may(cfg, exp, adv)
            if adv:
                w.advance(adv)
            cells = list(cfg.cells())
            if ctx.cell and ctx.cell not in cells:
                cells = sorted(cells + [ctx.cell])
            kinds = self.kinds(cfg, ctx, cells, exp.get("scope"))
            if "central" in exp.get("red", []) and not kinds["central"]:
                exp = self.no_central_cell(cfg, exp)
            self.check_alarm(res, w, cfg, ctx, exp)
            rc, doc, out = w.tk_json("verify", "--no-integrity")
            check_verify(res, rc, doc, out, cells, kinds, exp, "verify", ctx.labels)
            if exp.get("doctor", True):
                rc, doc, out = w.tk_json("doctor")
                check_doctor(res, rc, doc, out, cells, kinds, exp, ctx, w.config)
                if self.fail_closed and doc is not None:
                    red = {(c["account"], c["region"]): c.get("cause") for c in doc.get("cells", [])
                           if c.get("status") != "ok"}
                    fail_closed_sweep(res, w, "break %s" % name, self.fail_closed, set(red), red,
                                      warnings_only=(rc == 0))
            if exp.get("fix") == APPLY:
                self.converge(res, w, cfg, exp, kinds)
            elif ctx.revert:
                ctx.revert()
                w.advance(3600)
                rc, doc, out = w.tk_json("verify", "--no-integrity")
                check_verify(res, rc, doc, out, cfg.cells(), {}, {}, "after the revert, verify")
        except Exception as e:
            res.fail("exception: %r\n%s" % (e, traceback.format_exc()[-2000:]))
        finally:
            self.timings[(cfg.seed, cfg.mode, name)] = time.time() - t0
            self.sanitizer(res, w)
        return res, text

    @staticmethod
    def check_alarm(res, w, cfg, ctx, exp):
        """catalogue `alarm`: the alarm's message reached the subscriber."""
        if not exp.get("alarm") or not cfg.monitoring or "tampering" not in cfg.alarm_sets() or not ctx.who:
            return
        acct = MGMT if cfg.mode == "organization" else ctx.who.split(":")[4]
        if acct not in cfg.trail_owners():
            return
        topic = cfg.topic_arn(acct)
        msgs = w.fa.post("sns_messages", topic=topic)["messages"]
        got = [json.loads(m["message"]).get("AlarmName") for m in msgs if m.get("endpoints")]
        if exp["alarm"] not in got:
            res.fail("alarm %s did not reach the subscriber of %s (delivered: %s)" % (exp["alarm"], topic, got))

    @staticmethod
    def no_central_cell(cfg, exp):
        """README access_log_stale: on the central account's home-region
        cell, or without a region when the config declares no such cell; doctor
        examines cells, so it has nothing to report."""
        codes = set()
        for k in ("verify", "verify_any"):
            codes |= set(exp.get(k, {}).get("central", set()))
        return dict(exp, verify={}, verify_any={}, extra_any=[{(c, cfg.central) for c in codes}],
                    extra_may=sorted((c, cfg.central) for c in codes), red=[], cause=[])

    @staticmethod
    def monitoring_may(cfg, exp, adv):
        """What [monitoring] may add to a break's findings (catalogue mon_may)."""
        if not cfg.monitoring:
            return exp
        may = {k: set(v) for k, v in exp.get("verify_may", {}).items()}
        mm = exp.get("mon_may") or {}
        for k, codes in (mm.items() if isinstance(mm, dict) else [("trail", mm)]):
            may[k] = may.get(k, set()) | set(codes)
        extra_may = list(exp.get("extra_may", []))
        red_may = list(exp.get("red_may", []))
        if cfg.access_bucket and adv > cfg.access_max_age():
            access = {"access_log_stale", "access_log_none"}
            may["central"] = may.get("central", set()) | access
            extra_may += [(c, cfg.central) for c in sorted(access)]
            red_may.append("central")
        return dict(exp, verify_may=may, extra_may=extra_may, red_may=red_may)

    @staticmethod
    def sanitizer(res, w):
        for r in w.sanitizer:
            res.fail("sanitizer report: %s" % r)
        w.sanitizer = []

    def converge(self, res, w, cfg, exp, kinds):
        rc, out, writes = w.apply()
        if rc != 0:
            res.fail("fix: apply exit %d: %s" % (rc, out[-2000:]))
            return
        if writes == 0:
            res.fail("fix: apply made no write call: %s" % out[-1000:])
        # an hour: CloudTrail's LatestDigestDeliveryError stays until the next
        # (hourly) digest is delivered
        w.advance(3600)
        rc, doc, vout = w.tk_json("verify", "--no-integrity")
        check_verify(res, rc, doc, vout, cfg.cells(), {}, {}, "after apply, verify")
        if exp.get("integrity"):
            rc, doc, vout = w.tk_json("verify")
            after = exp.get("integrity_after")
            check_verify(res, rc, doc, vout, cfg.cells(), kinds,
                         {"verify": after, "verify_exit": 1} if after else {},
                         "after apply, verify with integrity")
        rc, out, writes = w.apply()
        if rc != 0 or writes != 0 or "nothing to do" not in out:
            res.fail("after the fix, a further apply: exit %d, %d write calls (expected 0): %s" %
                     (rc, writes, out[-1500:]))

    def kinds(self, cfg, ctx, cells, scope=None):
        owners = cfg.trail_owners() if scope == "central" else [ctx.owner]
        covered = [c for c in cells if cfg.mode == "organization" or c[0] in owners]
        trail = set()
        for o in owners:
            trail |= set(cfg.trail_cells(o))
        k = {"all": list(cells), "covered": covered,
             "trail": [c for c in cells if c in trail],
             "nonhome": [c for c in covered if c[1] != cfg.home],
             "members": [c for c in covered if c[0] != MGMT]}
        if ctx.victim:
            k["victim"] = [c for c in cells if c[0] == ctx.victim]
            k["others"] = [c for c in cells if c[0] != ctx.victim and c[0] in cfg.trail_owners()]
        if ctx.cell:
            k["cell"] = [ctx.cell]
        k["central"] = [c for c in cells if c == (cfg.central, cfg.home)]
        return k

    def run_config(self, cfg, names):
        t0 = time.time()
        d = os.path.join(self.tmp, "s%d-%s" % (cfg.seed, cfg.mode))
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        w = World(cfg, d, log=self.log)
        try:
            snap, res = self.baseline(w)
            self.sanitizer(res, w)
            self.timings[(cfg.seed, cfg.mode, "healthy")] = time.time() - t0
            text = open(w.config).read() if os.path.exists(w.config) else None
            self.emit(res, cfg, text if res.status == "FAIL" else None)
            if snap is None:
                for n in names:
                    r = Result(cfg.seed, cfg.mode, n)
                    r.status, r.note = "SKIP", "the healthy world could not be built"
                    self.emit(r, cfg)
                return
            for n in names:
                r, text = self.run_break(w, snap, n)
                self.emit(r, cfg, text if r.status == "FAIL" else None)
        finally:
            w.close()

    def summary(self):
        """One line per break and mode: PASS / FAIL / PENDING counts."""
        table = {}
        for r in self.results:
            table.setdefault((r.brk, r.mode), []).append(r.status)
        lines = []
        for (b, m), sts in sorted(table.items()):
            if set(sts) == {"SKIP"}:
                continue
            agg = "FAIL" if "FAIL" in sts else "PENDING" if "PENDING" in sts else \
                "PASS" if "PASS" in sts else "SKIP"
            lines.append("#   %-30s %-13s %-7s (%s)" % (b, m, agg, ", ".join(
                "%d %s" % (sts.count(s), s) for s in ("PASS", "FAIL", "PENDING", "SKIP") if sts.count(s))))
        return lines
