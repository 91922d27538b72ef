#!/bin/sh
# A stand-in for a libFuzzer binary (fuzz-T) in the tests of `mmtorture
# fuzz` (CMakeLists.txt, "crash and hang isolation"): it fuzzes nothing,
# saves the files named in MMT_FAKE_ENGINE_SAVES (space-separated paths)
# where -artifact_prefix= says, as libFuzzer saves crash-* and timeout-*
# inputs, and prints libFuzzer's final statistics.
dir=
for a in "$@"; do
	case "$a" in
	-artifact_prefix=*) dir=${a#-artifact_prefix=} ;;
	esac
done
if [ -z "$dir" ]; then
	echo "fake-libfuzzer: no -artifact_prefix= argument" >&2
	exit 1
fi
for f in $MMT_FAKE_ENGINE_SAVES; do
	cp "$f" "$dir$(basename "$f")" || exit 1
done
echo "stat::number_of_executed_units: 2"
echo "stat::average_exec_per_sec:     2"
exit 0
