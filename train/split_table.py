"""Split choice (step 1): rate, accuracy and device-side MACs per cut, from learn.py runs.

    # read finished runs
    /usr/bin/python3 train/split_table.py models/learned/resnet_l1 models/learned/resnet_l2 [--json]
    # or train at several cuts first (extra arguments after -- go to learn.py)
    /usr/bin/python3 train/split_table.py --model M.onnx --at T1 --at T2 --out ROOT [--json] -- --minutes 5

Each row: the cut, latent shape, estimated bytes per image (entropy model, rounded latent, held-out
images), held-out top-1 and its drop against the unmodified model, head + encoder MACs. The JSON
form (--json) is a list of these rows, for the planner.
"""
import argparse
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def row(report_dir):
    with open(os.path.join(report_dir, "report.json")) as f:
        r = json.load(f)
    return {
        "dir": report_dir, "at": r["at"], "latent_shape": r["latent_shape"],
        "rate_weight": r["rate_weight"], "prune_fraction": r["prune_fraction"],
        "estimated_bits_per_image": r["estimated_bits_per_image"],
        "estimated_bytes_per_image": round(r["estimated_bits_per_image"] / 8, 2),
        "heldout_top1": r["heldout_top1"], "reference_top1": r["reference_top1"],
        "top1_drop_points": round((r["reference_top1"] - r["heldout_top1"]) * 100, 2),
        "device_macs": r["head_macs"] + r["encoder_macs"],
        "head_macs": r["head_macs"], "encoder_macs": r["encoder_macs"],
    }


def table(rows):
    head = ["cut", "latent", "lambda", "prune", "est. B/image", "held-out top-1", "drop (pt)", "head+enc MACs"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        lines.append(f"| `{r['at']}` | {'x'.join(str(d) for d in r['latent_shape'][1:])} | {r['rate_weight']} | "
                     f"{r['prune_fraction']} | {r['estimated_bytes_per_image']:.2f} | {r['heldout_top1'] * 100:.2f}% | "
                     f"{r['top1_drop_points']:.2f} | {r['device_macs']:,} |")
    return "\n".join(lines)


def slug(tensor):
    return re.sub(r"[^A-Za-z0-9]+", "_", tensor).strip("_") or "cut"


def main(argv):
    extra = []
    if "--" in argv:
        k = argv.index("--")
        argv, extra = argv[:k], argv[k + 1:]
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dirs", nargs="*", help="directories holding a learn.py report.json")
    ap.add_argument("--model")
    ap.add_argument("--at", action="append", default=[])
    ap.add_argument("--out", help="root directory for the runs (one sub-directory per cut)")
    ap.add_argument("--data", default="fashion-mnist:train")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    dirs = list(a.dirs)
    if a.at:
        if not a.model or not a.out:
            ap.error("--at needs --model and --out")
        for t in a.at:
            d = os.path.join(a.out, slug(t))
            cmd = [sys.executable, os.path.join(HERE, "learn.py"), "--model", a.model, "--at", t, "--data", a.data,
                   "--out", d] + extra
            if subprocess.run(cmd).returncode != 0:
                sys.stderr.write(f"ftc learn: the run at '{t}' failed\n")
                return 1
            dirs.append(d)
    if not dirs:
        ap.error("give report directories or --model/--at/--out")
    rows = [row(d) for d in dirs]
    print(json.dumps(rows, indent=1) if a.json else table(rows))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except (OSError, KeyError, ValueError) as e:
        sys.stderr.write(f"split_table: {e}\n")
        sys.exit(1)
