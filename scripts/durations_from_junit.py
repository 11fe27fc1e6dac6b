#!/usr/bin/env python3
"""Turn pytest JUnit XML (what `make test` writes to build/junit.xml) into pytest-split's durations
file: a JSON object mapping each test's node id to its seconds (setup + call + teardown, which is
what pytest's JUnit `time` holds by default and what pytest-split's --store-durations records).

    python scripts/durations_from_junit.py build/junit.xml            # writes .test_durations
    python scripts/durations_from_junit.py a.xml b.xml --update       # merge shard runs into it

JUnit names a test by classname (the module path with dots for slashes, then any classes) and name
(the function with its parameter id); the node id is rebuilt by finding the longest prefix of the
classname that is a .py file under --root, e.g.
    classname="tb.blocks.test_sps_fifo" name="test_sps_fifo[icarus-W8-D4]"
    -> "tb/blocks/test_sps_fifo.py::test_sps_fifo[icarus-W8-D4]"
Node ids are the same with and without pytest-xdist, so a `make test` run (-n JOBS) is a valid
source. Tests whose module no longer exists are left out (and counted on stderr)."""
import argparse
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def node_id(classname: str, name: str, root: Path) -> str | None:
    parts = classname.split(".")
    for i in range(len(parts), 0, -1):  # longest module path first
        module = "/".join(parts[:i]) + ".py"
        if (root / module).is_file():
            return "::".join([module, *parts[i:], name])
    return None


def durations(junit_files: list[Path], root: Path) -> tuple[dict[str, float], list[str]]:
    found: dict[str, float] = {}
    missing: list[str] = []
    for path in junit_files:
        for case in ET.parse(path).getroot().iter("testcase"):
            nid = node_id(case.get("classname", ""), case.get("name", ""), root)
            if nid is None:
                missing.append(f"{case.get('classname')}::{case.get('name')}")
                continue
            found[nid] = round(float(case.get("time") or 0.0), 3)
    return found, missing


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("junit", nargs="+", type=Path, help="JUnit XML file(s), e.g. build/junit.xml")
    ap.add_argument("-o", "--out", type=Path, default=Path(".test_durations"),
                    help="durations file to write (default: .test_durations)")
    ap.add_argument("--update", action="store_true",
                    help="keep the entries of --out that the JUnit files do not mention "
                         "(merging the shards' files); default: the JUnit files replace it")
    ap.add_argument("--root", type=Path, default=Path("."),
                    help="repository root the test paths are relative to (default: .)")
    args = ap.parse_args(argv)

    new, missing = durations(args.junit, args.root)
    if not new:
        print(f"error: no test cases in {', '.join(map(str, args.junit))}", file=sys.stderr)
        return 1
    out: dict[str, float] = {}
    if args.update and args.out.exists():
        out = json.loads(args.out.read_text())
    out.update(new)
    args.out.write_text(json.dumps(out, indent=4, sort_keys=True) + "\n")
    print(f"{args.out}: {len(new)} durations from JUnit ({sum(new.values()):.0f} s), "
          f"{len(out)} in the file", file=sys.stderr)
    if missing:
        print(f"left out {len(missing)} test(s) whose module is not under {args.root}, e.g. "
              f"{missing[0]}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
