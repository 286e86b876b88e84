# Sourced by `run` and `instructions`: the rampart binary to measure
# (BENCH_BIN, or a release build), the payload model flag (BENCH_MODEL),
# a scratch directory `$work` removed on exit, and libinjection's harness
# built there from LIBINJECTION_SRC.
src=${LIBINJECTION_SRC:?set LIBINJECTION_SRC to the src directory of libinjection}
if [[ -n "${BENCH_BIN:-}" ]]; then
  bin=$BENCH_BIN
else
  cargo build --release --locked -p rampart >&2
  bin=target/release/rampart
fi
model=(${BENCH_MODEL:+--model "$BENCH_MODEL"})
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cc -O2 -I"$src" -o "$work/harness" bench/libinjection/harness.c \
  "$src/libinjection_sqli.c" "$src/libinjection_xss.c" "$src/libinjection_html5.c"
