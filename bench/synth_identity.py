"""Byte-identity check of the synthetic generator across a code change: runs `crumbgraph synth` of
this working tree and of another revision (or a recorded digest file) for several (accounts, seed,
background mix, format) combinations and compares the sha256 of every file written.

    .venv/bin/python bench/synth_identity.py                    # this tree against `main`
    .venv/bin/python bench/synth_identity.py --base HEAD~3
    .venv/bin/python bench/synth_identity.py --record d.json    # save this tree's digests
    .venv/bin/python bench/synth_identity.py --against d.json   # compare with saved digests

Exits 1 when any file differs. A generator change that is meant to change the output will fail
this against the revision before it; that is the point (pick `--base` after such a change)."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: (accounts, seed, background mix, format)
COMBOS = (
    (3000, 1, 0.0, "parquet"),
    (3000, 2, 1.0, "parquet"),
    (20000, 3, 0.0, "parquet"),
    (20000, 1, 5.0, "parquet"),
    (3000, 4, 0.5, "csv"),
    (3000, 5, 0.0, "jsonl"),
)


def combo_key(accounts: int, seed: int, mix: float, fmt: str) -> str:
    return f"{accounts}/{seed}/mix{mix:g}/{fmt}"


def digests_of(code_root: Path, work: Path) -> dict[str, dict[str, str]]:
    """{combo: {file name: sha256}} of snapshots written by the `crumbgraph synth` under `code_root`."""
    env = dict(os.environ, PYTHONPATH=str(code_root))
    out: dict[str, dict[str, str]] = {}
    for accounts, seed, mix, fmt in COMBOS:
        key = combo_key(accounts, seed, mix, fmt)
        snap = work / key.replace("/", "_")
        cmd = [sys.executable, "-c", "from api.cli import main; main()", "synth", "--out", str(snap)]
        cmd += ["--accounts", str(accounts), "--seed", str(seed), "--format", fmt, "--quiet", "--force"]
        if mix:
            cmd += ["--background-mix", str(mix)]
        subprocess.run(cmd, cwd=code_root, env=env, check=True)
        out[key] = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(snap.iterdir())}
        print(f"  {key}: {len(out[key])} files", file=sys.stderr)
    return out


def export_revision(rev: str, dest: Path) -> Path:
    """The tree of `rev` extracted into `dest` (git archive: no worktree, the repository is untouched)."""
    archive = dest / "rev.tar"
    with archive.open("wb") as fh:
        subprocess.run(["git", "-C", str(ROOT), "archive", rev], stdout=fh, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(dest / "tree", filter="data")
    return dest / "tree"


def compare(want: dict[str, dict[str, str]], got: dict[str, dict[str, str]]) -> list[str]:
    """Human-readable differences; empty when every file of every combination is identical."""
    diffs = []
    for key in sorted(set(want) | set(got)):
        a, b = want.get(key, {}), got.get(key, {})
        for name in sorted(set(a) | set(b)):
            if a.get(name) != b.get(name):
                diffs.append(f"{key} {name}: {a.get(name, 'missing')[:12]} != {b.get(name, 'missing')[:12]}")
    return diffs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", default="main", help="git revision to compare against (default: main)")
    ap.add_argument("--against", type=Path, help="compare against digests recorded with --record instead")
    ap.add_argument("--record", type=Path, help="write this tree's digests here and stop")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="synth-identity-") as tmp:
        print("this tree:", file=sys.stderr)
        got = digests_of(ROOT, Path(tmp) / "head")
        if args.record:
            args.record.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
            return 0
        if args.against:
            want = json.loads(args.against.read_text())
        else:
            print(f"{args.base}:", file=sys.stderr)
            want = digests_of(export_revision(args.base, Path(tmp)), Path(tmp) / "base")
    diffs = compare(want, got)
    files = sum(len(v) for v in got.values())
    if diffs:
        print("\n".join(diffs))
        print(f"DIFFERENT: {len(diffs)} of {files} files")
        return 1
    print(f"identical: {files} files over {len(got)} combinations")
    return 0


if __name__ == "__main__":
    sys.exit(main())
