#!/bin/sh
# SPDX-License-Identifier: MIT
# run.sh BUILD SECONDS RUNS TARGET... - `make fuzz`: runs build/fuzz-<name> for
# each target in turn, for RUNS executions when RUNS is set, else for SECONDS,
# on its corpus directories; libFuzzer's output goes to BUILD/fuzz-logs/<name>.log,
# what it finds to BUILD/fuzz-corpus/<name>/, crashes to BUILD/fuzz-artifacts/.
# Prints one line per target and exits non-zero if any target crashed.
set -u
b=$1
seconds=$2
runs=$3
shift 3
mkdir -p "$b/fuzz-logs" "$b/fuzz-artifacts"
if [ -n "$runs" ]; then limit="-runs=$runs"; else limit="-max_total_time=$seconds"; fi
crashed=""
for t in "$@"; do
    dirs="$b/fuzz-corpus/$t"
    mkdir -p "$dirs"
    for d in "tests/fuzz/corpus/$t" "$b/fuzz-seeds/$t"; do
        if [ -d "$d" ]; then dirs="$dirs $d"; fi
    done
    log="$b/fuzz-logs/$t.log"
    start=$(date +%s.%N)
    # shellcheck disable=SC2086 # $dirs is a list
    nice "$b/fuzz-$t" "$limit" -max_len=8192 -print_final_stats=1 \
        "-artifact_prefix=$b/fuzz-artifacts/$t-" $dirs > "$log" 2>&1
    rc=$?
    end=$(date +%s.%N)
    done_line=$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$log" | tail -n 1)
    if [ "$rc" -eq 0 ] && [ -n "$done_line" ]; then
        # "Done N runs in S second(s)": the runs; the time is measured here
        # (libFuzzer's is in whole seconds), corpus loading included.
        echo "$done_line" | awk -v t="$t" -v s0="$start" -v s1="$end" '{ wall = s1 - s0
            printf "fuzz: %-10s %11d runs %8.1f s %9d exec/s  no crash\n", t, $2, wall, $2 / (wall > 0 ? wall : 1) }'
    else
        echo "fuzz: $t CRASHED (exit $rc), the whole report in $log:"
        grep -m 1 -A 40 -E 'property violated|ERROR: |runtime error|uncaught exception' "$log" | grep -v '^    #' | head -n 40
        grep -E 'Test unit written to' "$log" | sed 's/.*written to /fuzz: the input: /'
        echo "fuzz: replay it with $b/fuzz-$t FILE (or $b/asan/fuzz-replay FILE under tests/fuzz/corpus/$t/)"
        crashed="$crashed $t"
    fi
done
if [ -n "$crashed" ]; then
    echo "fuzz: crashes in:$crashed" >&2
    exit 1
fi
