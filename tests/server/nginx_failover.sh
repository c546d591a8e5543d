#!/usr/bin/env bash
# nginx in front of two `ftc serve` replicas (server/deploy/nginx.conf.in); a load run through
# nginx; one replica killed (SIGKILL) in the middle of it. Passes when `ftc loadtest` reports zero
# failed valid requests, every class as computed locally and every malformed frame a 4xx.
# Usage: nginx_failover.sh FTC SOURCE_DIR. Exit 77 (skipped) when /usr/sbin/nginx is absent.
# Runs as any user: nginx gets a temporary prefix and touches no system file.
set -euo pipefail
FTC=$1
SRC=$2
NGINX=${NGINX:-/usr/sbin/nginx}
if [[ ! -x $NGINX ]]; then
  echo "skipped: $NGINX not found (scripts/install-deps.sh installs nginx)"
  exit 77
fi
work=$(mktemp -d)
cleanup() {
  # The replicas' pids are in files: start_replica runs in a command substitution (a subshell),
  # so nothing it assigns reaches this shell.
  for f in "$work"/*.pid; do [[ -f $f ]] && kill "$(cat "$f")" 2>/dev/null || true; done
  [[ -f $work/nginx/nginx.pid ]] && kill "$(cat "$work/nginx/nginx.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
  [[ -n ${KEEP:-} ]] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT

cut=/stage2/block1/relu_2/Relu_output_0
"$FTC" split "$SRC/models/fmnist_resnet.onnx" --at "$cut" --head "$work/head.onnx" --tail "$work/tail.onnx" >/dev/null

# Two replicas on free ports (port 0: each prints the port it got).
start_replica() {
  local name=$1
  "$FTC" serve --tail "$work/tail.onnx" --codec-model "$SRC/models/fmnist_resnet.ftcm" --port 0 --max-body-bytes 65536 -q \
    >"$work/$name.out" 2>"$work/$name.err" &
  echo $! >"$work/$name.pid"
  for _ in $(seq 300); do
    grep -q '^listening on' "$work/$name.out" 2>/dev/null && break
    kill -0 "$(cat "$work/$name.pid")" 2>/dev/null || break
    sleep 0.1
  done
  sed -n 's/^listening on \(.*\)$/\1/p' "$work/$name.out"
}
a=$(start_replica a)
b=$(start_replica b)
[[ -n $a && -n $b ]] || { echo "a replica did not start"; cat "$work"/*.err; exit 1; }
echo "replicas: a=$a b=$b"

# nginx on a free port: the first of a few random ports that it can bind.
mkdir -p "$work/nginx"
started=""
for _ in $(seq 20); do
  port=$((20000 + RANDOM % 40000))
  sed -e "s|@PREFIX@|$work/nginx|g" -e "s|@LISTEN@|127.0.0.1:$port|g" -e "s|@REPLICA_A@|$a|g" -e "s|@REPLICA_B@|$b|g" \
    "$SRC/server/deploy/nginx.conf.in" >"$work/nginx/nginx.conf"
  if "$NGINX" -p "$work/nginx" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" -g 'daemon on;' 2>"$work/nginx/start.err"; then
    started=$port
    break
  fi
done
[[ -n $started ]] || { echo "nginx did not start"; cat "$work/nginx/start.err"; exit 1; }
for _ in $(seq 50); do
  [[ -f $work/nginx/nginx.pid ]] && break
  sleep 0.1
done
echo "nginx on 127.0.0.1:$started"

# The load: 8 clients for 6 s, 20 % malformed; replica a is killed once the load has run for
# a while (500 requests through nginx).
"$FTC" loadtest --server "http://127.0.0.1:$started" --head "$work/head.onnx" --tail "$work/tail.onnx" \
  --card "$SRC/models/fmnist_resnet.json" --codec-model "$SRC/models/fmnist_resnet.ftcm" \
  --data fashion-mnist:test:200 --clients 8 --requests 1000000 --duration 6 --malformed 0.2 >"$work/load.txt" 2>&1 &
load=$!
for _ in $(seq 300); do
  [[ -f $work/nginx/access.log && $(wc -l <"$work/nginx/access.log") -ge 500 ]] && break
  sleep 0.1
done
kill -9 "$(cat "$work/a.pid")"
echo "killed replica a at $(date -u +%T)"
status=0
wait $load || status=$?
cat "$work/load.txt"
log=$work/nginx/access.log
echo "nginx access log: $(wc -l <"$log") requests; by replica a: $(grep -c "upstream=$a" "$log" || true)," \
  "by b: $(grep -c "upstream=$b" "$log" || true), retried on the other replica: $(grep -c "upstream=[^ ]*, " "$log" || true)"
if [[ $status -ne 0 ]]; then
  echo "FAIL: ftc loadtest exited $status"
  tail -5 "$work/nginx/error.log" || true
  exit 1
fi
grep -q '^PASS$' "$work/load.txt"
grep -q 'valid: 0 failed, 0 with another class' "$work/load.txt"
# Both replicas served (a before the kill), and b is still up.
grep -q "upstream=$a" "$log"
grep -q "upstream=$b" "$log"
kill -0 "$(cat "$work/b.pid")"
echo "PASS: zero failed valid requests with one replica killed mid-run"
