#!/usr/bin/env bash
# Measures the release-profile trade-offs the "Build flags" table of tests/bench/README.md
# reports: for each variant of `[profile.release]` (set through CARGO_PROFILE_RELEASE_*
# variables), the stripped size of `echo-smol` and `echo-tokio`, and their user-space
# instructions per 64 B and per 256 KiB invocation (the benchmark's --callgrind mode, which
# needs valgrind).
#
#   bash tests/bench/profiles.sh            # all variants (about 5 minutes each on 2 cores)
#   bash tests/bench/profiles.sh baseline s # some of them
#
# Each variant builds into target/profiles/NAME; the callgrind builds go to
# target/bench-callgrind (rebuilt per variant).
set -euo pipefail
cd "$(dirname "$0")/../.."

declare -A variants=(
  [baseline]=""
  [lto-thin]="CARGO_PROFILE_RELEASE_LTO=thin"
  [no-lto]="CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16"
  [cgu-16]="CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16"
  [s]="CARGO_PROFILE_RELEASE_OPT_LEVEL=s"
  [abort]="CARGO_PROFILE_RELEASE_PANIC=abort"
)
order=(baseline lto-thin no-lto cgu-16 s abort)
if [ $# -gt 0 ]; then order=("$@"); fi

cargo build -q --release -p lambda-bench --bin bench
bench=target/release/bench
bins=(echo-smol echo-tokio)

echo "| variant | settings | ${bins[0]} KiB | ${bins[1]} KiB | ${bins[0]} Ir/64 B | ${bins[1]} Ir/64 B | ${bins[0]} Ir/256 KiB | ${bins[1]} Ir/256 KiB |"
echo "|---|---|---:|---:|---:|---:|---:|---:|"
for name in "${order[@]}"; do
  settings=${variants[$name]?unknown variant $name}
  dir=target/profiles/$name
  # shellcheck disable=SC2086 # the settings are words on purpose
  env $settings CARGO_TARGET_DIR="$dir" cargo build -q --release -p examples \
    --bin "${bins[0]}" --bin "${bins[1]}" >&2
  sizes=()
  for b in "${bins[@]}"; do
    cp "$dir/release/$b" "$dir/$b.stripped" && strip "$dir/$b.stripped"
    sizes+=("$(( $(stat -c %s "$dir/$b.stripped") / 1024 ))")
  done
  # shellcheck disable=SC2086
  table=$(env $settings "$bench" --callgrind --only "${bins[0]}" --only "${bins[1]}" 2>/dev/null)
  ir() { echo "$table" | awk -F'|' -v f="$1" -v c="$2" '$2 ~ " "f" " { gsub(/ /, "", $c); print $c }'; }
  printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$name" "${settings:-(the workspace profile)}" \
    "${sizes[0]}" "${sizes[1]}" "$(ir "${bins[0]}" 3)" "$(ir "${bins[1]}" 3)" \
    "$(ir "${bins[0]}" 6)" "$(ir "${bins[1]}" 6)"
done
