#!/bin/sh
# A stand-in for a libFuzzer binary (fuzz-T) in the tests of `mmtorture
# nightly` (CMakeLists.txt, "findings store and nightly").  It runs for
# -max_total_time= seconds, one status line a second as libFuzzer's -fork
# prints them, adds an input to its corpus (the first directory argument)
# each second, leaves a temporary directory in $TMPDIR as -fork does, and
# in its first second saves the files named in MMT_FAKE_SAVES_T (T the
# target of its name fuzz-T, '-' as '_') where -artifact_prefix= says.
dir=
time=1
corpus=
for a in "$@"; do
	case "$a" in
	-artifact_prefix=*) dir=${a#-artifact_prefix=} ;;
	-max_total_time=*) time=${a#-max_total_time=} ;;
	-*) ;;
	*) [ -n "$corpus" ] || corpus=$a ;;
	esac
done
if [ -z "$dir" ] || [ -z "$corpus" ]; then
	echo "fake-libfuzzer: no -artifact_prefix= or corpus argument" >&2
	exit 1
fi
target=$(basename "$0" | sed 's/^fuzz-//; s/-/_/g')
eval "saves=\${MMT_FAKE_SAVES_$target:-}"
tmp="${TMPDIR:-/tmp}/libFuzzerTemp.FuzzWithFork$$.dir"
mkdir -p "$tmp"
i=0
while [ "$i" -lt "$time" ]; do
	i=$((i + 1))
	if [ "$i" -eq 1 ]; then
		for f in $saves; do
			cp "$f" "$dir$(basename "$f")" || exit 1
		done
	fi
	printf 'fake input %s of %s' "$i" "$$" >"$corpus/fake-$$-$i"
	echo "#$((i * 1000)): cov: $((100 + i)) ft: $((200 + i)) corp: $i exec/s 1000 oom/timeout/crash: 0/0/0 time: ${i}s job: 1 dft_time: 0"
	sleep 1
done
rm -rf "$tmp"
echo "stat::number_of_executed_units: $((time * 1000))"
exit 0
