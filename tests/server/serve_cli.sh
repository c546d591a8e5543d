#!/usr/bin/env bash
# The commands end to end: `ftc serve --port 0` prints its port first; `ftc infer` gets a class
# and the latency breakdown; `ftc loadtest` passes with malformed frames; SIGTERM while a request
# waits in a batch: the request is answered and serve exits 0; bad flags are one-line errors.
# Usage: serve_cli.sh FTC SOURCE_DIR
set -euo pipefail
FTC=$1
SRC=$2
work=$(mktemp -d)
server=""
cleanup() {
  [[ -n $server ]] && kill "$server" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$FTC" split "$SRC/models/fmnist_resnet.onnx" --at /stage2/block1/relu_2/Relu_output_0 \
  --head "$work/head.onnx" --tail "$work/tail.onnx" >/dev/null
/usr/bin/python3 - "$work" <<'PY'
import gzip, sys, numpy as np
raw = gzip.open('/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz').read()
imgs = np.frombuffer(raw[16:], dtype=np.uint8).reshape(-1, 28, 28)
np.save(sys.argv[1] + '/img0.npy', imgs[0])
np.save(sys.argv[1] + '/img1.npy', imgs[1])
PY

start() {  # start FLAGS…: sets $server and $port
  "$FTC" serve --tail "$work/tail.onnx" --codec-model "$SRC/models/fmnist_resnet.ftcm" --port 0 "$@" \
    >"$work/serve.out" 2>"$work/serve.err" &
  server=$!
  for _ in $(seq 300); do
    [[ -s $work/serve.out ]] && break
    kill -0 "$server" 2>/dev/null || fail "serve exited: $(cat "$work/serve.err")"
    sleep 0.1
  done
  head -1 "$work/serve.out" | grep -q '^listening on 127\.0\.0\.1:[0-9]*$' || fail "first line: $(head -1 "$work/serve.out")"
  port=$(sed -n '1s/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/serve.out")
}

start
common=(--head "$work/head.onnx" --card "$SRC/models/fmnist_resnet.json")
# Two images, two codings; the class of image 0 (an ankle boot) is 9 under both.
out=$("$FTC" infer "${common[@]}" --server "http://127.0.0.1:$port" --bits 4 --coder rans "$work/img0.npy" "$work/img1.npy")
echo "$out"
echo "$out" | grep -q 'img0.npy: class 9 ' || fail "class of img0"
echo "$out" | grep -q 'head .* ms  encode .* ms  transfer .* ms  server .* ms' || fail "latency breakdown"
json=$("$FTC" infer "${common[@]}" --server "http://127.0.0.1:$port/v1/infer/tail" --codec-model "$SRC/models/fmnist_resnet.ftcm" \
  --uplink 100kbit --json "$work/img0.npy")
echo "$json"
/usr/bin/python3 -c '
import json, sys
j = json.loads(sys.argv[1])
assert j["status"] == 200 and j["class"] == 9, j
# 100 kbit/s: the upload of the frame takes at least 8*bytes/1e5 s.
assert j["transfer_ms"] >= 8 * j["frame_bytes"] / 1e5 * 1000 * 0.95, j
' "$json" || fail "infer --json"
"$FTC" loadtest "${common[@]}" --server "http://127.0.0.1:$port" --tail "$work/tail.onnx" --bits 4 --coder rans \
  --data fashion-mnist:test:50 --clients 4 --requests 300 --malformed 0.3 --pid "$server" | tee "$work/load.txt"
grep -q '^PASS$' "$work/load.txt" || fail "loadtest"
grep -q 'ts=.* status=200 kind=ok' "$work/serve.err" || fail "no request log line"

# Bad flags: one line, exit 1.
set +e
msg=$("$FTC" infer "${common[@]}" --server "http://127.0.0.1:$port" --uplink 1xbit "$work/img0.npy" 2>&1); rc=$?
set -e
[[ $rc -eq 1 && $(echo "$msg" | wc -l) -eq 1 && $msg == "ftc: --uplink: "* ]] || fail "bad --uplink: $rc $msg"
kill -TERM "$server"; wait "$server"; server=""

# Cloud-only: the same server also holds the full model; the input image as PNG and as JPEG
# goes to it, a frame still goes to the tail. Image 0 is class 9 in the full model too.
start --image-model "$SRC/models/fmnist_resnet.onnx"
grep -q '^  image model fmnist_resnet: batching' "$work/serve.out" || fail "image model line: $(cat "$work/serve.out")"
for fmt in png jpeg; do
  json=$("$FTC" infer --cloud "$fmt" --server "http://127.0.0.1:$port" --uplink 1mbit --json "$work/img0.npy")
  echo "$json"
  /usr/bin/python3 -c '
import json, sys
j = json.loads(sys.argv[1])
assert j["status"] == 200 and j["class"] == 9 and j["head_ms"] == 0, j
assert 100 < j["frame_bytes"] < 2000, j
' "$json" || fail "infer --cloud $fmt"
done
"$FTC" infer "${common[@]}" --server "http://127.0.0.1:$port" --bits 4 --coder rans "$work/img0.npy" | grep -q 'class 9 ' \
  || fail "a frame beside the image model"
set +e
msg=$("$FTC" infer --cloud png --head "$work/head.onnx" --server "http://127.0.0.1:$port" "$work/img0.npy" 2>&1); rc=$?
set -e
[[ $rc -ne 0 && $(echo "$msg" | wc -l) -le 2 ]] || fail "--cloud with --head: $rc $msg"
kill -TERM "$server"; wait "$server"; server=""

# SIGTERM with a request waiting in a batch (1.5 s wait): answered, then exit 0.
start --max-batch 64 --batch-wait-ms 1500
"$FTC" infer "${common[@]}" --server "http://127.0.0.1:$port" "$work/img0.npy" >"$work/late.txt" &
client=$!
sleep 0.7
kill -TERM "$server"
rc=0; wait "$client" || rc=$?
[[ $rc -eq 0 ]] || fail "the request in flight failed: $(cat "$work/late.txt")"
grep -q 'class 9' "$work/late.txt" || fail "in-flight answer"
rc=0; wait "$server" || rc=$?
server=""
[[ $rc -eq 0 ]] || fail "serve exited $rc after SIGTERM"
grep -q 'stopped; 1 requests answered 200' "$work/serve.err" || fail "stop line: $(tail -1 "$work/serve.err")"
echo PASS
