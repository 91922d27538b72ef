#!/usr/bin/env bash
# tests/nightly-kill-resume.sh MMTORTURE WORKDIR BUDGET [NIGHTLY OPTIONS...]
#
# kill -9 in the middle of a nightly, then a rerun over the same work
# directory: nothing found before the kill is lost, the run resumes.
#   1. starts `mmtorture nightly --workdir WORKDIR --budget BUDGET ...` in a
#      session of its own and, once one slot has ended and another has run
#      a few seconds, kills the whole session with SIGKILL (the engine too:
#      a power cut);
#   2. checks the killed run left no summary.json (nothing that looks
#      complete);
#   3. reruns `mmtorture nightly --workdir WORKDIR` (with the same --build,
#      if any) and checks: it says it resumes, it does not run the ended
#      slot again, it gives the killed slot what remained of its share, it
#      ends with a complete summary.json (2 invocations), every finding
#      folder of before the kill is there with the same first_seen, the
#      corpus grown before the kill is kept, the crash files are processed
#      (none left), the engines' temporary directory is gone.
# EXPECT_FINDINGS (environment, optional): comma-separated signatures the
# final summary.json must hold.
# Used by CMakeLists.txt ("findings store and nightly") on stand-in engines
# in every flavour and on the real libFuzzer binaries in the fuzz flavour.
set -u
cli=$1 work=$2 budget=$3
shift 3
build=()
for ((i = 1; i <= $#; i++)); do
	if [[ "${!i}" == --build ]]; then
		j=$((i + 1))
		build=(--build "${!j}")
	fi
done
rm -rf "$work" "$work".run*
mkdir -p "$(dirname "$work")"
fail() {
	echo "FAIL: $*"
	for f in "$work.run1" "$work.run2" "$work/nightly.log"; do
		[[ -f "$f" ]] && { echo "--- $f"; cat "$f"; }
	done
	exit 1
}

setsid "$cli" nightly --workdir "$work" --budget "$budget" --jobs 1 "$@" >"$work.run1" 2>&1 &
pid=$!
killed=0
for ((i = 0; i < 600; i++)); do
	sleep 0.1
	kill -0 "$pid" 2>/dev/null || break
	st="$work/nightly.json"
	[[ -f "$st" ]] || continue
	done_slots=$(grep -c '"status": "done"' "$st")
	running=$(grep -c '"status": "running"' "$st")
	if ((done_slots >= 1 && running == 1)); then
		sleep 2 # the running slot samples, and saves what it finds
		kill -9 -- -"$pid"
		killed=1
		break
	fi
done
wait "$pid" 2>/dev/null
((killed)) || fail "the nightly ended before it could be killed in its second slot"
echo "killed the nightly (session $pid) in its second slot"
[[ ! -e "$work/summary.json" ]] || fail "the killed run left a summary.json"
grep -q '"complete"' "$work/nightly.json" && fail "nightly.json says complete"
ended=$(sed -n 's/^nightly: \([a-z0-9-]*\/[a-z]*\): [0-9]* s, .*/\1/p' "$work.run1" | head -1)
[[ -n "$ended" ]] || fail "no slot ended before the kill"
before=$(cd "$work/findings" && ls)
declare -A seen
for f in $before; do
	seen[$f]=$(grep '"first_seen"' "$work/findings/$f/meta.json")
done
corpus_before=$(find "$work/corpus" -type f | wc -l)

rc=0
"$cli" nightly --workdir "$work" "${build[@]}" >"$work.run2" 2>&1 || rc=$?
cat "$work.run2"
((rc == 0 || rc == 1)) || fail "the rerun exited $rc"
grep -q "^nightly: resuming $work" "$work.run2" || fail "the rerun did not resume"
grep -q "^nightly: $ended: [0-9]* s" "$work.run2" && fail "the rerun ran the ended slot $ended again"
grep -q "s left, resumed\|budget spent; processing the crash files" "$work.run2" ||
	fail "the killed slot did not go on with what remained of its share"
grep -q '"complete": true' "$work/summary.json" || fail "no complete summary.json"
grep -q '"invocations": 2' "$work/summary.json" || fail "summary.json does not count 2 invocations"
for f in $before; do
	[[ -d "$work/findings/$f" ]] || fail "finding $f of before the kill is gone"
	[[ "$(grep '"first_seen"' "$work/findings/$f/meta.json")" == "${seen[$f]}" ]] ||
		fail "finding $f changed its first_seen"
	grep -q "\"key\": \"$f\"" "$work/summary.json" || fail "finding $f is not in summary.json"
done
corpus_after=$(find "$work/corpus" -type f | wc -l)
((corpus_after >= corpus_before)) || fail "the corpus shrank from $corpus_before to $corpus_after inputs"
left=$(find "$work"/engines/*/crashes -type f 2>/dev/null | wc -l)
((left == 0)) || fail "$left crash file(s) left unprocessed"
[[ ! -e "$work/tmp" ]] || fail "the engines' temporary directory $work/tmp is still there"
IFS=',' read -ra sigs <<<"${EXPECT_FINDINGS:-}"
for sig in "${sigs[@]}"; do
	grep -qF "\"signature\": \"$sig\"" "$work/summary.json" || fail "finding $sig is not in summary.json"
done
echo "nightly-kill-resume: OK (findings before the kill: $(echo $before | wc -w), after: $(ls "$work/findings" | wc -l); corpus $corpus_before -> $corpus_after inputs)"
