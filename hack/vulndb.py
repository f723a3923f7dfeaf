#!/usr/bin/env python3
"""Builds a local Go vulnerability database (the v1 layout govulncheck reads with -db file://...)
from the OSV reports shipped in the golang.org/x/vulndb module, fetched through the Go module proxy:
the machines this project is built on reach the proxy but not vuln.go.dev.

usage: vulndb.py VULNDB_MODULE_DIR OUT_DIR
"""
import json
import os
import sys
from typing import Any


def main(src: str, out: str) -> None:
    osv_dir = os.path.join(src, "data", "osv")
    os.makedirs(os.path.join(out, "ID"), exist_ok=True)
    os.makedirs(os.path.join(out, "index"), exist_ok=True)
    modules: dict[str, list[dict[str, Any]]] = {}
    latest = ""
    for name in sorted(os.listdir(osv_dir)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(osv_dir, name), encoding="utf-8") as f:
            entry = json.load(f)
        vid, modified = entry["id"], entry.get("modified", "")
        latest = max(latest, modified)
        with open(os.path.join(out, "ID", vid + ".json"), "w", encoding="utf-8") as f:
            json.dump(entry, f)
        for affected in entry.get("affected", []):
            path = affected.get("package", {}).get("name")
            if not path:
                continue
            fixed = ""
            for r in affected.get("ranges", []):
                for ev in r.get("events", []):
                    if "fixed" in ev:
                        fixed = max(fixed, ev["fixed"])
            item: dict[str, Any] = {"id": vid, "modified": modified}
            if fixed:
                item["fixed"] = fixed
            modules.setdefault(path, []).append(item)
    index = [{"path": p, "vulns": v} for p, v in sorted(modules.items())]
    with open(os.path.join(out, "index", "modules.json"), "w", encoding="utf-8") as f:
        json.dump(index, f)
    with open(os.path.join(out, "index", "db.json"), "w", encoding="utf-8") as f:
        json.dump({"modified": latest}, f)
    print(f"vulndb: {sum(len(v) for v in modules.values())} entries for {len(modules)} modules, modified {latest}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
