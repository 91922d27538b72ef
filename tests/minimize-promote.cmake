# tests/minimize-promote.cmake - `corpus promote` end to end, in a corpora
# directory of the build tree (never the source's): a padded finding is
# promoted into WORK/pages/regress/, then replayed as ctest replays a
# regression corpus (pages-replay: clean, no bug on) and as a person does
# (`mmtorture replay`: the finding, with the header's bug), checked as
# text, and promoted again under the same name (refused); a program with
# no finding is refused and leaves no file.
#
#   cmake -DCLI=mmtorture -DREPLAY=pages-replay -DDATA=tests/data/minimize
#         -DWORK=dir -P tests/minimize-promote.cmake
cmake_minimum_required(VERSION 3.25)

file(REMOVE_RECURSE "${WORK}")
file(MAKE_DIRECTORY "${WORK}")
set(regress "${WORK}/pages/regress")
set(promoted "${regress}/padded-zero.trace")

function(step name expect_status expect_regex)
	execute_process(COMMAND ${ARGN} RESULT_VARIABLE st OUTPUT_VARIABLE out ERROR_VARIABLE out)
	if(NOT "${st}" STREQUAL "${expect_status}" OR NOT out MATCHES "${expect_regex}")
		message(FATAL_ERROR "${name}: exit ${st} (expected ${expect_status}), output must match '${expect_regex}':\n${out}")
	endif()
	message(STATUS "${name}: ok")
endfunction()

step(promote 0 "promoted gfp-zero\\|caller\\|_mmt_exec_check_zero: .*padded-zero.trace \\(29 -> 3 operations"
	"${CLI}" corpus promote "${DATA}/padded-pcp-zero-skipped.trace" --target pages
	--name padded-zero --desc "a cleared page asked from the per-cpu lists" --corpora "${WORK}")
file(READ "${promoted}" text)
if(NOT text MATCHES "^mmtorture-trace 1\n# finding: gfp-zero\\|caller\\|_mmt_exec_check_zero\n.*# a cleared page asked from the per-cpu lists\n.*bugs pcp-zero-skipped\np0 = alloc_pages 0 order=0\nfree_pages p0\np1 = alloc_pages __GFP_ZERO order=0\n$")
	message(FATAL_ERROR "the promoted trace is not the minimized core with its description:\n${text}")
endif()
if(text MATCHES "0x[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]|/home/|/work/|/tmp/")
	message(FATAL_ERROR "the promoted trace holds an address or an absolute path:\n${text}")
endif()
step(ctest-replays-it-clean 0 "" "${REPLAY}" "${regress}")
step(replay-shows-the-finding 1 "FINDING\ngfp-zero" "${CLI}" replay "${promoted}")
step(it-parses-as-a-kept-corpus 0 "" "${CLI}" trace check "${regress}")
step(same-name-is-refused 1 "padded-zero.trace exists: choose another --name"
	"${CLI}" corpus promote "${DATA}/padded-pcp-zero-skipped.trace" --target pages
	--name padded-zero --desc "again" --corpora "${WORK}")
step(no-finding-is-refused 1 "refused: the input reports no finding \\(it runs clean\\)"
	"${CLI}" corpus promote "${DATA}/runs-clean.trace" --target pages
	--name clean --desc "nothing" --corpora "${WORK}")
if(EXISTS "${regress}/clean.trace")
	message(FATAL_ERROR "a refused promotion left ${regress}/clean.trace")
endif()
file(GLOB left "${regress}/*tmp*")
if(left)
	message(FATAL_ERROR "temporary files left behind: ${left}")
endif()
