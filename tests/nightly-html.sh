#!/usr/bin/env bash
# tests/nightly-html.sh MMTORTURE FAKE_BUILD_DIR INPUT WORKDIR [NIGHTLY OPTIONS...]
#
# The nightly's index.html in headless Chromium (Debian's chromium;
# scripts/install-deps installs it).  A short nightly on stand-in engines
# finds INPUT saved under a file name holding "<script>", so the finding's
# trace ("found by the fuzzer in .../crash-<script>...") carries markup.
# Then Chromium loads the page and the test checks: no console message
# (error or other: the page has no script), the plots are there (an SVG of
# class "plot" per target and engine and the findings plot, with a
# polyline), the "<script>" of the finding is text in the page and no
# script element exists, and a screenshot was taken (WORKDIR/index.png).
# Exits 77 (ctest: skipped) when no chromium is installed.
set -u
cli=$1 build=$2 input=$3 work=$4
shift 4
browser=$(command -v chromium || command -v chromium-browser || true)
if [[ -z "$browser" ]]; then
	echo "SKIP: no chromium (scripts/install-deps installs it)"
	exit 77
fi
fail() {
	echo "FAIL: $*"
	exit 1
}
rm -rf "$work" "$work.saves"
mkdir -p "$work.saves"
evil="$work.saves/crash-<script>alert(1)"
cp "$input" "$evil"
rc=0
env "MMT_FAKE_SAVES_rcu=$evil" "$cli" nightly --workdir "$work" --build "$build" --targets rcu \
	--engines libfuzzer --budget 2 --jobs 1 "$@" >"$work.out" 2>&1 || rc=$?
cat "$work.out"
((rc == 1)) || fail "the nightly exited $rc, expected 1 (a finding)"
[[ -f "$work/index.html" ]] || fail "no $work/index.html"
grep -q 'crash-&lt;script&gt;alert(1)' "$work/index.html" || fail "the finding's text is not in the page, escaped"

home="$work.chromium-home"
mkdir -p "$home"
flags=(--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run
	--user-data-dir="$home" --enable-logging=stderr --v=0)
HOME="$home" timeout 60 "$browser" "${flags[@]}" --dump-dom "file://$work/index.html" \
	>"$work.dom" 2>"$work.console" || fail "chromium --dump-dom failed: $(tail -5 "$work.console")"
HOME="$home" timeout 60 "$browser" "${flags[@]}" --window-size=1280,2400 \
	--screenshot="$work/index.png" "file://$work/index.html" >/dev/null 2>>"$work.console" ||
	fail "chromium --screenshot failed: $(tail -5 "$work.console")"
if grep -E 'CONSOLE|Uncaught|Refused to' "$work.console"; then
	fail "console messages while loading the page (above)"
fi
[[ -s "$work/index.png" ]] || fail "no screenshot $work/index.png"
plots=$(grep -o '<svg class="plot" data-plot="[^"]*"' "$work.dom" | wc -l)
((plots >= 3)) || fail "$plots plot(s) in the page, expected coverage and exec/s of rcu/libfuzzer and the findings plot"
grep -q 'data-plot="coverage-rcu/libfuzzer"' "$work.dom" || fail "no coverage plot of rcu/libfuzzer"
grep -q 'data-plot="findings"' "$work.dom" || fail "no findings plot"
grep -q '<polyline' "$work.dom" || fail "no plotted line"
grep -q '<script' "$work.dom" && fail "a script element in the page: the finding's text was not escaped"
grep -q 'crash-&lt;script&gt;alert(1)' "$work.dom" || fail "the finding's <script> is not text in the page"
echo "nightly-html: OK ($plots plots, screenshot $work/index.png)"
