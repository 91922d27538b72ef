#!/usr/bin/env bash
# build.sh [TARGET...] - build the fuzz targets the way OSS-Fuzz and
# ClusterFuzzLite build a project: from the environment they set, without
# CMake (docs/workflow.md, "Scale-out").
#
#   CC                  C compiler (default clang); CFLAGS its flags as the
#                       image sets them (sanitizer, -fsanitize=fuzzer-no-link
#                       or the engine's coverage flags), used for every object
#   CXX, CXXFLAGS       if CXX is set, the link is done by it (OSS-Fuzz's rule:
#                       an engine given as a C++ archive needs the C++ runtime);
#                       else $CC $CFLAGS links, adding -lstdc++ for an archive
#   LIB_FUZZING_ENGINE  the engine at link time: a flag (-fsanitize=fuzzer) or
#                       a library (libFuzzingEngine.a, AFL++'s libAFLDriver.a)
#   FUZZING_ENGINE      libfuzzer | afl | honggfuzz | centipede (optional; else
#                       guessed from LIB_FUZZING_ENGINE)
#   OUT                 where the targets go (required): $OUT/T, and beside it
#                       $OUT/T_seed_corpus.zip (a directory $OUT/T_seed_corpus/
#                       if zip is missing), $OUT/T.dict, $OUT/T.options
#   SRC, WORK           optional: the source tree is this script's directory;
#                       objects go to $WORK/mmtorture-objs (default $OUT/.mmt-objs)
#   MMT_DEBUG           the model's check tier, 0..3 (default 2, as the fuzz preset)
#   MMT_JOBS            parallel compiles (default: nproc)
#   MMT_HOST_CC         the compiler of the build-time seed compiler (default cc)
#
# TARGET...: the targets to build (default: every operation-language target,
# malloc and gfp_text); `build.sh pages` builds the model and pages only.
#
# What it builds, as CMake's fuzz preset does (CMakeLists.txt, "fuzz
# targets"): the model (alloc/*.c, trace/*.c) once with $CFLAGS; per target
# targets/T.c with its support (target_common.c, mutator.c,
# tools/tsan_finding.c; malloc: the plug-in loader and harness), linked with
# $LIB_FUZZING_ENGINE, jansson statically when libjansson.a exists (the
# runner images have no libjansson), pthread, dl and m.  Where CFLAGS
# instrument with clang's SanitizerCoverage (fuzzer-no-link,
# -fsanitize-coverage=), the coverage ignore list and the per-file
# trace-cmp exclusions of CMakeLists.txt apply too.  Seeds: the text traces
# of corpora/T/seeds (every layer's for stack, every -mt layer's for
# stack-mt) compiled to the binary form by targets/oss_seeds.c, which is
# built first with the host compiler against a plain copy of the model.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$root"

die() {
	echo "build.sh: error: $*" >&2
	exit 1
}
log() { echo "build.sh: $*"; }

: "${OUT:?build.sh: \$OUT is not set (where the fuzz targets go)}"
CC=${CC:-clang}
CFLAGS=${CFLAGS:-}
LIB_FUZZING_ENGINE=${LIB_FUZZING_ENGINE:--fsanitize=fuzzer}
MMT_DEBUG=${MMT_DEBUG:-2}
[[ "$MMT_DEBUG" =~ ^[0-3]$ ]] || die "MMT_DEBUG must be 0..3 (got '$MMT_DEBUG')"
jobs=${MMT_JOBS:-$(nproc 2>/dev/null || echo 2)}
[[ "$jobs" =~ ^[1-9][0-9]*$ ]] || die "MMT_JOBS must be a positive number (got '$jobs')"
host_cc=${MMT_HOST_CC:-cc}
command -v "$host_cc" >/dev/null || host_cc=clang
command -v "${CC%% *}" >/dev/null || die "CC: '$CC' is not a command"
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
objs="${WORK:+$WORK/mmtorture-objs}"
objs=${objs:-$OUT/.mmt-objs}

# ---- which targets ----

all_targets() {
	local f name
	for f in targets/*.c; do
		name=$(basename "$f" .c)
		if grep -q '^MMT_FUZZ_TARGET(' "$f"; then
			echo "${name//_/-}"
		fi
	done
	echo malloc
	echo gfp_text
}
if (($# > 0)); then
	targets=("$@")
else
	mapfile -t targets < <(all_targets)
fi
for t in "${targets[@]}"; do
	[[ -f "targets/${t//-/_}.c" ]] ||
		die "'$t' is no fuzz target (targets/${t//-/_}.c does not exist)"
	[[ "$t" != empty ]] || die "'empty' is the engines' baseline, not a target to ship"
done

# ---- the engine and the flags ----

engine=${FUZZING_ENGINE:-}
if [[ -z "$engine" ]]; then
	case "$LIB_FUZZING_ENGINE" in
	*-fsanitize=fuzzer*) engine=libfuzzer ;;
	*[Aa][Ff][Ll]*) engine=afl ;;
	*honggfuzz*) engine=honggfuzz ;;
	*) engine=other ;;
	esac
fi
# The libFuzzer-only hooks (extra counters) and AFL++'s map writer (needs
# afl-compiler-rt, i.e. an afl-clang-* compiler) of targets/target_common.c.
fuzz_libfuzzer=0
fuzz_afl=0
[[ "$engine" == libfuzzer ]] && fuzz_libfuzzer=1
if [[ "$engine" == afl && "$(basename "${CC%% *}")" == afl-* ]]; then
	fuzz_afl=1
fi
asan=0
[[ " $CFLAGS " == *-fsanitize=*address* ]] && asan=1
sancov=0
[[ " $CFLAGS " == *fuzzer-no-link* || " $CFLAGS " == *-fsanitize-coverage=* ]] && sancov=1

defs=(-std=gnu11 -DMMT_DEBUG="$MMT_DEBUG" -DMMT_STATS=1 -DMMT_SANITIZE_ASAN=$asan
	-DMMT_SANITIZE_TSAN=0 -DMMT_FUZZ_LIBFUZZER=$fuzz_libfuzzer -DMMT_FUZZ_AFL=$fuzz_afl
	-DMMT_REF_NOWAIT_FIX_PENDING=0 -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
	-Ialloc/include -Ialloc -Itrace -Itargets -Itools)
jansson_cflags=$(pkg-config --cflags jansson 2>/dev/null || true)
# shellcheck disable=SC2206 # flags are word lists, as in every build.sh
cflags=($CFLAGS $jansson_cflags)
cover=()
nocmp=" alloc/lock.c alloc/sched.c alloc/machine.c alloc/scenario.c alloc/bugs.c trace/trace_bin.c trace/trace_targets.c "
if ((sancov)); then
	cover=("-fsanitize-coverage-ignorelist=$root/targets/coverage-ignorelist.txt")
fi
log "CC=$CC engine=$engine OUT=$OUT MMT_DEBUG=$MMT_DEBUG targets: ${targets[*]}"

# ---- compile: one job per object, $jobs at a time ----

running=0
failed=0
reap() {
	if ! wait -n; then failed=1; fi
	running=$((running - 1))
}
# compile OBJ SRC CC FLAGS...
compile() {
	local obj=$1 src=$2
	shift 2
	while ((running >= jobs)); do reap; done
	("$@" -c "$src" -o "$obj" || { echo "build.sh: error: compiling $src failed" >&2; exit 1; }) &
	running=$((running + 1))
}
drain() {
	while ((running > 0)); do reap; done
	((failed == 0)) || die "compilation failed (see above)"
}

rm -rf "$objs"
mkdir -p "$objs/model" "$objs/host" "$objs/targets"
model_srcs=(alloc/*.c trace/*.c)
need_model=0
need_host=0
for t in "${targets[@]}"; do
	[[ "$t" != malloc ]] && need_model=1
	[[ "$t" != malloc && "$t" != gfp_text ]] && need_host=1
done

model_objs=()
host_objs=()
for src in "${model_srcs[@]}"; do
	o=$(basename "$src" .c).o
	if ((need_model)); then
		extra=("${cover[@]}")
		if ((sancov)) && [[ "$nocmp" == *" $src "* ]]; then
			extra+=(-fno-sanitize-coverage=trace-cmp)
		fi
		# shellcheck disable=SC2086
		compile "$objs/model/$o" "$src" $CC "${cflags[@]}" "${extra[@]}" "${defs[@]}"
		model_objs+=("$objs/model/$o")
	fi
	if ((need_host)); then
		# shellcheck disable=SC2086
		compile "$objs/host/$o" "$src" "$host_cc" -O1 -g0 $jansson_cflags "${defs[@]}"
		host_objs+=("$objs/host/$o")
	fi
done
drain

# libjansson.a where there is one: the binaries must run in an image
# without libjansson (OSS-Fuzz's base-runner, ClusterFuzzLite's runner).
jansson_lib=$($CC -print-file-name=libjansson.a 2>/dev/null || true)
if [[ "$jansson_lib" != /* || ! -f "$jansson_lib" ]]; then
	for d in /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib64 /usr/lib /usr/local/lib; do
		[[ -f "$d/libjansson.a" ]] && { jansson_lib=$d/libjansson.a; break; }
	done
fi
if [[ "$jansson_lib" != /* || ! -f "$jansson_lib" ]]; then
	echo "build.sh: warning: no libjansson.a: linking -ljansson (the runner needs libjansson)" >&2
	jansson_lib=-ljansson
fi
libs=("$jansson_lib" -lpthread -ldl -lm)

# The link: $CXX $CXXFLAGS when set (OSS-Fuzz), else $CC $CFLAGS (+ the
# C++ runtime for an engine given as an archive).
# shellcheck disable=SC2206
engine_flags=($LIB_FUZZING_ENGINE)
if [[ -n "${CXX:-}" ]]; then
	# shellcheck disable=SC2206
	linker=($CXX ${CXXFLAGS:-$CFLAGS})
else
	# shellcheck disable=SC2206
	linker=($CC $CFLAGS)
	[[ "$LIB_FUZZING_ENGINE" == *.a* ]] && libs+=(-lstdc++)
fi

if ((need_host)); then
	compile "$objs/host/oss_seeds.o" targets/oss_seeds.c "$host_cc" -O1 -g0 "${defs[@]}"
	drain
	"$host_cc" -o "$objs/oss-seeds" "$objs/host/oss_seeds.o" "${host_objs[@]}" \
		"$jansson_lib" -lpthread -ldl -lm ||
		die "linking the seed compiler (targets/oss_seeds.c) failed"
fi

# ---- each target ----

for t in "${targets[@]}"; do
	file=${t//-/_}
	srcs=("targets/$file.c")
	link_model=("${model_objs[@]}")
	case "$t" in
	malloc)
		srcs+=(targets/plugins/loader.c targets/plugins/harness.c)
		link_model=()
		;;
	gfp_text) ;;
	*) srcs+=(targets/target_common.c targets/mutator.c tools/tsan_finding.c) ;;
	esac
	mkdir -p "$objs/targets/$t"
	tobjs=()
	for src in "${srcs[@]}"; do
		o="$objs/targets/$t/$(basename "$src" .c).o"
		# shellcheck disable=SC2086
		compile "$o" "$src" $CC "${cflags[@]}" "${cover[@]}" "${defs[@]}"
		tobjs+=("$o")
	done
	drain
	"${linker[@]}" -o "$OUT/$t" "${tobjs[@]}" "${link_model[@]}" "${engine_flags[@]}" "${libs[@]}" ||
		die "linking $t failed"

	# seeds, dictionary, options
	rm -rf "$OUT/${t}_seed_corpus" "$OUT/${t}_seed_corpus.zip"
	seeds=()
	case "$t" in
	stack) mapfile -t seeds < <(ls corpora/*/seeds/*.trace | grep -v -- '-mt/' || true) ;;
	stack-mt) mapfile -t seeds < <(ls corpora/*-mt/seeds/*.trace 2>/dev/null || true) ;;
	gfp_text | malloc) mapfile -t seeds < <(ls corpora/"$t"/seeds/* 2>/dev/null || true) ;;
	*) mapfile -t seeds < <(ls corpora/"$t"/seeds/*.trace 2>/dev/null || true) ;;
	esac
	sdir="$OUT/${t}_seed_corpus"
	mkdir -p "$sdir"
	case "$t" in
	gfp_text | malloc)
		((${#seeds[@]} == 0)) || cp -- "${seeds[@]}" "$sdir/"
		[[ ! -f "targets/$t.dict" ]] || cp -- "targets/$t.dict" "$OUT/$t.dict"
		;;
	*)
		"$objs/oss-seeds" "$t" "$sdir" "$OUT/$t.dict" "${seeds[@]}" ||
			die "compiling the seeds of $t failed"
		;;
	esac
	if command -v zip >/dev/null; then
		(cd "$sdir" && zip -q -r -X "$OUT/${t}_seed_corpus.zip" .) ||
			die "zip of $sdir failed"
		rm -rf "$sdir"
		corpus_note="${t}_seed_corpus.zip"
	else
		corpus_note="${t}_seed_corpus/"
	fi
	{
		echo "[libfuzzer]"
		[[ -f "$OUT/$t.dict" ]] && echo "dict = $t.dict"
		# the oracles abort() on a finding; a slow program is not one
		echo "timeout = 25"
	} >"$OUT/$t.options"
	log "$OUT/$t ($corpus_note, ${#seeds[@]} seed(s)$([[ -f "$OUT/$t.dict" ]] && echo ", $t.dict"))"
done
# The objects are the build's, not the runner's: OUT holds targets only.
[[ -n "${WORK:-}" ]] || rm -rf "$objs"
log "done: ${#targets[@]} target(s) in $OUT"
