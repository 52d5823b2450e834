"""bench/replaylib.py: shared by the replay benchmarks (bench/replay_*.py):
generate a world (bench/gen_world.py), run bench/replay_server.c on it, run
trailkeep / awscli against it and measure wall time, CPU seconds, peak RSS
and requests.  Not a benchmark itself (bench/run.sh skips *lib.py)."""
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

TOP = os.environ.get("TOP") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("BUILD", "build/default")
PY = os.environ.get("PYTHON") or "/usr/bin/python3"
SERVER = os.path.join(TOP, BUILD, "bench", "replay_server")
TK = os.environ.get("TRAILKEEP_BIN") or os.path.join(TOP, BUILD, "trailkeep")
CACHE = os.environ.get("BENCH_WORLDS") or os.path.join(TOP, BUILD, "bench", "worlds")


SMALL = os.environ.get("BENCH_SMALL") == "1"


def knob(name, full, small=None):
    """an integer setting: the environment's NAME, else the scaled-down
    default under `make bench` (BENCH_SMALL=1), else the full one"""
    v = os.environ.get(name)
    if v:
        return int(v)
    return small if SMALL and small is not None else full


def machine():
    model = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = open("/proc/loadavg").read().split()[0]
    except OSError:
        load = "?"
    return "machine: %d cores (nproc), %s, %s, load average %s at start" % (
        os.cpu_count() or 0, model, platform.machine(), load)


def world(name, *args):
    """DIR of a generated world (cached under CACHE/name while the
    generator's arguments are the same: remove CACHE after changing
    bench/gen_world.py); its world.json as a dict"""
    d = os.path.join(CACHE, name)
    stamp = os.path.join(d, "args.txt")
    want = " ".join(args)
    gen = os.path.join(TOP, "bench", "gen_world.py")
    fresh = os.path.exists(stamp) and open(stamp).read() == want
    if not fresh:
        os.makedirs(CACHE, exist_ok=True)
        t0 = time.time()
        p = subprocess.run([PY, gen, "--out", d] + list(args), capture_output=True, text=True)
        if p.returncode:
            sys.exit("gen_world failed: %s" % p.stderr[-2000:])
        with open(stamp, "w") as f:
            f.write(want)
        print("%s (generated in %.0f s)" % (p.stdout.strip(), time.time() - t0))
    info = json.load(open(os.path.join(d, "world.json")))
    if fresh:
        print("world %s: %d accounts x %d regions x %d h, %d objects (cached)"
              % (name, len(info["accounts"]), len(info["regions"]), info["hours"], info["objects"]))
    return d, info


class Server:
    def __init__(self, wdir, latency_ms=20, threads=2):
        self.log = tempfile.TemporaryFile()
        self.p = subprocess.Popen([SERVER, "--world", wdir, "--latency-ms", str(latency_ms),
                                   "--threads", str(threads)], stdout=subprocess.PIPE,
                                  stderr=self.log, text=True)
        line = self.p.stdout.readline()
        if not line.startswith("PORT="):
            self.log.seek(0)
            sys.exit("replay_server did not start: %s" % self.log.read().decode()[-2000:])
        self.port = int(line.strip()[5:])
        self.url = "http://127.0.0.1:%d" % self.port

    def ctl(self, what, **q):
        url = "%s/_replay/%s" % (self.url, what)
        if q:
            url += "?" + "&".join("%s=%s" % kv for kv in q.items())
        req = urllib.request.Request(url, method="POST" if q else "GET")
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def served(self):
        return self.ctl("stats")["served"]

    def cpu(self):
        """the server's user + system CPU seconds so far (/proc)"""
        with open("/proc/%d/stat" % self.p.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))

    def unknown(self):
        return self.ctl("stats")["unknown"]

    def errors(self):
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def stop(self):
        self.p.terminate()
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.stop()


def env(srv, now, account_key="AKIAREPLAYMANAGEMENT"):
    """trailkeep's environment: the replay endpoint, test credentials (the
    server does not check signatures), the pinned clock"""
    return {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"),
            "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AWS_ACCESS_KEY_ID": account_key, "AWS_SECRET_ACCESS_KEY": "replay-test-secret",
            "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true", "AWS_PAGER": "",
            "AWS_ENDPOINT_URL": srv.url, "TRAILKEEP_NOW": now, "TRAILKEEP_SEED": "1",
            "TRAILKEEP_BACKOFF_SCALE": "0.01"}


class Run:
    """one measured process: wall s, user+sys CPU s, peak RSS MiB, requests"""

    def __init__(self, args, environ, srv=None, cwd=None, timeout=3600, sample=False):
        fd, tf = tempfile.mkstemp(prefix="tk-time-")
        os.close(fd)
        before = srv.served() if srv else 0
        srv_cpu0 = srv.cpu() if srv else 0.0
        self.samples = []
        self.timeline = []   # (s since start, in flight, answered so far)
        done = threading.Event()

        def sampler():
            # the server's in-flight count every 10 ms: how full the client keeps the pipe
            while not done.wait(0.01):
                try:
                    st = srv.ctl("stats")
                except OSError:
                    continue
                self.samples.append(st["in_flight"])
                self.timeline.append((time.time() - t0, st["in_flight"], st["served"] - before))
        th = threading.Thread(target=sampler, daemon=True) if sample and srv else None
        t0 = time.time()
        if th:
            th.start()
        p = subprocess.run(["/usr/bin/time", "-o", tf, "-f", "%U %S %M"] + list(args), env=environ,
                           capture_output=True, text=True, cwd=cwd or TOP, timeout=timeout)
        self.wall = time.time() - t0
        if th:
            done.set()
            th.join()
        self.requests = (srv.served() - before) if srv else 0
        self.srv_cpu = (srv.cpu() - srv_cpu0) if srv else 0.0   # the replay server's CPU s in the run
        try:
            u, s, m = open(tf).read().split()[-3:]
            self.cpu, self.rss = float(u) + float(s), int(m) / 1024.0
        except ValueError:
            self.cpu, self.rss = 0.0, 0.0
        os.unlink(tf)
        self.rc, self.out, self.err = p.returncode, p.stdout, p.stderr

    def profile(self, jobs):
        """mean requests in flight at the server, and the share of the run
        with fewer than half of jobs in flight"""
        if not self.samples:
            return ""
        mean = sum(self.samples) / float(len(self.samples))
        low = sum(1 for x in self.samples if x < jobs / 2.0) / float(len(self.samples))
        out = "in flight at the server: mean %.0f of %d, below %d for %.0f%% of the run" % (
            mean, jobs, jobs // 2, 100 * low)
        # the run's two parts: until 3% of its requests are answered (the
        # control-plane reads, the cells' listings and digests: round trips
        # that depend on each other) and the bulk of the downloads after it
        k = max(1, int(0.03 * self.requests))
        first = next((x for x in self.timeline if x[2] >= k), None)
        if first and self.wall > first[0]:
            bulk = [x[1] for x in self.timeline if x[0] >= first[0]]
            n = self.requests - first[2]
            out += ("\n    the first %d requests took %.2f s; the other %d %.2f s: %.0f requests/s, %.0f in flight "
                    "on average" % (first[2], first[0], n, self.wall - first[0], n / (self.wall - first[0]),
                                    sum(bulk) / float(max(len(bulk), 1))))
        return out

    def json(self):
        try:
            return json.loads(self.out)
        except ValueError:
            return None

    def line(self, label):
        return "%-44s %7.2f s wall  %6.2f s CPU  %6.1f MiB peak RSS  %8d requests  exit %d" % (
            label, self.wall, self.cpu, self.rss, self.requests, self.rc)
