#!/usr/bin/python3
"""deploy/systemd: `systemd-analyze verify` on trailkeep-verify.service and
.timer (issue 16), with @BINDIR@ substituted by the built binary's folder
(make install substitutes $(PREFIX)/bin), and the settings the README
promises: oneshot, a dedicated user (sysusers.d), the hardening options,
StateDirectory= for --state, the metrics into node_exporter's textfile
directory (writable through ReadWritePaths=), the environment file, an
exposure below 2.0 by `systemd-analyze security --offline`; the
timer hourly, Persistent=true, RandomizedDelaySec=.  `systemd-analyze
verify` must print nothing (an unknown or misspelled key is only a warning
there, so any output fails).  A deliberately misspelled copy must fail.
Prints PASS:/FAIL: lines; exit 1 on any failure.
"""

import os
import re
import shlex
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, TOP)
from tests.fakeaws.testing import Checks  # noqa: E402

TK = os.environ.get("TRAILKEEP_BIN") or os.path.join(TOP, "trailkeep")
SD = os.path.join(TOP, "deploy", "systemd")
check = Checks()


def ini(text):
    """{section: [(key, value)]} of a unit file"""
    out, sec = {}, None
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            sec = line.strip("[]")
            out.setdefault(sec, [])
        else:
            k, _, v = line.partition("=")
            out[sec].append((k.strip(), v.strip()))
    return out


def analyze(d, *units):
    return subprocess.run(["systemd-analyze", "verify", "--man=no"] + list(units), cwd=d,
                          capture_output=True, text=True, timeout=120)


def install(tmp, svc_src, tmr_src, sysusers):
    """make install DESTDIR=... PREFIX=/usr: the unit with ExecStart=/usr/bin/trailkeep in
    /usr/lib/systemd/system, the timer, /usr/lib/sysusers.d/trailkeep.conf; uninstall removes
    them.  The built files are not remade (-o): other builds may be under way."""
    build = os.environ.get("BUILD", "build/default")
    dest = os.path.join(tmp, "dest")
    mk = ["make", "-s", "--no-print-directory", "BUILD=" + build, "PREFIX=/usr", "DESTDIR=" + dest,
          "-o", build + "/trailkeep", "-o", build + "/trailkeep.1",
          "INSTALL_BIN=" + build + "/trailkeep"]   # the units, not the release binary, are tested here
    if not os.path.exists(os.path.join(TOP, build, "trailkeep.1")):
        print("# %s/trailkeep.1 not built: make install not tried" % build)
        return
    r = subprocess.run(mk + ["install"], cwd=TOP, capture_output=True, text=True, timeout=300)
    unit = os.path.join(dest, "usr/lib/systemd/system")

    def read(p):
        try:
            with open(p) as f:
                return f.read()
        except OSError:
            return None
    check(r.returncode == 0 and
          read(os.path.join(unit, "trailkeep-verify.service")) == svc_src.replace("@BINDIR@", "/usr/bin") and
          read(os.path.join(unit, "trailkeep-verify.timer")) == tmr_src and
          read(os.path.join(dest, "usr/lib/sysusers.d/trailkeep.conf")) == sysusers and
          os.path.exists(os.path.join(dest, "usr/bin/trailkeep")),
          "make install PREFIX=/usr: the service (ExecStart=/usr/bin/trailkeep) and timer in "
          "/usr/lib/systemd/system, the user in /usr/lib/sysusers.d/trailkeep.conf",
          r.stdout[-500:] + r.stderr[-500:])
    r = subprocess.run(mk + ["uninstall"], cwd=TOP, capture_output=True, text=True, timeout=300)
    left = [os.path.join(d, f) for d, _, fs in os.walk(dest) for f in fs]
    check(r.returncode == 0 and not left, "make uninstall removes them", left)


def main():
    if subprocess.run(["sh", "-c", "command -v systemd-analyze"], capture_output=True).returncode:
        check(False, "systemd-analyze is installed (Debian package systemd; make deps)")
        return 1
    bindir = os.path.dirname(os.path.realpath(TK))
    tmp = tempfile.mkdtemp(prefix="tk-systemd-")
    try:
        svc_src = open(os.path.join(SD, "trailkeep-verify.service")).read()
        tmr_src = open(os.path.join(SD, "trailkeep-verify.timer")).read()
        check("@BINDIR@/trailkeep " in svc_src, "the service's ExecStart names @BINDIR@/trailkeep")
        svc = svc_src.replace("@BINDIR@", bindir)
        for name, text in (("trailkeep-verify.service", svc), ("trailkeep-verify.timer", tmr_src)):
            with open(os.path.join(tmp, name), "w") as f:
                f.write(text)
        r = analyze(tmp, "./trailkeep-verify.service", "./trailkeep-verify.timer")
        check(r.returncode == 0 and not r.stdout.strip() and not r.stderr.strip(),
              "systemd-analyze verify: the service and the timer, no error and no warning",
              r.stdout + r.stderr)
        # systemd's own score of the sandbox: "OK" (under 2.0) or better
        r = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager",
                            "./trailkeep-verify.service"], cwd=tmp, capture_output=True, text=True,
                           timeout=120)
        m = re.search(r"Overall exposure level for trailkeep-verify.service: ([0-9.]+)", r.stdout)
        check(m and float(m.group(1)) < 2.0,
              "systemd-analyze security --offline: exposure %s (below 2.0)" % (m.group(1) if m else "?"),
              r.stdout[-600:] + r.stderr[-300:])
        # the check can fail: a misspelled key, a binary that is not there
        with open(os.path.join(tmp, "bad.service"), "w") as f:
            f.write(svc.replace("ProtectSystem=strict", "ProtectSystem=strict\nProtectSytem=strict"))
        r = analyze(tmp, "./bad.service")
        check("ProtectSytem" in r.stderr, "systemd-analyze verify reports a misspelled key",
              r.stderr)
        with open(os.path.join(tmp, "bad2.service"), "w") as f:
            f.write(svc_src.replace("@BINDIR@", "/nonexistent"))
        r = analyze(tmp, "./bad2.service")
        check(r.returncode != 0, "systemd-analyze verify refuses an ExecStart that does not exist",
              r.stderr)

        s, t = ini(svc)["Service"], ini(tmr_src)
        sd = dict(s)
        want = {"Type": "oneshot", "User": "trailkeep", "ProtectSystem": "strict", "PrivateTmp": "yes",
                "NoNewPrivileges": "yes", "ProtectHome": "yes", "CapabilityBoundingSet": "",
                "StateDirectory": "trailkeep", "PrivateDevices": "yes", "RestrictSUIDSGID": "yes"}
        check(all(sd.get(k) == v for k, v in want.items()),
              "service: oneshot as user trailkeep, ProtectSystem=strict, PrivateTmp, NoNewPrivileges, "
              "ProtectHome, empty CapabilityBoundingSet, StateDirectory=trailkeep",
              {k: sd.get(k) for k in want})
        argv = shlex.split(sd.get("ExecStart", ""))
        state = argv[argv.index("--state") + 1] if "--state" in argv else ""
        metrics = argv[argv.index("--metrics") + 1] if "--metrics" in argv else ""
        rw = [v for k, v in s if k == "ReadWritePaths"]
        check(argv[1:2] == ["verify"] and state.startswith("${STATE_DIRECTORY}/") and
              metrics.endswith(".prom") and os.path.dirname(metrics) in [p.lstrip("-") for p in rw],
              "ExecStart: verify --state in the StateDirectory, --metrics FILE.prom in a "
              "ReadWritePaths= directory (node_exporter's textfile directory)", argv)
        check(sd.get("EnvironmentFile", "").lstrip("-") == "/etc/trailkeep/env" and
              set(sd.get("SuccessExitStatus", "").split()) == {"1", "3"},
              "credentials from EnvironmentFile=-/etc/trailkeep/env (else the instance role); "
              "exit 1 and 3 (findings, unchecked) are results, not unit failures")
        td = dict(t.get("Timer", []))
        check(td.get("OnCalendar") == "hourly" and td.get("Persistent") == "true" and
              re.match(r"^\d+(min|s|m|h)?$", td.get("RandomizedDelaySec", "")) and
              dict(t.get("Install", [])).get("WantedBy") == "timers.target",
              "timer: hourly, Persistent=true, RandomizedDelaySec=, WantedBy=timers.target", td)
        sysusers = open(os.path.join(SD, "trailkeep.sysusers")).read()
        check(re.search(r"^u trailkeep ", sysusers, re.M),
              "sysusers.d file creates the user trailkeep the service runs as")
        install(tmp, svc_src, tmr_src, sysusers)
    finally:
        subprocess.run(["rm", "-rf", tmp])
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
