#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Read what msgmux's test VM reported and decide whether the run passed.

The guest writes framed results to its second serial port (see
guest-init.sh).  This script either follows that file while QEMU runs
(--follow, for progress) or judges a finished run (--judge): it counts the
TAP results of every test binary, and fails the run for any "not ok", a
binary that crashed, timed out or did not finish its plan, a missing
MSGMUX-DONE marker (the VM crashed or hung), or any kernel splat in the
kernel log or on the console.  With --extract DIR it also writes the files
the guest sent between MSGMUX-FILE-BEGIN and MSGMUX-FILE-END markers (the
benchmark's results) into DIR.
"""
import argparse
import os
import re
import sys
import time

SPLATS = [
    r"WARNING:", r"\bBUG[: ]", r"\bOops\b", r"general protection fault",
    r"kernel BUG", r"UBSAN:", r"KASAN:", r"possible circular locking",
    r"possible recursive locking", r"inconsistent lock state",
    r"suspicious RCU usage", r"lock held when returning",
    r"lockdep is turned off", r"refcount_t:", r"scheduling while atomic",
    r"unreferenced object", r"Kernel panic", r"Call Trace:",
    r"detected stalls?", r"soft lockup", r"hard LOCKUP",
    r"blocked for more than", r"list_(add|del) corruption",
    r"double fault", r"invalid opcode", r"Unable to handle",
    r"stack-protector", r"object already freed",
]
SPLAT_RE = re.compile("|".join(SPLATS))
TAP_RE = re.compile(r"^(not ok|ok) (\d+)\b(.*)$")
# The lines of a failed case worth quoting in the verdict: CI shows only
# the end of the output, so the reason must be there, not only in the log.
WHY_RE = re.compile(r"FAIL \[|FAILED|Expected|unexpected|error|hung|crash",
                    re.I)
WHY_MAX = 6


def why(diag):
    """Pick the lines that say why a case failed, at most WHY_MAX."""
    picked = [l for l in diag if WHY_RE.search(l) and
              not re.match(r"^#\s+FAIL\s+\S+$", l.strip())]
    if not picked:
        picked = diag[-3:]
    more = len(picked) - WHY_MAX
    out = ["  " + l.strip() for l in picked[:WHY_MAX]]
    if more > 0:
        out.append("  ... and %d more such lines (see the log)" % more)
    return out


def parse(path):
    """Return (tests, dmesg, markers) from a results file."""
    tests, dmesg, markers = [], [], set()
    cur, in_dmesg = None, False
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if line == "MSGMUX-DMESG-BEGIN":
                in_dmesg = True
                continue
            if line == "MSGMUX-DMESG-END":
                in_dmesg = False
                markers.add("DMESG")
                continue
            if in_dmesg:
                dmesg.append(line)
                continue
            if line.startswith("MSGMUX-BEGIN "):
                cur = {"name": line.split(" ", 1)[1], "lines": [],
                       "rc": None, "secs": None}
                tests.append(cur)
            elif line.startswith("MSGMUX-END ") and cur:
                m = re.search(r"rc=(\d+) secs=(\d+)", line)
                if m:
                    cur["rc"], cur["secs"] = int(m.group(1)), int(m.group(2))
                cur = None
            elif line == "MSGMUX-DONE":
                markers.add("DONE")
            elif line.startswith("MSGMUX-"):
                markers.add(line)
            elif cur is not None:
                cur["lines"].append(line)
    return tests, dmesg, markers


def judge_test(t):
    """Count one binary's results; return (passed, failed, skipped, notes)."""
    passed = failed = skipped = 0
    plan, seen, notes, diag = None, 0, [], []
    for line in t["lines"]:
        if re.match(r"^1\.\.(\d+)$", line):
            plan = int(line[3:])
            continue
        m = TAP_RE.match(line)
        if not m:
            if line.startswith("#"):
                diag.append(line)
            continue
        seen += 1
        if m.group(1) == "not ok":
            failed += 1
            notes.append("not ok%s" % m.group(3))
            notes += why(diag)
        elif re.search(r"#\s*SKIP", m.group(3), re.I):
            skipped += 1
        else:
            passed += 1
        diag = []
    rc = t["rc"]
    if rc is None:
        failed += 1
        notes.append("did not finish (VM died during it)")
    elif rc == 137:
        failed += 1
        notes.append("killed by the per-test timeout")
    elif rc not in (0, 4) and failed == 0:
        failed += 1
        notes.append("exited %d with no failed test reported" % rc)
    if plan is not None and seen != plan:
        failed += 1
        notes.append("planned %d results, reported %d" % (plan, seen))
    if plan is None and rc is not None and seen == 0:
        failed += 1
        notes.append("printed no TAP plan and no result")
    return passed, failed, skipped, notes


def splats(lines, where):
    found = []
    for i, line in enumerate(lines):
        if SPLAT_RE.search(line):
            found.append("%s: %s" % (where, line.strip()))
    return found


def judge_debug(markers):
    """A debug kernel must have scanned for leaks and kept lockdep on."""
    problems = []
    leak = [m for m in markers if m.startswith("MSGMUX-KMEMLEAK ")]
    if not leak:
        problems.append("debug kernel: no kmemleak scan reported")
    elif not leak[0].endswith(" scans=2 leaks=0"):
        problems.append("debug kernel: " + leak[0][len("MSGMUX-"):])
    if "MSGMUX-LOCKDEP debug_locks=1" not in markers:
        problems.append("debug kernel: lockdep is not on at the end (%s)" %
                        ([m for m in markers if "LOCKDEP" in m] or
                         ["no report"])[0])
    return problems


def judge(args):
    tests, dmesg, markers = parse(args.judge)
    console = []
    if args.console and os.path.exists(args.console):
        with open(args.console, errors="replace") as f:
            console = [l.rstrip("\r\n") for l in f]
    tot_p = tot_f = tot_s = 0
    problems = []
    for t in tests:
        if args.mode != "check":
            # Not a test binary: only its exit status counts.
            if t["rc"] != 0:
                tot_f += 1
                problems.append("%s: exited %s" % (t["name"], t["rc"]))
            continue
        p, f, s, notes = judge_test(t)
        tot_p, tot_f, tot_s = tot_p + p, tot_f + f, tot_s + s
        problems += ["%s: %s" % (t["name"], n) for n in notes]
    if "DONE" not in markers:
        tot_f += 1
        problems.append("no MSGMUX-DONE marker: the VM crashed, hung or "
                        "timed out (see the console log)")
    if args.mode == "check" and not tests:
        tot_f += 1
        problems.append("no test ran")
    found = splats(dmesg, "dmesg") + splats(console, "console")
    if found:
        tot_f += 1
        problems.append("kernel splat in the log:")
        problems += ["  " + l for l in found[:40]]
    for m in sorted(markers):
        if m.startswith("MSGMUX-WARN"):
            problems.append("guest: " + m[len("MSGMUX-WARN "):])
    if args.debug:
        problems += judge_debug(markers)
    label = args.label
    for p in problems:
        print("[%s] FAIL %s" % (label, p))
    if problems and args.console:
        print("[%s] console log: %s" % (label, args.console))
    if args.mode == "check":
        print("[%s] %d passed, %d failed, %d skipped" % (label, tot_p, tot_f,
                                                         tot_s))
    else:
        print("[%s] %s: %s" % (label, args.mode, "FAILED" if tot_f or problems
                               else "ok, no kernel splat"))
    if args.summary:
        with open(args.summary, "w") as f:
            f.write("%d %d %d\n" % (tot_p, tot_f, tot_s))
    if args.extract:
        for name in extract(args.judge, args.extract):
            print("[%s] wrote %s" % (label, os.path.join(args.extract, name)))
    return 1 if tot_f or problems else 0


def extract(path, outdir):
    """Write the files sent between MSGMUX-FILE markers; return names."""
    written, name, lines = [], None, []
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if line.startswith("MSGMUX-FILE-BEGIN "):
                name, lines = os.path.basename(line.split(" ", 1)[1]), []
            elif line.startswith("MSGMUX-FILE-END ") and name:
                with open(os.path.join(outdir, name), "w") as out:
                    out.write("\n".join(lines) + "\n")
                written.append(name)
                name = None
            elif name is not None:
                lines.append(line)
    return written


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def follow(args):
    """Print the guest's reports as they arrive, until QEMU exits."""
    label, start = args.label, args.start or time.time()
    pos, buf, in_dmesg, in_file = 0, "", False, False
    while True:
        running = alive(args.pid)
        with open(args.follow, errors="replace") as f:
            f.seek(pos)
            data = f.read()
            pos = f.tell()
        buf += data
        *lines, buf = buf.split("\n")
        for line in lines:
            line = line.rstrip("\r")
            el = int(time.time() - start)
            if line == "MSGMUX-DMESG-BEGIN":
                in_dmesg = True
            elif line == "MSGMUX-DMESG-END":
                in_dmesg = False
            elif in_dmesg:
                continue
            elif line.startswith("MSGMUX-FILE-BEGIN"):
                in_file = True
            elif line.startswith("MSGMUX-FILE-END"):
                in_file = False
            elif in_file:
                continue
            elif line.startswith("MSGMUX-BOOT"):
                print("[%s +%ds] booted %s" % (label, el, line.split()[1]),
                      flush=True)
            elif line.startswith("MSGMUX-BEGIN"):
                print("[%s +%ds] running %s" % (label, el, line.split()[1]),
                      flush=True)
            elif line.startswith("MSGMUX-END"):
                print("[%s +%ds] finished %s" % (label, el, " ".join(
                    line.split()[1:])), flush=True)
            elif line.startswith("MSGMUX-"):
                print("[%s +%ds] %s" % (label, el, line), flush=True)
            else:
                print("[%s] %s" % (label, line), flush=True)
        if not running:
            return 0
        time.sleep(0.5)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--follow")
    ap.add_argument("--pid", type=int)
    ap.add_argument("--start", type=float)
    ap.add_argument("--judge")
    ap.add_argument("--console")
    ap.add_argument("--mode", default="check")
    ap.add_argument("--label", default="vm")
    ap.add_argument("--summary")
    ap.add_argument("--extract", metavar="DIR",
                    help="write the files the guest sent into DIR")
    ap.add_argument("--debug", action="store_true",
                    help="a debug kernel: require its kmemleak and lockdep "
                    "reports")
    args = ap.parse_args()
    if args.follow:
        return follow(args)
    return judge(args)


if __name__ == "__main__":
    sys.exit(main())
