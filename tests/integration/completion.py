#!/usr/bin/python3
"""Shell completion (README "Install, man page, completion") in a real bash,
with Debian's bash-completion loaded: completion/trailkeep.bash is sourced,
COMP_WORDS/COMP_CWORD set and _trailkeep called:
  - `trailkeep ver` -> verify, `trailkeep verify --sh` -> --shard;
  - `trailkeep CMD -` offers every option `trailkeep CMD --help` lists
    (synopsis and option lines);
  - CONFIG completes to *.ini files and directories, report's VERIFY.json to
    *.json, `-o` of plan (DIR) to directories, `help` to the commands.
zsh: completion/_trailkeep is syntax-checked with `zsh -n`, then the same
cases are completed in a real interactive zsh (compinit, driven through a
pseudo-terminal by zsh_complete.zsh).
Prints PASS:/FAIL: lines; exit 1 on any failure.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, TOP)

from tests.fakeaws.testing import Checks  # noqa: E402

TK = os.environ.get("TRAILKEEP_BIN") or os.path.join(TOP, "trailkeep")
COMPLETION = os.path.join(TOP, "completion", "trailkeep.bash")
BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"
check = Checks(limit=3000)


def complete(cases, cwd, script=COMPLETION):
    """Each case a list of words (the last is the one completed): COMPREPLY
    of each, sorted, from one bash."""
    lines = ["set -u", "[ -r %s ] && . %s" % (BASH_COMPLETION, BASH_COMPLETION), ". '%s'" % script,
             "complete -p trailkeep >/dev/null || echo 'NO COMPLETE SPEC'"]
    for words in cases:
        q = " ".join("'%s'" % w.replace("'", "'\\''") for w in words)
        lines.append("COMP_WORDS=(%s); COMP_CWORD=%d; COMP_LINE=\"${COMP_WORDS[*]}\"; COMP_POINT=${#COMP_LINE}; "
                     "COMPREPLY=(); _trailkeep trailkeep '%s' '%s'; printf 'R:%%s\\n' \"${COMPREPLY[*]}\""
                     % (q, len(words) - 1, words[-1], words[-2] if len(words) > 1 else ""))
    path = os.path.dirname(TK)   # the first word, trailkeep, is found on PATH
    p = subprocess.run(["bash", "-c", "\n".join(lines)], cwd=cwd, capture_output=True, text=True, timeout=60,
                       env={"PATH": "%s:/usr/bin:/bin" % path, "HOME": cwd, "TERM": "dumb"})
    out = [sorted(x[2:].split()) for x in p.stdout.splitlines() if x.startswith("R:")]
    return p, out


def main():
    tmp = tempfile.mkdtemp(prefix="tk-compl-")
    try:
        run(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if check.failures else 0


def run(tmp):
    for n in ("org.ini", "per-account.ini", "verify.json", "notes.txt"):
        open(os.path.join(tmp, n), "w").close()
    os.mkdir(os.path.join(tmp, "plans"))
    helps = {}
    names = re.findall(r"^  ([a-z]+) ", subprocess.run([TK, "help"], capture_output=True, text=True).stdout, re.M)
    for name in names:
        h = subprocess.run([TK, name, "--help"], capture_output=True, text=True).stdout
        opts, syn = set(), False
        for line in h.splitlines():
            syn = line.startswith("usage:") or (syn and line.strip() != "")
            if syn:
                opts.update(re.findall(r"(?:^|[\[ ])(--?[A-Za-z][\w-]*)", line))
            if line.startswith("  -"):
                tag = re.split(r"\s{2,}", line.strip())[0]
                opts.update(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", tag))
        helps[name] = opts
    cases = [["trailkeep", "ver"], ["trailkeep", "verify", "--sh"], ["trailkeep", "verify", ""],
             ["trailkeep", "report", ""], ["trailkeep", "plan", "org.ini", "-o", ""],
             ["trailkeep", "help", "v"], ["trailkeep", ""], ["trailkeep", "-q", "doctor", "--js"]]
    cases += [["trailkeep", name, "-"] for name in names]
    p, out = complete(cases, tmp)
    check(p.returncode == 0 and len(out) == len(cases) and "NO COMPLETE SPEC" not in p.stdout,
          "bash with bash-completion: the completion loads and answers every case", p.stderr[-1000:])
    if len(out) != len(cases):
        return
    res = dict(zip([" ".join(c) for c in cases], out))
    check(res["trailkeep ver"] == ["verify"], "trailkeep ver<TAB> -> verify", res["trailkeep ver"])
    check(res["trailkeep verify --sh"] == ["--shard"], "trailkeep verify --sh<TAB> -> --shard",
          res["trailkeep verify --sh"])
    check(res["trailkeep verify "] == ["org.ini", "per-account.ini", "plans"],
          "CONFIG: *.ini files and directories", res["trailkeep verify "])
    check(res["trailkeep report "] == ["plans", "verify.json"], "report: *.json files and directories",
          res["trailkeep report "])
    check(res["trailkeep plan org.ini -o "] == ["plans"], "plan -o DIR: directories only",
          res["trailkeep plan org.ini -o "])
    check(res["trailkeep help v"] == ["validate", "verify"], "help: the commands", res["trailkeep help v"])
    check(res["trailkeep "] == sorted(names), "trailkeep <TAB>: every command of 'trailkeep help'",
          res["trailkeep "])
    check(res["trailkeep -q doctor --js"] == ["--json"], "a global option before the command is skipped",
          res["trailkeep -q doctor --js"])
    for name in names:
        got = set(res["trailkeep %s -" % name])
        check(helps[name] <= got and helps[name], "trailkeep %s -<TAB>: every option of '%s --help' (%d)"
              % (name, name, len(helps[name])), sorted(helps[name] - got))
    zsh = shutil.which("zsh")
    if not zsh:
        check(False, "zsh is installed (scripts/deps.sh installs it)", "")
        return
    z = subprocess.run([zsh, "-n", os.path.join(TOP, "completion", "_trailkeep")], capture_output=True,
                       text=True)
    check(z.returncode == 0, "zsh -n completion/_trailkeep: valid zsh", z.stderr)
    zcases = ["trailkeep ver", "trailkeep verify --sh", "trailkeep ", "trailkeep verify ",
              "trailkeep plan org.ini -o "] + ["trailkeep %s -" % n for n in names]
    bindir = os.path.join(tmp, "bin")
    os.makedirs(bindir, exist_ok=True)
    if not os.path.exists(os.path.join(bindir, "trailkeep")):
        os.symlink(os.path.abspath(TK), os.path.join(bindir, "trailkeep"))
    p = subprocess.run([zsh, "-f", os.path.join(HERE, "zsh_complete.zsh"), os.path.join(TOP, "completion"),
                        bindir] + zcases, capture_output=True, text=True, cwd=tmp, timeout=300)
    parts = p.stdout.split("__CASE__\n")[:len(zcases)]
    check(len(parts) == len(zcases), "zsh (compinit, a pseudo-terminal): every case answered",
          (p.returncode, p.stdout[-800:], p.stderr[-800:]))
    if len(parts) != len(zcases):
        return
    zres = {c: sorted(set(re.findall(r"<<([^<>\n]*)>>", part))) for c, part in zip(zcases, parts)}
    check(zres["trailkeep ver"] == ["verify"], "zsh: trailkeep ver<TAB> -> verify", zres["trailkeep ver"])
    check(zres["trailkeep verify --sh"] == ["--shard"], "zsh: trailkeep verify --sh<TAB> -> --shard",
          zres["trailkeep verify --sh"])
    check(zres["trailkeep "] == sorted(names), "zsh: trailkeep <TAB>: every command", zres["trailkeep "])
    check({"org.ini", "per-account.ini"} <= set(zres["trailkeep verify "]) and
          "notes.txt" not in zres["trailkeep verify "], "zsh: CONFIG completes *.ini files, not others",
          zres["trailkeep verify "])
    check("plans/" in zres["trailkeep plan org.ini -o "] or "plans" in zres["trailkeep plan org.ini -o "],
          "zsh: plan -o DIR offers directories", zres["trailkeep plan org.ini -o "])
    for name in names:
        got = set(zres["trailkeep %s -" % name])
        check(helps[name] <= got and helps[name], "zsh: trailkeep %s -<TAB>: every option of '%s --help' (%d)"
              % (name, name, len(helps[name])), sorted(helps[name] - got))


if __name__ == "__main__":
    sys.exit(main())
