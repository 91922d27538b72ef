#!/usr/bin/env bash
# tests/nightly-damaged.sh MMTORTURE DONE_WORKDIR WORKDIR [NIGHTLY OPTIONS...]
#
# A damaged work directory is reported by path and skipped, never fatal,
# never dropped from the report.  Copies the finished work directory
# DONE_WORKDIR (with at least two findings) to WORKDIR, makes it an
# unfinished run (no summary.json) and damages it: one finding's meta.json
# truncated, another finding's input removed, a foreign file among the
# findings.  The rerun must name each damaged path with its reason, end
# with a complete report that lists them, and exit 1.
set -u
cli=$1 done_dir=$2 work=$3
shift 3
fail() {
	echo "FAIL: $*"
	[[ -f "$work.out" ]] && cat "$work.out"
	exit 1
}
[[ -f "$done_dir/summary.json" ]] || fail "$done_dir holds no finished run"
rm -rf "$work" "$work.out"
mkdir -p "$(dirname "$work")"
cp -a "$done_dir" "$work"
rm -f "$work/summary.json" "$work/junit.xml" "$work/index.html"
mapfile -t findings < <(cd "$work/findings" && ls)
((${#findings[@]} >= 2)) || fail "$done_dir has fewer than 2 findings"
truncated="$work/findings/${findings[0]}/meta.json"
head -c 20 "$truncated" >"$truncated.cut" && mv "$truncated.cut" "$truncated"
no_input="$work/findings/${findings[1]}"
rm -f "$no_input"/input.*
echo "notes of a person" >"$work/findings/notes.txt"
rc=0
"$cli" nightly --workdir "$work" "$@" >"$work.out" 2>&1 || rc=$?
cat "$work.out"
((rc == 1)) || fail "exit $rc, expected 1 (damage needs a look)"
grep -qF "damaged: $truncated: not JSON" "$work.out" || fail "the truncated $truncated is not named"
grep -qF "damaged: $no_input: finding folder without its input" "$work.out" ||
	fail "the finding folder without its input is not named"
grep -qF "damaged: $work/findings/notes.txt: not a finding folder" "$work.out" ||
	fail "the foreign file is not named"
grep -q '"complete": true' "$work/summary.json" || fail "no complete summary.json"
for p in "$truncated" "$no_input" "$work/findings/notes.txt"; do
	grep -qF "\"path\": \"$p\"" "$work/summary.json" || fail "$p is not in summary.json's damaged list"
	grep -qF "$p" "$work/junit.xml" || fail "$p is not in junit.xml"
	grep -qF "$p" "$work/index.html" || fail "$p is not in index.html"
done
echo "nightly-damaged: OK"
