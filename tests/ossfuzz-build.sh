#!/usr/bin/env bash
# tests/ossfuzz-build.sh WORKDIR - build.sh as OSS-Fuzz and ClusterFuzzLite
# run it, then the produced target run and find a bug (ctest:
# test-ossfuzz-build-sh-builds-targets-that-run-and-find-a-bug).
#
# The environment is the one OSS-Fuzz's address-sanitizer libFuzzer build
# sets (CC=clang, its CFLAGS, LIB_FUZZING_ENGINE=-fsanitize=fuzzer,
# OUT, WORK); only the pages target is built (build.sh pages).  Then:
#   1. $OUT holds pages, pages_seed_corpus.zip (or the directory), pages.dict
#      and pages.options naming the dictionary;
#   2. with no bug on, the seed corpus runs and -runs=2000 of fuzzing from it
#      ends clean (the binary and its seeds are sound, the mutator runs);
#   3. with MMT_BUGS=pcp-zero-skipped, the bug program replays to the
#      gfp-zero finding (the oracle fires in this build);
#   4. with the bug on, a fuzzing run from an EMPTY corpus (no seed can hand
#      it the bug) finds gfp-zero within -max_total_time=60: the crash file
#      libFuzzer writes reproduces it, and runs clean with the bug off.
# Exit 0 pass, 1 fail, 77 skip (no clang, or clang cannot link
# -fsanitize=fuzzer).  libFuzzer itself exits 77 on a crash: every run's
# status is judged here, never passed on.
set -uo pipefail

work=${1:?usage: $0 WORKDIR}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
fail() {
	echo "ossfuzz-build: FAIL: $*" >&2
	exit 1
}
log() { echo "ossfuzz-build: $*"; }

command -v clang >/dev/null || { log "SKIP: no clang"; exit 77; }
rm -rf "$work"
mkdir -p "$work"
printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' \
	>"$work/probe.c"
if ! clang -fsanitize=fuzzer,address -o "$work/probe" "$work/probe.c" >/dev/null 2>&1; then
	log "SKIP: clang cannot link -fsanitize=fuzzer here"
	exit 77
fi

out="$work/out"
# As OSS-Fuzz's base-builder sets them for SANITIZER=address, FUZZING_ENGINE=libfuzzer.
export CC=clang
export CFLAGS="-O1 -fno-omit-frame-pointer -gline-tables-only -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -fsanitize=address -fsanitize-address-use-after-scope -fsanitize=fuzzer-no-link"
export LIB_FUZZING_ENGINE=-fsanitize=fuzzer
export OUT="$out" WORK="$work/work" SRC="$root"
unset CXX CXXFLAGS FUZZING_ENGINE MMT_BUGS
export MMT_JOBS=2
log "build.sh pages (CC=$CC LIB_FUZZING_ENGINE=$LIB_FUZZING_ENGINE)"
"$root/build.sh" pages >"$work/build.log" 2>&1 || { cat "$work/build.log"; fail "build.sh exited $?"; }
cat "$work/build.log"

# 1. what OSS-Fuzz picks up from $OUT
[[ -x "$out/pages" ]] || fail "no executable $out/pages"
[[ -s "$out/pages.dict" ]] || fail "no $out/pages.dict"
grep -qx 'dict = pages.dict' "$out/pages.options" || fail "$out/pages.options names no dictionary"
seeds="$work/seeds"
mkdir -p "$seeds"
if [[ -f "$out/pages_seed_corpus.zip" ]]; then
	command -v unzip >/dev/null || fail "no unzip to open $out/pages_seed_corpus.zip"
	unzip -q "$out/pages_seed_corpus.zip" -d "$seeds" || fail "cannot unzip the seed corpus"
elif [[ -d "$out/pages_seed_corpus" ]]; then
	cp -- "$out/pages_seed_corpus"/* "$seeds/"
else
	fail "no seed corpus in $out"
fi
nseeds=$(find "$seeds" -type f -name '*.bin' | wc -l)
((nseeds > 0)) || fail "the seed corpus is empty"
log "$nseeds seed(s), $(grep -c '=' "$out/pages.dict") dictionary entries"

# 2. clean without a bug: the seeds, then -runs=2000 from them
mkdir -p "$work/clean-corpus" "$work/artifacts"
rc=0
"$out/pages" -seed=1 -runs=2000 -dict="$out/pages.dict" -artifact_prefix="$work/artifacts/" \
	"$work/clean-corpus" "$seeds" >"$work/clean.log" 2>&1 || rc=$?
((rc == 0)) || { tail -n 40 "$work/clean.log"; fail "-runs=2000 from the seeds with no bug exited $rc"; }
grep -q 'Done 2000 runs' "$work/clean.log" || fail "-runs=2000 did not run 2000 inputs, see $work/clean.log"
log "no bug: $nseeds seed(s) and 2000 fuzzing runs clean"

# 3. the bug program, replayed by the produced binary
prog="$root/corpora/bug-programs/pcp-zero-skipped.trace"
rc=0
MMT_BUGS=pcp-zero-skipped "$out/pages" "$prog" >"$work/replay.log" 2>&1 || rc=$?
((rc != 0)) && grep -q '^gfp-zero \[' "$work/replay.log" ||
	{ tail -n 40 "$work/replay.log"; fail "the bug program did not crash with gfp-zero (exit $rc)"; }
log "bug program: gfp-zero (exit $rc)"

# 4. fuzzing from nothing finds it
mkdir -p "$work/bug-corpus" "$work/bug-artifacts"
rc=0
MMT_BUGS=pcp-zero-skipped "$out/pages" -seed=1 -max_total_time=60 -dict="$out/pages.dict" \
	-artifact_prefix="$work/bug-artifacts/" "$work/bug-corpus" >"$work/fuzz.log" 2>&1 || rc=$?
grep -q '^gfp-zero \[' "$work/fuzz.log" ||
	{ tail -n 40 "$work/fuzz.log"; fail "60 s of fuzzing with pcp-zero-skipped on found no gfp-zero (exit $rc)"; }
grep -Eq '^#[0-9]+[[:space:]]+(NEW|pulse|REDUCE|INITED)' "$work/fuzz.log" ||
	fail "no fuzzing progress before the finding, see $work/fuzz.log"
crash=$(find "$work/bug-artifacts" -name 'crash-*' | head -n 1)
[[ -n "$crash" ]] || fail "libFuzzer wrote no crash file, see $work/fuzz.log"
last=$(grep -Eo '^#[0-9]+' "$work/fuzz.log" | tail -n 1)
log "fuzzing from an empty corpus found gfp-zero after ${last:-#?} (libFuzzer's last count): $crash"
rc=0
MMT_BUGS=pcp-zero-skipped "$out/pages" "$crash" >"$work/crash.log" 2>&1 || rc=$?
((rc != 0)) && grep -q '^gfp-zero \[' "$work/crash.log" || fail "the crash file does not reproduce gfp-zero"
rc=0
"$out/pages" "$crash" >"$work/crash-nobug.log" 2>&1 || rc=$?
((rc == 0)) || { tail -n 20 "$work/crash-nobug.log"; fail "the crash file is not clean with the bug off (exit $rc)"; }
log "PASS: the crash file reproduces gfp-zero with the bug on and runs clean without it"
exit 0
