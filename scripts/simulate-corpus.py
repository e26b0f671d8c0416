#!/usr/bin/env python3
"""The figures the README gives for `oomctl simulate` on the corpus (issue 15).

Runs `oomctl simulate --sweep` over the corpus's logs (every file under
corpus/ but the goldens, facts and READMEs, as tests/corpus.rs reads them;
a directory argument would read the sidecar files too) and prints, per
setting of the default sweep, how many memcg OOMs with a known limit the
guard fired on, was held back on, acted on, and whether its victim (the
kernel's badness rule) is the kernel's own: the same, another, or unknown
(the kernel's victim is not in the log). tests/simulate.rs holds the
README's claim "every memcg OOM where both are known" to this count.

    scripts/simulate-corpus.py [OOMCTL]   (default: a debug build, built first)
"""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIDECARS = (".expected.jsonl", ".facts.json", ".md")


def corpus_logs():
    out = []
    for d, _, files in os.walk(os.path.join(ROOT, "corpus")):
        out += [os.path.join(d, f) for f in files if not f.endswith(SIDECARS)]
    return sorted(os.path.relpath(p, ROOT) for p in out)


def main():
    if len(sys.argv) > 1:
        oomctl = sys.argv[1]
    else:
        subprocess.run(["cargo", "build", "--quiet"], cwd=ROOT, check=True)
        oomctl = os.path.join(ROOT, "target", "debug", "oomctl")
    logs = corpus_logs()
    run = lambda *args: subprocess.run(
        [oomctl, "simulate", *args, *logs], cwd=ROOT, capture_output=True, text=True
    ).stdout
    episodes = [json.loads(l) for l in run("-f", "jsonl").splitlines()]
    rows = [json.loads(l) for l in run("--sweep", "-f", "jsonl").splitlines()]
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    print(f"corpus at {commit}: {len(logs)} logs, {len(episodes)} episodes, "
          f"{rows[0]['memcg_episodes']} memcg OOMs with a known limit")
    print("policy     margin  fired  held back  acted  same victim  other victim  kernel's unknown")
    for r in rows:
        unknown = r["acted"] - r["same_victim"] - r["other_victim"]
        print(f"{r['policy']:<10} {r['margin_ratio'] * 100:>5g}%  {r['fired']:>5}  {r['held_back']:>9}  "
              f"{r['acted']:>5}  {r['same_victim']:>11}  {r['other_victim']:>12}  {unknown:>16}")


if __name__ == "__main__":
    main()
