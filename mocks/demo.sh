#!/usr/bin/env bash
# `make demo`: the bridge against the embedded mock ADC, with a snapshot file as the cluster.
#
# Starts the mock ADC (REST on 127.0.0.1:8443, DNS on 127.0.0.1:8053) in the background, shows
# the plan for config/demo-snapshot.yaml, then runs the bridge in the foreground on a copy of
# that file: edit the copy and watch the ADC follow. Ctrl-C stops both.
set -euo pipefail
BIN=${BIN:-.venv/bin}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/adcbridge-demo.XXXXXX")
cp config/demo-snapshot.yaml "$WORK/snapshot.yaml"

"$BIN/adcbridge-mock-adc" --listen 127.0.0.1:8443 --dns-listen 127.0.0.1:8053 \
    --username admin --password demo-password >"$WORK/mock.out" 2>"$WORK/mock.err" &
MOCK=$!
trap 'kill $MOCK 2>/dev/null || true; wait $MOCK 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q listening "$WORK/mock.out" 2>/dev/null && break; sleep 0.1; done
grep -q listening "$WORK/mock.out" || { cat "$WORK/mock.err" >&2; exit 1; }

export ADCBRIDGE_ADC__URL=http://127.0.0.1:8443 ADCBRIDGE_ADC__USERNAME=admin ADCBRIDGE_ADC__PASSWORD=demo-password
export ADCBRIDGE_OWNER_ID=demo.njet ADCBRIDGE_VIP__ADDRESSES='["192.0.2.10"]' ADCBRIDGE_SERVER__LISTEN=127.0.0.1:9102
export ADCBRIDGE_RECONCILE__RESYNC_SECONDS=15

echo "== adcbridge plan (dry run: what the bridge would do) =="
"$BIN/adcbridge" plan --snapshot "$WORK/snapshot.yaml" 2>/dev/null
cat <<TXT

== adcbridge run: the bridge is now running against the mock ADC ==
  edit the cluster:  \$EDITOR $WORK/snapshot.yaml   (add a host, remove a node: the ADC follows)
  the ADC's state:   curl -s http://127.0.0.1:8443/_mock/state
  what changed:      curl -s http://127.0.0.1:8443/_mock/changes
  resolve a host:    dig @127.0.0.1 -p 8053 shop.example.com A   (dig is in Debian's bind9-dnsutils)
  health, metrics:   curl -s http://127.0.0.1:9102/readyz ; curl -s http://127.0.0.1:9102/metrics
  drift repair:      delete something with the curl lines in mocks/adc/demo.txt; it returns within 15 s
Stop with Ctrl-C.

TXT
"$BIN/adcbridge" run --snapshot "$WORK/snapshot.yaml"
