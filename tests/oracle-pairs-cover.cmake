# tests/oracle-pairs-cover.cmake - every oracle of the catalogue has a trace
# pair in corpora/oracle-pairs/ or an exemption that says why it cannot,
# so that a new oracle without a pair (or a pair deleted) fails a test
# instead of leaving a gap nobody sees:
#
#   cmake -DPAIRS_DIR=DIR -P tests/oracle-pairs-cover.cmake -- MMTORTURE...
#
# It asks the CLI after "--" for the catalogue (`list oracles --json`).
# An oracle NAME is paired by NAME-fires*.trace with NAME-silent*.trace
# (CMakeLists.txt replays them: the fires trace must report NAME first,
# the silent one nothing), or by the older NAME.trace with
# NAME.fixed.trace.  DIR/exemptions.txt lists the others, one a line,
# "NAME: KIND: the reason", KIND impossible, elsewhere or pending (that
# file says what each means; '#' starts a comment).  An exemption of an oracle
# that has a pair, or of a name the catalogue lacks, is an error too: the
# list stays true.
cmake_minimum_required(VERSION 3.25)

set(cmd)
set(after_dashes FALSE)
math(EXPR last "${CMAKE_ARGC} - 1")
foreach(i RANGE ${last})
	if(after_dashes)
		list(APPEND cmd "${CMAKE_ARGV${i}}")
	elseif("${CMAKE_ARGV${i}}" STREQUAL "--")
		set(after_dashes TRUE)
	endif()
endforeach()
if(NOT cmd OR NOT DEFINED PAIRS_DIR)
	message(FATAL_ERROR "usage: cmake -DPAIRS_DIR=DIR -P oracle-pairs-cover.cmake -- MMTORTURE...")
endif()

execute_process(COMMAND ${cmd} list oracles --json RESULT_VARIABLE status
	OUTPUT_VARIABLE json ERROR_VARIABLE err)
if(NOT status EQUAL 0)
	message(FATAL_ERROR "'list oracles --json' failed (${status}): ${err}")
endif()
string(JSON nr LENGTH "${json}" oracles)
if(nr LESS 1)
	message(FATAL_ERROR "the catalogue is empty")
endif()

# The exemptions: NAME -> reason.
set(exempt)
file(STRINGS "${PAIRS_DIR}/exemptions.txt" lines)
foreach(line IN LISTS lines)
	if(line MATCHES "^[ \t]*(#|$)")
		continue()
	endif()
	if(NOT line MATCHES "^([a-z0-9-]+): (impossible|elsewhere|pending): (.+)$")
		message(FATAL_ERROR "exemptions.txt: not 'NAME: impossible|elsewhere|pending: reason': ${line}")
	endif()
	if(CMAKE_MATCH_1 IN_LIST exempt)
		message(FATAL_ERROR "exemptions.txt: ${CMAKE_MATCH_1} twice")
	endif()
	list(APPEND exempt "${CMAKE_MATCH_1}")
	list(APPEND exempt_${CMAKE_MATCH_2} "${CMAKE_MATCH_1}")
endforeach()

set(gaps)
set(stale)
set(names)
set(paired 0)
math(EXPR last "${nr} - 1")
foreach(i RANGE ${last})
	string(JSON name GET "${json}" oracles ${i} name)
	list(APPEND names "${name}")
	file(GLOB fires "${PAIRS_DIR}/${name}-fires*.trace")
	file(GLOB silent "${PAIRS_DIR}/${name}-silent*.trace")
	set(pair FALSE)
	if(fires AND silent)
		set(pair TRUE)
	elseif(EXISTS "${PAIRS_DIR}/${name}.trace" AND EXISTS "${PAIRS_DIR}/${name}.fixed.trace")
		set(pair TRUE)
	endif()
	if(pair)
		math(EXPR paired "${paired} + 1")
	endif()
	if(pair AND name IN_LIST exempt)
		list(APPEND stale "${name} (it has a pair)")
	elseif(NOT pair AND NOT name IN_LIST exempt)
		list(APPEND gaps "${name}")
	endif()
endforeach()
foreach(name IN LISTS exempt)
	if(NOT name IN_LIST names)
		list(APPEND stale "${name} (no such oracle)")
	endif()
endforeach()

list(LENGTH exempt nr_exempt)
list(LENGTH exempt_impossible nr_impossible)
list(LENGTH exempt_elsewhere nr_elsewhere)
list(LENGTH exempt_pending nr_pending)
set(counts "${paired} of ${nr} oracles paired here; exempt: ${nr_impossible} impossible, ${nr_elsewhere} paired elsewhere, ${nr_pending} pending a bug")
if(gaps OR stale)
	list(JOIN gaps ", " g)
	list(JOIN stale ", " s)
	message(FATAL_ERROR "oracle pairs: ${counts}.\n"
		"Without a pair or an exemption: ${g}\n"
		"Stale exemptions: ${s}\n"
		"Add NAME-fires.trace and NAME-silent.trace to ${PAIRS_DIR} (the misuse or the bug, and its fixed twin), "
		"or a line 'NAME: why no pair can exist' to exemptions.txt.")
endif()
message(STATUS "oracle pairs: ${counts}; none left out")
