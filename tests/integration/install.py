#!/usr/bin/python3
"""`make install DESTDIR=... PREFIX=...` (README "Install, man page,
completion") into a temp dir, then:
  - the installed binary, run from an empty directory without
    TRAILKEEP_TEMPLATES, plans examples/org.ini with the installed templates
    (the same files as with the checkout's), and fails once the installed
    templates are removed (so it never used the checkout's);
  - the man page (what `help --man` prints; `man -l` renders it), the bash
    completion (sourced from where it was installed, it completes
    `trailkeep ver`), the zsh completion, every deploy/ file and the README are
    in their usual places;
  - `make uninstall` removes every file again.
make runs with -o for the binary and the man page, so it never rebuilds
them (a sanitizer build stays one).
Prints PASS:/FAIL: lines; exit 1 on any failure.
"""

import filecmp
import os
import shutil
import subprocess
import sys
import tempfile

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, TOP)

from tests.fakeaws.testing import Checks, make_install  # noqa: E402

BUILD = os.environ.get("BUILD", "build/default")
check = Checks(limit=3000)


def make(*args):
    return subprocess.run(["make", "--no-print-directory", "-o", "%s/trailkeep" % BUILD,
                           "-o", "%s/trailkeep.1" % BUILD, "BUILD=" + BUILD] + list(args),
                          cwd=TOP, capture_output=True, text=True, timeout=300)


def files_under(d):
    out = []
    for root, _, names in os.walk(d):
        out += [os.path.relpath(os.path.join(root, n), d) for n in names]
    return sorted(out)


def main():
    tmp = tempfile.mkdtemp(prefix="tk-install-")
    try:
        run(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if check.failures else 0


def run(tmp):
    if not os.path.isfile(os.path.join(TOP, BUILD, "trailkeep.1")):
        check(False, "%s/trailkeep.1 exists (make tools builds it)" % BUILD)
        return
    stage = os.path.join(tmp, "stage")
    p = make_install(TOP, BUILD, stage, timeout=300)
    check(p.returncode == 0, "make install DESTDIR=%s PREFIX=/usr" % "TMP", p.stdout[-800:] + p.stderr[-1500:])
    usr = os.path.join(stage, "usr")
    tk = os.path.join(usr, "bin", "trailkeep")
    want = {
        "bin/trailkeep": None,
        "share/man/man1/trailkeep.1": os.path.join(TOP, BUILD, "trailkeep.1"),
        "share/bash-completion/completions/trailkeep": os.path.join(TOP, "completion", "trailkeep.bash"),
        "share/zsh/vendor-completions/_trailkeep": os.path.join(TOP, "completion", "_trailkeep"),
        "share/doc/trailkeep/README.md": os.path.join(TOP, "README.md"),
    }
    for t in files_under(os.path.join(TOP, "templates")):   # every template, subdirectories too
        want["share/trailkeep/templates/" + t] = os.path.join(TOP, "templates", t)
    deploy = os.path.join(TOP, "deploy")
    if os.path.isdir(deploy):
        for f in files_under(deploy):
            want["share/trailkeep/deploy/" + f] = os.path.join(deploy, f)
    bad = [k for k, src in want.items() if not os.path.isfile(os.path.join(usr, k)) or
           (src and not filecmp.cmp(src, os.path.join(usr, k), shallow=False))]
    check(not bad and os.access(tk, os.X_OK), "installed: binary, %d templates, man page, bash and zsh "
          "completion, %d deploy files, README, each equal to its source" %
          (len([k for k in want if "/templates/" in k]), len([k for k in want if "/deploy/" in k])), bad)

    # make install installs the release build (TEST_KNOBS=0): it refuses the
    # test settings (README "Building": a production binary's clock cannot be
    # moved by the environment), while the development build honours them
    env0 = {k: v for k, v in os.environ.items() if not k.startswith("TRAILKEEP_")}
    env0.update(AWS_ENDPOINT_URL="http://127.0.0.1:9", AWS_ACCESS_KEY_ID="AKIDEXAMPLE",
                AWS_SECRET_ACCESS_KEY="x" * 40)
    org = os.path.join(TOP, "examples", "org.ini")
    knobs = (("TRAILKEEP_NOW", "2026-01-01T00:00:00Z"), ("TRAILKEEP_SEED", "7"),
             ("TRAILKEEP_BACKOFF_SCALE", "0.01"), ("TRAILKEEP_DOCTOR_SELECT", "x"))
    for knob, val in knobs:
        # whatever the command: plan reads none of them, and is refused all the same
        for args in (["verify", org, "--timeout", "2s"], ["plan", org, "-o", os.path.join(tmp, "knob-plan")]):
            r = subprocess.run([tk] + args, env=dict(env0, **{knob: val}),
                               capture_output=True, text=True, timeout=60)
            check(r.returncode == 2 and knob in r.stderr and "test setting" in r.stderr,
                  "the installed (release) binary refuses %s for %s (exit 2, names it)" % (knob, args[0]),
                  (r.returncode, r.stderr[-400:]))
    r = subprocess.run([os.path.join(TOP, BUILD, "trailkeep"), "verify", org, "--timeout", "2s"],
                       env=dict(env0, TRAILKEEP_NOW="2026-01-01T00:00:00Z"), capture_output=True, text=True,
                       timeout=60)
    check("test setting" not in r.stderr and r.returncode != 2,
          "the development build (%s) honours TRAILKEEP_NOW" % BUILD, (r.returncode, r.stderr[-400:]))

    # the installed binary finds the installed templates
    work = os.path.join(tmp, "work")
    os.mkdir(work)
    env = {"PATH": "/usr/bin:/bin", "HOME": work}   # no test setting: the release build refuses them
    org = os.path.join(TOP, "examples", "org.ini")
    p = subprocess.run([tk, "plan", org, "-o", "installed"], cwd=work, env=env, capture_output=True, text=True)
    q = subprocess.run([os.path.join(TOP, BUILD, "trailkeep"), "plan", org, "-o", "checkout", "--templates",
                        os.path.join(TOP, "templates")], cwd=work, env=env, capture_output=True, text=True)
    a, b = os.path.join(work, "installed"), os.path.join(work, "checkout")
    same = p.returncode == 0 and q.returncode == 0 and files_under(a) == files_under(b) and files_under(a) and \
        all(filecmp.cmp(os.path.join(a, f), os.path.join(b, f), shallow=False) for f in files_under(a))
    check(same, "the installed binary plans examples/org.ini with the installed templates (no "
          "TRAILKEEP_TEMPLATES, empty directory): the checkout's plan", p.stderr[-800:] + q.stderr[-300:])
    m = subprocess.run(["man", "-l", os.path.join(usr, "share/man/man1/trailkeep.1")], capture_output=True,
                       text=True, env=dict(env, MANPAGER="cat", PAGER="cat"))
    check(m.returncode == 0 and "verify" in m.stdout, "man -l renders the installed man page", m.stderr[-300:])
    c = subprocess.run(["bash", "-c", ". /usr/share/bash-completion/bash_completion; . '%s'; "
                        "COMP_WORDS=(trailkeep ver); COMP_CWORD=1; _trailkeep; echo \"${COMPREPLY[*]}\""
                        % os.path.join(usr, "share/bash-completion/completions/trailkeep")],
                       capture_output=True, text=True, env=dict(env, PATH=os.path.join(usr, "bin") + ":/usr/bin:/bin"))
    check(c.stdout.strip() == "verify", "the installed bash completion, with the installed binary on PATH: "
          "trailkeep ver -> verify", c.stdout + c.stderr)
    shutil.rmtree(os.path.join(usr, "share/trailkeep/templates"))
    p = subprocess.run([tk, "plan", org, "-o", "again"], cwd=work, env=env, capture_output=True, text=True)
    check(p.returncode == 2 and not os.path.exists(os.path.join(work, "again")),
          "without the installed templates the installed binary's plan fails (exit 2): it used those",
          (p.returncode, p.stderr[-500:]))

    p = make("uninstall", "DESTDIR=" + stage, "PREFIX=/usr")
    left = files_under(stage)
    check(p.returncode == 0 and not left, "make uninstall removes every installed file", (p.stderr[-500:], left))


if __name__ == "__main__":
    sys.exit(main())
