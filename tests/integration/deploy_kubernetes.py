#!/usr/bin/python3
"""deploy/kubernetes/base (issue 16 "Kubernetes", issue 18 "Operations").

  - the Kustomize base is resolved (resources, namespace, the ConfigMap
    generator, images, the replacements that make completions the one edit
    for N); when kubectl is installed, `kubectl kustomize` must give the
    same objects as this resolution (kubectl is not a Debian package, so the
    resolution here is what runs everywhere);
  - every object deserializes into the Kubernetes API's typed model of the
    Python client (python3-kubernetes) AND serializes back to exactly the
    manifest: the client ignores unknown fields, so a misspelled or unknown
    field shows up as a difference (a misspelled copy must fail);
  - what the README promises: Indexed Job, parallelism = completions =
    SHARDS, Forbid concurrency, non-root, read-only root filesystem, no
    privilege escalation, no capabilities, resource requests, the
    ServiceAccount with the IRSA annotation, a ReadWriteMany volume;
  - the shard arithmetic: the container's command line, taken from the
    resolved CronJob, run locally against the fake AWS once per
    JOB_COMPLETION_INDEX (all at once, as the Job does; shard 1 waits for
    the others and merges, pushing the metrics to a local stand-in for the
    Pushgateway) must give what one unsharded run gives: the same --json
    document, the same metrics file byte for byte; again with N changed by
    the one edit.
Prints PASS:/FAIL: lines; exit 1 on any failure.
"""

import copy
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import yaml

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, TOP)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tests.fakeaws.control import FakeAWS  # noqa: E402
from tests.fakeaws.testing import Checks  # noqa: E402
import validate_fakeaws as vf  # noqa: E402

TK = os.environ.get("TRAILKEEP_BIN") or os.path.join(TOP, "trailkeep")
BASE = os.path.join(TOP, "deploy", "kubernetes", "base")
NOW = "2026-01-01T03:00:00Z"
check = Checks(limit=3000)

MODELS = {("v1", "ServiceAccount"): "V1ServiceAccount",
          ("v1", "PersistentVolumeClaim"): "V1PersistentVolumeClaim",
          ("v1", "ConfigMap"): "V1ConfigMap",
          ("batch/v1", "CronJob"): "V1CronJob"}


# ------------------------------------------------------------------ kustomize
def field_walk(obj, path, create=False):
    """(parent, key) of a kustomize fieldPath like a.b.[name=x].c"""
    parts = re.findall(r"\[[^\]]*\]|[^.\[\]]+", path)
    cur = obj
    for i, p in enumerate(parts):
        last = i == len(parts) - 1
        if p.startswith("["):
            k, _, v = p[1:-1].partition("=")
            hits = [x for x in cur if isinstance(x, dict) and x.get(k) == v]
            if len(hits) != 1:
                raise KeyError(path)
            if last:
                return cur, cur.index(hits[0])
            cur = hits[0]
        else:
            if last:
                return cur, p
            cur = cur[p]
    raise KeyError(path)


def kustomize(base, overrides=None):
    """The objects `kustomize build base` makes, for the features the base uses.
    overrides: {file: text} replacing files of the base."""
    overrides = overrides or {}

    def read(name):
        if name in overrides:
            return overrides[name]
        with open(os.path.join(base, name)) as f:
            return f.read()
    k = yaml.safe_load(read("kustomization.yaml"))
    known = {"apiVersion", "kind", "namespace", "resources", "configMapGenerator",
             "generatorOptions", "images", "replacements"}
    if set(k) - known:
        raise ValueError("kustomization.yaml uses %s: teach this test" % sorted(set(k) - known))
    docs = []
    for r in k.get("resources", []):
        docs += [d for d in yaml.safe_load_all(read(r)) if d]
    for g in k.get("configMapGenerator", []):
        if not k.get("generatorOptions", {}).get("disableNameSuffixHash"):
            raise ValueError("a name suffix hash: teach this test")
        docs.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": g["name"]},
                     "data": {os.path.basename(f): read(f) for f in g.get("files", [])}})
    for d in docs:
        d["metadata"]["namespace"] = k["namespace"]
    for im in k.get("images", []):
        for d in docs:
            spec = d.get("spec", {}).get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec", {})
            for c in spec.get("containers", []):
                if c["image"] == im["name"]:
                    c["image"] = "%s:%s" % (im.get("newName", im["name"]), im["newTag"])
    for rep in k.get("replacements", []):
        src = rep["source"]
        sdoc = [d for d in docs if d["kind"] == src["kind"] and d["metadata"]["name"] == src["name"]]
        parent, key = field_walk(sdoc[0], src["fieldPath"])
        val = parent[key]
        for t in rep["targets"]:
            sel = t["select"]
            for d in docs:
                if d["kind"] != sel["kind"] or d["metadata"]["name"] != sel["name"]:
                    continue
                for fp in t["fieldPaths"]:
                    parent, key = field_walk(d, fp)
                    # kustomize keeps the target's type ("4" for an env value)
                    parent[key] = str(val) if isinstance(parent[key], str) else val
    return docs


# ------------------------------------------------------------------ models
class _Resp:
    def __init__(self, doc):
        self.data = json.dumps(doc)


def roundtrip(doc):
    """(model object, serialized-back dict) or raises"""
    from kubernetes import client
    api = client.ApiClient()
    cls = MODELS[(doc["apiVersion"], doc["kind"])]
    obj = api.deserialize(_Resp(doc), cls)
    return obj, api.sanitize_for_serialization(obj)


def diff(a, b, path=""):
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b)):
            if k not in b:
                out.append("%s.%s lost (unknown to the API)" % (path, k))
            elif k not in a:
                out.append("%s.%s added" % (path, k))
            else:
                out += diff(a[k], b[k], "%s.%s" % (path, k))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [x for i in range(len(a)) for x in diff(a[i], b[i], "%s[%d]" % (path, i))]
    return [] if a == b and type(a) is type(b) else ["%s: %r != %r" % (path, a, b)]


# ------------------------------------------------------------------ pushgateway stand-in
class Push(http.server.BaseHTTPRequestHandler):
    got = []

    def do_PUT(self):
        n = int(self.headers.get("Content-Length", "0"))
        Push.got.append((self.path, self.rfile.read(n).decode()))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


def main():
    t0 = time.time()
    tmp = tempfile.mkdtemp(prefix="tk-k8s-")
    try:
        docs = static(tmp)
        if docs:
            fa = FakeAWS(seed=41, stderr=subprocess.DEVNULL)
            try:
                shards(fa, tmp, docs)
            finally:
                fa.stop()
    finally:
        subprocess.run(["rm", "-rf", tmp])
    print("# deploy_kubernetes: %.1f s" % (time.time() - t0))
    return 1 if check.failures else 0


def cronjob_of(docs):
    return [d for d in docs if d["kind"] == "CronJob"][0]


def static(tmp):
    try:
        docs = kustomize(BASE)
    except Exception as e:  # noqa: BLE001
        check(False, "the Kustomize base resolves", repr(e))
        return None
    kinds = sorted(d["kind"] for d in docs)
    check(kinds == ["ConfigMap", "CronJob", "PersistentVolumeClaim", "ServiceAccount"],
          "the base has a ServiceAccount, a PersistentVolumeClaim, the config's ConfigMap and the "
          "CronJob", kinds)
    if shutil.which("kubectl"):
        r = subprocess.run(["kubectl", "kustomize", BASE], capture_output=True, text=True, timeout=120)
        theirs = sorted((d for d in yaml.safe_load_all(r.stdout) if d), key=lambda d: d["kind"]) \
            if r.returncode == 0 else None
        ours = sorted(docs, key=lambda d: d["kind"])
        check(theirs == ours, "kubectl kustomize gives the same objects as the resolution here",
              r.stderr if theirs is None else diff(ours, theirs)[:10])
    else:
        print("# kubectl not installed: the base's resolution is this test's own")

    for d in docs:
        try:
            obj, back = roundtrip(d)
            problems = diff(d, back)
        except Exception as e:  # noqa: BLE001
            obj, problems = None, [repr(e)]
        check(obj is not None and not problems,
              "%s %s: deserializes into the client's typed model and serializes back unchanged"
              % (d["kind"], d["metadata"]["name"]), problems[:10])
    # the round trip can fail: an unknown field, a misspelled one, a wrong type
    cj = cronjob_of(docs)
    for what, mutate in [
            ("a misspelled field (completion)",
             lambda c: c["spec"]["jobTemplate"]["spec"].__setitem__("completion", 4)),
            ("an unknown container field",
             lambda c: c["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
             .__setitem__("readOnlyRootFileSystem", True)),
            ("a container without an image",
             lambda c: c["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
             .__setitem__("image", None))]:
        bad = copy.deepcopy(cj)
        mutate(bad)
        try:
            _, back = roundtrip(bad)
            caught = bool(diff(bad, back))
        except Exception:  # noqa: BLE001
            caught = True
        check(caught, "the model check catches %s" % what)

    sa = [d for d in docs if d["kind"] == "ServiceAccount"][0]
    pvc = [d for d in docs if d["kind"] == "PersistentVolumeClaim"][0]
    js = cj["spec"]["jobTemplate"]["spec"]
    pod = js["template"]["spec"]
    c = pod["containers"][0]
    env = {e["name"]: e.get("value") for e in c.get("env", [])}
    sc, psc = c.get("securityContext", {}), pod.get("securityContext", {})
    check(js.get("completionMode") == "Indexed" and js["completions"] == js["parallelism"] and
          env.get("SHARDS") == str(js["completions"]) and cj["spec"].get("concurrencyPolicy") == "Forbid",
          "Indexed Job, parallelism = completions = SHARDS (%s), concurrencyPolicy Forbid"
          % js["completions"])
    check(psc.get("runAsNonRoot") is True and psc.get("runAsUser", 0) > 0 and
          sc.get("readOnlyRootFilesystem") is True and sc.get("allowPrivilegeEscalation") is False and
          sc.get("capabilities", {}).get("drop") == ["ALL"] and
          pod.get("automountServiceAccountToken") is False,
          "non-root, read-only root filesystem, no privilege escalation, no capabilities, no "
          "Kubernetes API token")
    req = c.get("resources", {}).get("requests", {})
    check(req.get("cpu") and req.get("memory") and c["resources"].get("limits", {}).get("memory"),
          "resource requests (cpu, memory) and a memory limit", c.get("resources"))
    check(pod.get("serviceAccountName") == sa["metadata"]["name"] and
          sa["metadata"].get("annotations", {}).get("eks.amazonaws.com/role-arn", "").startswith("arn:aws:iam::"),
          "the pods run as the ServiceAccount that carries the IRSA role annotation")
    vols = {v["name"]: v for v in pod.get("volumes", [])}
    mounts = {m["name"]: m["mountPath"] for m in c.get("volumeMounts", [])}
    check(pvc["spec"]["accessModes"] == ["ReadWriteMany"] and
          vols.get("data", {}).get("persistentVolumeClaim", {}).get("claimName") == pvc["metadata"]["name"]
          and mounts.get("data") == env.get("TRAILKEEP_DATA"),
          "the shards share a ReadWriteMany volume at TRAILKEEP_DATA (documents, --state, metrics)")
    cfgmap = [d for d in docs if d["kind"] == "ConfigMap"][0]
    check(os.path.dirname(env.get("TRAILKEEP_CONFIG", "")) == mounts.get("config") and
          os.path.basename(env["TRAILKEEP_CONFIG"]) in cfgmap["data"],
          "TRAILKEEP_CONFIG is the ConfigMap's org.ini, mounted")
    # the one edit: completions in cronjob.yaml moves parallelism and SHARDS
    text = open(os.path.join(BASE, "cronjob.yaml")).read()
    edited = re.sub(r"completions: \d+", "completions: 7", text)
    js7 = cronjob_of(kustomize(BASE, {"cronjob.yaml": edited}))["spec"]["jobTemplate"]["spec"]
    env7 = {e["name"]: e.get("value") for e in js7["template"]["spec"]["containers"][0]["env"]}
    check(edited != text and js7["completions"] == 7 and js7["parallelism"] == 7 and env7["SHARDS"] == "7",
          "one edit (completions: 7) makes parallelism 7 and SHARDS \"7\"")
    return docs


def pods(fa, w, tmp, cj, n, tag, port):
    """Run the CronJob's container command for every index of an N-shard Job."""
    c = cronjob_of([cj])["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    argv = c["command"] + c.get("args", [])
    data = os.path.join(tmp, "data-" + tag)
    os.makedirs(data)
    base_env = vf.tk_env(fa, w["mg"], NOW)
    base_env["PATH"] = os.path.dirname(os.path.realpath(TK)) + ":/usr/bin:/bin"
    for e in c["env"]:
        if "value" in e:
            base_env[e["name"]] = e["value"]
    base_env.update({"SHARDS": str(n), "RUN_ID": "trailkeep-verify-29000000",
                     "TRAILKEEP_CONFIG": os.path.join(tmp, "org.ini"), "TRAILKEEP_DATA": data,
                     "POLL_SECONDS": "1", "MERGE_WAIT_SECONDS": "300",
                     "PUSHGATEWAY_URL": "http://127.0.0.1:%d" % port})
    fa.post("set_auth_clock", time=NOW)
    procs = []
    try:
        for i in range(n):
            e = dict(base_env, JOB_COMPLETION_INDEX=str(i))
            procs.append(subprocess.Popen(argv, env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                          text=True))
        outs = [p.communicate(timeout=500) for p in procs]
    finally:
        fa.post("set_auth_clock", time=None)
    return data, [p.returncode for p in procs], outs


def shards(fa, tmp, docs):
    w = vf.build_world(fa, members=3)
    m = w["members"]
    fa.post("tamper", kind="modify_log", trail=w["arn"], account=m[0]["id"], region="eu-west-1")
    cfg = os.path.join(tmp, "org.ini")
    vf.org_config(w, cfg, w["accounts"] + ["123456789012"], global_events=False)
    whole_prom = os.path.join(tmp, "whole.prom")
    p = vf.run_verify(fa, w, NOW, [cfg, "--json", "--metrics", whole_prom,
                                   "--state", os.path.join(tmp, "whole.state")])
    whole = vf.json_of(p)
    check(p.returncode == 1 and whole and whole["findings"],
          "one unsharded run: exit 1 with findings (%d cells)" % (len(whole["cells"]) if whole else 0),
          p.stderr[-400:])
    if not whole:
        return
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Push)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        cj = cronjob_of(docs)
        for n in (cj["spec"]["jobTemplate"]["spec"]["completions"], 3):
            Push.got = []
            data, rcs, outs = pods(fa, w, tmp, cj, n, "n%d" % n, srv.server_address[1])
            run = os.path.join(data, "runs", "trailkeep-verify-29000000")
            check(rcs == [0] * n, "N=%d: every pod's command exits 0 (findings are results)" % n,
                  "%s %s" % (rcs, [o[1][-300:] for o in outs]))
            try:
                merged = json.load(open(os.path.join(run, "merged.json")))
            except (OSError, ValueError):
                merged = None
            check(merged == whole, "N=%d: shard 1's merge of the %d shard documents == one "
                  "unsharded run's --json document" % (n, n))
            got = open(os.path.join(data, "trailkeep.prom")).read() \
                if os.path.exists(os.path.join(data, "trailkeep.prom")) else None
            check(got is not None and got == open(whole_prom).read(),
                  "N=%d: the merged metrics file == the unsharded run's, byte for byte" % n)
            check(len(Push.got) == 1 and Push.got[0][0] == "/metrics/job/trailkeep" and
                  Push.got[0][1] == got,
                  "N=%d: the metrics are PUT once to PUSHGATEWAY_URL/metrics/job/trailkeep" % n,
                  [x[0] for x in Push.got])
            states = sorted(os.listdir(os.path.join(data, "state")))
            check(states == ["shard-%d-of-%d.state" % (k, n) for k in range(1, n + 1)],
                  "N=%d: one --state file per shard on the volume" % n, states)
            left = [f for f in os.listdir(run) if f.endswith(".tmp")]
            check(not left and sorted(os.listdir(run)) ==
                  sorted(["merged.json"] + ["shard-%d.json" % k for k in range(1, n + 1)]),
                  "N=%d: the run folder holds the shard documents and the merge, nothing half-written"
                  % n, os.listdir(run))
        # shard 1 gives up (exit non-zero, no metrics) when a shard never comes
        cj2 = copy.deepcopy(cj)
        data, rcs, outs = pods_missing(fa, w, tmp, cj2, srv.server_address[1])
        check(rcs[0] != 0 and "1 of 2 shards" in outs[0][1] and
              not os.path.exists(os.path.join(data, "trailkeep.prom")),
              "a shard that never finishes: shard 1 stops waiting, fails, writes no metrics",
              "%s %s" % (rcs, outs[0][1][-300:]))
    finally:
        srv.shutdown()


def pods_missing(fa, w, tmp, cj, port):
    c = cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    argv = c["command"] + c.get("args", [])
    data = os.path.join(tmp, "data-missing")
    os.makedirs(data)
    e = vf.tk_env(fa, w["mg"], NOW)
    e["PATH"] = os.path.dirname(os.path.realpath(TK)) + ":/usr/bin:/bin"
    e.update({"SHARDS": "2", "RUN_ID": "r", "TRAILKEEP_CONFIG": os.path.join(tmp, "org.ini"),
              "TRAILKEEP_DATA": data, "POLL_SECONDS": "1", "MERGE_WAIT_SECONDS": "2",
              "PUSHGATEWAY_URL": "http://127.0.0.1:%d" % port, "JOB_COMPLETION_INDEX": "0"})
    fa.post("set_auth_clock", time=NOW)
    try:
        p = subprocess.run(argv, env=e, capture_output=True, text=True, timeout=300)
    finally:
        fa.post("set_auth_clock", time=None)
    return data, [p.returncode], [(p.stdout, p.stderr)]


if __name__ == "__main__":
    sys.exit(main())
