#!/usr/bin/env bash
# The planner's validation (docs/planning.md, "Validation"; issue 17's target): ftc plan's
# predicted end-to-end latency against the latency ftc infer measures against ftc serve on
# loopback with the uplink throttled, per candidate, at each rate.
#   BUILD=build/rel bench/plan_check.sh [N]
# N: images (default 20): the first N Fashion-MNIST test images, both for ftc plan's
# measurements and for ftc infer. FTC_PLAN_AT: the split tensors to check (default: five cuts
# from the stem to the flattened pool); FTC_PLAN_RATES (default "0.1mbit 1mbit 10mbit");
# FTC_PLAN_RATE_POINTS: codec-model rate points to check at its tensor (default "0 2 7");
# FTC_PLAN_LEARNED: learned-bottleneck directories (default models/learned/resnet_l1; "" for none).
#
# On loopback the device and the server are this machine: ftc plan runs with --device-slowdown 1
# --server-speedup 1, and with --rtt set to the link's measured round trip (below: ftc infer
# requests throttled at 10 Gbit/s, their round trip less the server's time). Device-only sends nothing; its
# "measured" figure is the full model's median time over 200 images in a second, independent
# ftc plan run.
# Cloud-only rows send the input image (ftc infer --cloud png|jpeg) to ftc serve --image-model
# with the full model; learned rows run DIR/device.onnx on the device and DIR/server.onnx with
# DIR/codec.ftcm on the server.
# Prints one markdown row per candidate and rate: predicted, measured (median over N images),
# error = (predicted − measured) / measured, and which candidate each side picks per rate.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$src/build/rel}
ftc=$build/cli/ftc
n=${1:-20}
model=$src/models/fmnist_resnet.onnx
card=$src/models/fmnist_resnet.json
cm=$src/models/fmnist_resnet.ftcm
read -r -a rates <<<"${FTC_PLAN_RATES:-0.1mbit 1mbit 10mbit}"
read -r -a points <<<"${FTC_PLAN_RATE_POINTS:-0 2 7}"
at=${FTC_PLAN_AT:-/stem_relu/Relu_output_0,/stage1/block1/relu_2/Relu_output_0,/stage2/block1/relu_2/Relu_output_0,/stage3/block1/relu_2/Relu_output_0,/Flatten_output_0}
codec=(--bits 4 --coder rans)
read -r -a learned <<<"${FTC_PLAN_LEARNED-$src/models/learned/resnet_l1}"
learned_flags=()
for d in "${learned[@]}"; do learned_flags+=(--learned "$d"); done
py=/usr/bin/python3

tmp=$(mktemp -d)
server_pid=
cleanup() {
  if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# The first N test images as u8 (28, 28) .npy files (what ftc infer reads).
"$py" - "$tmp" "$n" <<'EOF'
import gzip, sys, numpy as np
out, n = sys.argv[1], int(sys.argv[2])
with gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") as f:
    data = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 28, 28)
for i in range(n):
    np.save(f"{out}/img{i:04d}.npy", data[i])
EOF
images=("$tmp"/img*.npy)

start_server() {  # serve flags (--tail T [--codec-model C] | --image-model M) → sets server_pid and port
  "$ftc" serve "$@" --port 0 --max-batch 1 --workers 2 --runners 1 -q >"$tmp/serve.out" 2>"$tmp/serve.err" &
  server_pid=$!
  for _ in $(seq 100); do
    [[ -s $tmp/serve.out ]] && break
    sleep 0.1
  done
  port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$tmp/serve.out" | head -1)
  [[ -n $port ]] || { echo "plan_check: ftc serve did not start: $(cat "$tmp/serve.err")" >&2; exit 1; }
}
stop_server() {
  kill -TERM "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=
}

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# The RTT of this link: ftc infer's own round trip less the server's time ("transfer_ms") through
# the same throttled upload path at 10 Gbit/s (the ~1.2 kB frame of the flattened pool then takes
# 1 us), median over the images: the protocol's request/answer cost on loopback (HTTP framing, the
# socket round trip, the JSON answer), measured apart from the runs it predicts. (Unthrottled,
# ftc infer posts the body in one piece, another path with another cost: about 4 ms here.)
"$ftc" split "$model" --at /Flatten_output_0 --head "$tmp/h.onnx" --tail "$tmp/t.onnx" >/dev/null
start_server --tail "$tmp/t.onnx" --codec-model "$cm"
"$ftc" infer --head "$tmp/h.onnx" --card "$card" --server "http://127.0.0.1:$port" --uplink 10gbit --json "${codec[@]}" \
  "${images[@]}" >"$tmp/rtt.jsonl"
rtt_ms=$("$py" -c 'import json,sys; print("\n".join(str(json.loads(l)["transfer_ms"]) for l in open(sys.argv[1])))' "$tmp/rtt.jsonl" | median)
stop_server

# The prediction, at every rate.
sweep=$(IFS=,; echo "${rates[*]}")
"$ftc" plan --model "$model" --data fashion-mnist:test --calibration "$n" --at "$at" --codec-model "$cm" "${codec[@]}" \
  "${learned_flags[@]}" --rtt "${rtt_ms}ms" --device-slowdown 1 --server-speedup 1 --sweep-uplink "$sweep" -q \
  --json "$tmp/plan.json" >/dev/null
# Device-only "measured": a second, independent run of the full model.
"$ftc" plan --model "$model" --data fashion-mnist:test --calibration 200 --at /Flatten_output_0 "${codec[@]}" -q \
  --json "$tmp/plan2.json" >/dev/null 2>&1

# The candidates to run: cloud-only, every split of the plan with the flag codec, the chosen rate
# points, the learned bottlenecks. One line each, '|'-separated (empty fields kept): name, kind, cut, rate point, learned directory.
"$py" - "$tmp/plan.json" "${learned[*]}" "${points[@]}" >"$tmp/candidates" <<'EOF'
import json, os, sys
j = json.load(open(sys.argv[1]))
dirs = {"learned " + os.path.basename(d.rstrip("/")): d for d in sys.argv[2].split()}
points = set(sys.argv[3:])
for c in j["candidates"]:
    name, kind = c["name"], c["kind"]
    if kind == "cloud":
        print(f'{name}|cloud|-||')
    elif kind == "learned" and name in dirs:
        print(f'{name}|learned|{c["at"]}||{dirs[name]}')
    elif kind == "split":
        rp = name.split(" model rp")[1] if " model rp" in name else ""
        if rp and rp not in points:
            continue
        print(f'{name}|split|{c["at"]}|{rp}|')
EOF

: >"$tmp/measured"
last_key=
while IFS='|' read -r name kind cut rp dir; do
  key="$kind $cut $dir"
  if [[ $key != "$last_key" ]]; then
    [[ -n $server_pid ]] && stop_server
    case $kind in
      cloud) start_server --image-model "$model" --image-card "$card" ;;
      learned) start_server --tail "$dir/server.onnx" --codec-model "$dir/codec.ftcm" ;;
      split)
        "$ftc" split "$model" --at "$cut" --head "$tmp/h.onnx" --tail "$tmp/t.onnx" -f >/dev/null
        start_server --tail "$tmp/t.onnx" --codec-model "$cm" ;;
    esac
    last_key=$key
  fi
  case $kind in
    cloud)
      if [[ $name == cloud-png ]]; then device=(--cloud png); else device=(--cloud jpeg --jpeg-quality "${name#cloud-jpeg q=}"); fi ;;
    learned) device=(--head "$dir/device.onnx" --card "$card" --codec-model "$dir/codec.ftcm") ;;
    split)
      device=(--head "$tmp/h.onnx" --card "$card")
      if [[ -n $rp ]]; then device+=(--codec-model "$cm" --rate-point "$rp"); else device+=("${codec[@]}"); fi ;;
  esac
  for r in "${rates[@]}"; do
    "$ftc" infer "${device[@]}" --server "http://127.0.0.1:$port" --uplink "$r" --json \
      "${images[@]}" >"$tmp/infer.jsonl"
    m=$("$py" -c 'import json,sys; print("\n".join(str(json.loads(l)["total_ms"]) for l in open(sys.argv[1])))' "$tmp/infer.jsonl" | median)
    printf '%s\t%s\t%s\n' "$name" "$r" "$m" >>"$tmp/measured"
  done
done <"$tmp/candidates"
[[ -n $server_pid ]] && stop_server

"$py" - "$tmp/plan.json" "$tmp/plan2.json" "$tmp/measured" "$rtt_ms" "$(nproc)" "$(cut -d' ' -f1 /proc/loadavg)" "${rates[@]}" <<'EOF'
import json, sys
plan, plan2, measured_path, rtt, cores, load = sys.argv[1:7]
rates = sys.argv[7:]
j = json.load(open(plan))
j2 = json.load(open(plan2))
def bps(r):
    r = r.lower().replace("bit", "")
    return float(r[:-1]) * {"k": 1e3, "m": 1e6, "g": 1e9}[r[-1]]
names = [c["name"] for c in j["candidates"]]
pred = {}
for s in j["sweep"]:
    for name, t in zip(names, s["total_ms"]):
        pred[(name, s["uplink_bps"])] = t
meas = {}
for line in open(measured_path):
    name, r, m = line.rstrip("\n").split("\t")
    meas[(name, bps(r))] = float(m)
dev = j2["candidates"][0]["measured_ms"]["head"]
for r in rates:
    meas[("device-only", bps(r))] = dev
print(f"RTT (median ftc infer round trip less server time, throttle at 10 Gbit/s) {float(rtt):.2f} ms; {cores} cores, load average {load} at the end; "
      f"{j['images']} images, medians")
print()
print("| candidate | at | codec | bytes | uplink | predicted ms | measured ms | error |")
print("|---|---|---|---|---|---|---|---|")
errs = []
by = {c["name"]: c for c in j["candidates"]}
for r in rates:
    u = bps(r)
    for name in names:
        if (name, u) not in meas:
            continue
        c = by[name]
        p, m = pred[(name, u)], meas[(name, u)]
        e = (p - m) / m * 100
        errs.append(abs(e))
        at = c["at"].split(",")[0] + (" +skip" if "," in c["at"] else "")
        print(f"| {name} | {at or '-'} | {c['codec']} | {c['bytes']:.0f} | {r} | {p:.2f} | {m:.2f} | {e:+.1f} % |")
print()
for r in rates:
    u = bps(r)
    cand = [n for n in names if (n, u) in meas]
    bp = min(cand, key=lambda n: pred[(n, u)])
    bm = min(cand, key=lambda n: meas[(n, u)])
    print(f"- {r}: planner picks {bp} (predicted {pred[(bp, u)]:.2f} ms, measured {meas[(bp, u)]:.2f} ms); "
          f"fastest measured {bm} ({meas[(bm, u)]:.2f} ms)")
errs.sort()
print(f"- |error|: median {errs[len(errs)//2]:.1f} %, max {errs[-1]:.1f} %, "
      f"{sum(e <= 15 for e in errs)} of {len(errs)} within 15 %")
EOF
