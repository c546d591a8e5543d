#!/usr/bin/env python3
"""Markdown rows of docs/benchmarks.md from `ftc_bench coders --json` reports on stdin.

  bench_rows.py coders LABEL    one row of the coder table (bench/coders_table.sh)
  bench_rows.py targets LABEL   one row of the per-target table (bench/targets_table.sh)

stdin holds several JSON reports, one per run of the same input; MB/s cells are their medians
(sizes are exact and the same in every run).
"""
import json
import statistics
import sys


def read_reports(text):
    reports, dec, at = [], json.JSONDecoder(), 0
    while text[at:].strip():
        at += len(text[at:]) - len(text[at:].lstrip())
        obj, at = dec.raw_decode(text, at)
        reports.append(obj)
    return reports


def row_of(report, name):
    return next(c for c in report["coders"] if c["name"] == name)


def median_of(reports, name, key):
    return statistics.median(row_of(r, name)[key] for r in reports)


def mbps(value):
    return format(round(value), ",")


def coders_row(label, reports):
    f, h, z, e = (row_of(reports[0], n) for n in ("ftc-rans", "htscodecs-rans-o0", "zstd-19", "entropy"))
    med = lambda name, key: median_of(reports, name, key)
    lanes = f["note"].split(", ")[-1].split()[0]
    first = reports[0]
    forced_payload = first["rans_per_context_bytes"] - first["rans_per_context_table_bytes"]
    return [label,
            "%.3f, %s / %s (%s, %s B)" % (f["bits_per_symbol"], mbps(med("ftc-rans", "encode_MBps")),
                                          mbps(med("ftc-rans", "decode_MBps")), lanes, format(f["table_bytes"], ",")),
            "%.3f, %s / %s" % (h["bits_per_symbol"], mbps(med("htscodecs-rans-o0", "encode_MBps")),
                               mbps(med("htscodecs-rans-o0", "decode_MBps"))),
            "%.3f" % z["bits_per_symbol"],
            "%.2f" % (med("ftc-rans", "decode_MBps") / med("htscodecs-rans-o0", "decode_MBps")),
            "%.4f" % ((f["bytes"] - f["table_bytes"]) / e["bytes"]),
            "%.4f" % ((f["bytes"] - f["table_bytes"]) / first["rans_model_bytes"]),
            "%.4f" % (first["rans_per_context_bytes"] / f["bytes"]),
            "%.4f" % (forced_payload / e["bytes"])]


def targets_row(label, reports):
    # A cell a kernel, in the order the runs used them: ftc-rans, then htscodecs-rans-o0 held to
    # the same instruction set.
    kernels = []
    for r in reports:
        if r["rans_kernels"] not in kernels:
            kernels.append(r["rans_kernels"])
    cells = [label]
    for k in kernels:
        runs = [r for r in reports if r["rans_kernels"] == k]
        cell = lambda name: "%s / %s" % (mbps(median_of(runs, name, "encode_MBps")), mbps(median_of(runs, name, "decode_MBps")))
        cells.append("%s (hts %s)" % (cell("ftc-rans"), cell("htscodecs-rans-o0")))
    return cells


if __name__ == "__main__":
    kind, label = sys.argv[1], sys.argv[2]
    reports = read_reports(sys.stdin.read())
    cells = coders_row(label, reports) if kind == "coders" else targets_row(label, reports)
    print("| " + " | ".join(cells) + " |")
