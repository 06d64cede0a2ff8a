#!/usr/bin/env python3
"""Plain-Python reference for `diskwatch replay`'s speed (make bench).

A fair, straightforward pass doing the job replay does on Backblaze
drive-stats data: read every row of every daily file (gzip + the csv module),
parse the columns the rules read into numbers, keep per-drive state in a dict
(first day, last readings, failure date = the last failure row, first day of
the Backblaze-practice alert and of a growth alert on raw 5/197), and print
the same kind of summary. No tricks (no pandas, no multiprocessing): what a
person checking diskwatch's figures would write.

usage: replay_reference.py DIR_OR_FILE...   (prints one JSON line)
"""
import csv
import datetime
import gzip
import json
import os
import sys
import time

WATCH = (1, 5, 9, 187, 188, 194, 197, 198)
PRACTICE = (5, 187, 188, 197, 198)


def files(args):
    out = []
    for a in args:
        if os.path.isdir(a):
            out += sorted(os.path.join(a, n) for n in os.listdir(a)
                          if n.endswith(".csv") or n.endswith(".csv.gz"))
        else:
            out.append(a)
    return out


def main(argv):
    start = time.process_time()
    drives = {}
    rows = 0
    for name in files(argv[1:]):
        opener = gzip.open if name.endswith(".gz") else open
        with opener(name, "rt", newline="") as f:
            r = csv.reader(f)
            hdr = next(r)
            col = {h: i for i, h in enumerate(hdr)}
            idate, iser, imodel, ifail = col["date"], col["serial_number"], col["model"], col["failure"]
            raw = [(a, col["smart_%d_raw" % a]) for a in WATCH if "smart_%d_raw" % a in col]
            for row in r:
                rows += 1
                day = datetime.date.fromisoformat(row[idate])
                vals = {}
                for a, i in raw:
                    v = row[i]
                    if v != "":
                        vals[a] = int(float(v)) if "." in v else int(v)
                serial = row[iser]
                d = drives.get(serial)
                if d is None:
                    d = drives[serial] = {"model": row[imodel], "first": day, "last": day,
                                          "failed": None, "practice": None, "growth": None,
                                          "prev": {}}
                d["last"] = day
                if row[ifail] == "1":
                    d["failed"] = day  # the last failure row wins
                if d["practice"] is None and any(vals.get(a, 0) > 0 for a in PRACTICE):
                    d["practice"] = day
                prev = d["prev"]
                if d["growth"] is None:
                    for a in (5, 197):
                        if a in vals and a in prev and vals[a] > prev[a]:
                            d["growth"] = day
                d["prev"] = vals
    failed = [d for d in drives.values() if d["failed"] is not None]
    seen7 = [d for d in failed if (d["failed"] - d["first"]).days >= 7]
    caught7 = [d for d in seen7 if d["practice"] is not None and (d["failed"] - d["practice"]).days >= 7]
    healthy = len(drives) - len(failed)
    healthy_alerted = sum(1 for d in drives.values() if d["failed"] is None and d["practice"] is not None)
    el = time.process_time() - start
    print(json.dumps({"rows": rows, "drives": len(drives), "failed": len(failed),
                      "practice_caught_7d": len(caught7), "failed_observed_7d": len(seen7),
                      "practice_healthy_alerted": healthy_alerted, "never_failed": healthy,
                      "cpu_seconds": round(el, 3), "drive_days_per_second": round(rows / el) if el else 0}))


if __name__ == "__main__":
    main(sys.argv)
