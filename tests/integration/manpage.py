#!/usr/bin/python3
"""The man page (README "Install, man page, completion"): `trailkeep help
--man` renders with `groff -man -Tutf8 -ww` without a warning (and with
`man -l` when man is installed), and for every command `trailkeep help`
lists, its subsection of the rendered page has the command's usage lines and
every option its `--help` lists; the GLOBAL OPTIONS section has every global
option.  The page make builds ($BUILD/trailkeep.1) is that output.
Prints PASS:/FAIL: lines; exit 1 on any failure.
"""

import os
import re
import shutil
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, TOP)

from tests.fakeaws.testing import Checks  # noqa: E402

TK = os.environ.get("TRAILKEEP_BIN") or os.path.join(TOP, "trailkeep")
check = Checks(limit=3000)
OPT = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")


def run(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60, **kw)


def plain(text):
    """groff's terminal output as plain text: no overstrike, ASCII minus and hyphen."""
    text = re.sub(r".\x08", "", text)
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    for ch in ("\u2212", "\u2010", "\u2011"):
        text = text.replace(ch, "-")
    return text


def flat(text):
    """Words joined by single spaces, hyphenation at line ends undone."""
    text = re.sub(r"-\n\s*", "-", text)
    return " ".join(text.split())


def options_of(help_text):
    """The options a --help lists: those of the synopsis ("usage:" and its
    continuation lines) and the first token(s) of each option line
    ("  -o DIR, --output FILE   text") in "Options:" and "Global options"."""
    own, glob, part = set(), set(), None
    for line in help_text.splitlines():
        if line.startswith("usage:"):
            part = "usage"
        elif part == "usage" and line.strip():
            own.update(OPT.findall(line))   # the synopsis' options, continuation lines too
        elif part == "usage":
            part = None
        if part == "usage":
            own.update(OPT.findall(line[6:] if line.startswith("usage:") else ""))
        elif line.startswith("Options:"):
            part = own
        elif line.startswith("Global options"):
            part = glob
        elif part is not None and line.startswith("  -"):
            tag = re.split(r"\s{2,}", line.strip())[0]
            part.update(OPT.findall(tag))
    return own, glob


def main():
    p = run(TK, "help", "--man")
    check(p.returncode == 0 and p.stdout.startswith(".\\\"") and ".TH TRAILKEEP 1" in p.stdout,
          "help --man: a man page source", p.stderr)
    src = p.stdout
    g = run("groff", "-man", "-Tutf8", "-ww", input=src)
    check(g.returncode == 0 and g.stderr == "" and "NAME" in plain(g.stdout),
          "groff -man -Tutf8 -ww renders it without a warning", g.stderr[-2000:])
    if shutil.which("man"):
        path = os.path.join(os.environ.get("TMPROOT", "/tmp"), "trailkeep-man-test.1")
        with open(path, "w") as f:
            f.write(src)
        m = run("man", "-l", path, env=dict(os.environ, MANPAGER="cat", PAGER="cat", MANWIDTH="100"))
        os.unlink(path)
        check(m.returncode == 0 and "trailkeep" in plain(m.stdout), "man -l renders it", m.stderr[-500:])
    text = plain(g.stdout)
    sections = re.split(r"\n(?=[A-Z][A-Z ]+\n)", text)
    by_title = {s.split("\n", 1)[0].strip(): s for s in sections}
    cmds_text = by_title.get("COMMANDS", "")
    sub = {}
    for chunk in re.split(r"\n(?=   [a-z]+\n)", cmds_text):
        first = chunk.split("\n", 1)[0]
        if re.fullmatch(r"   [a-z]+", first):
            sub[first.strip()] = chunk
    h = run(TK, "help")
    names = re.findall(r"^  ([a-z]+) ", h.stdout, re.M)
    check(len(names) >= 7 and h.returncode == 0, "trailkeep help lists the commands", names)
    glob_all = set()
    for name in names:
        ch = run(TK, name, "--help")
        own, glob = options_of(ch.stdout)
        glob_all |= glob
        usage = [u for u in re.findall(r"^usage: (.*)$|^(trailkeep .*)$", ch.stdout, re.M)]
        usage = [flat(a or b) for a, b in usage]
        body = flat(sub.get(name, ""))
        missing = sorted(o for o in own if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(o), body))
        check(name in sub and not missing and all(u in body for u in usage),
              "man page, command %s: its usage and all %d options of '%s --help'" % (name, len(own), name),
              (missing, usage, body[:400]))
    gbody = flat(by_title.get("GLOBAL OPTIONS", ""))
    missing = sorted(o for o in glob_all if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(o), gbody))
    check(len(glob_all) >= 8 and not missing, "man page: GLOBAL OPTIONS has all %d global options"
          % len(glob_all), missing)
    built = os.path.join(TOP, os.environ.get("BUILD", "build/default"), "trailkeep.1")
    check(os.path.isfile(built) and open(built).read() == src,
          "make builds %s from 'help --man'" % os.path.relpath(built, TOP))
    return 1 if check.failures else 0


if __name__ == "__main__":
    sys.exit(main())
