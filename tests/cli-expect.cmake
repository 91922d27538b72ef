# tests/cli-expect.cmake - one end-to-end command-line test: run the command
# after "--" and require both its exit status and a match in its output
# (stdout and stderr together), which ctest's PASS_REGULAR_EXPRESSION alone
# cannot (it ignores the exit status).  Registered by mmt_cli_expect_test()
# in CMakeLists.txt:
#
#   cmake -DEXPECT_EXIT=N -DEXPECT_OUTPUT=REGEX [-DFORBID_OUTPUT=REGEX]
#         [-DALLOW_TSAN_DATA_RACE=1] -P tests/cli-expect.cmake -- COMMAND ARG...
#
# A sanitizer report (LeakSanitizer at exit, AddressSanitizer, UBSan) fails
# the test whatever the status, so "--help exits 0" means without a leak.
# ALLOW_TSAN_DATA_RACE: a test that expects the tsan build to find a data
# race (the finding is in EXPECT_OUTPUT) lets ThreadSanitizer's data race
# reports through; any other sanitizer report still fails it.
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
if(NOT cmd OR NOT DEFINED EXPECT_EXIT OR NOT DEFINED EXPECT_OUTPUT)
	message(FATAL_ERROR "usage: cmake -DEXPECT_EXIT=N -DEXPECT_OUTPUT=REGEX -P cli-expect.cmake -- COMMAND...")
endif()

execute_process(COMMAND ${cmd} RESULT_VARIABLE status
	OUTPUT_VARIABLE out ERROR_VARIABLE out)
set(problems)
if(NOT "${status}" STREQUAL "${EXPECT_EXIT}")
	list(APPEND problems "exit status ${status}, expected ${EXPECT_EXIT}")
endif()
if(NOT out MATCHES "${EXPECT_OUTPUT}")
	list(APPEND problems "output does not match '${EXPECT_OUTPUT}'")
endif()
set(checked "${out}")
if(ALLOW_TSAN_DATA_RACE)
	string(REGEX REPLACE "(WARNING|SUMMARY): ThreadSanitizer: data race" "" checked "${checked}")
	string(REGEX REPLACE "ThreadSanitizer: reported [0-9]+ warnings" "" checked "${checked}")
	string(REGEX REPLACE "ThreadSanitizer: data race between two fibers" "" checked "${checked}")
endif()
if(checked MATCHES "(Leak|Address|UndefinedBehavior|Thread)Sanitizer|runtime error:")
	list(APPEND problems "a sanitizer reported")
endif()
if(DEFINED FORBID_OUTPUT AND out MATCHES "${FORBID_OUTPUT}")
	list(APPEND problems "output matches '${FORBID_OUTPUT}', which it must not")
endif()
if(problems)
	string(REPLACE ";" "\n  " problems "${problems}")
	message(FATAL_ERROR "${cmd}\n  ${problems}\n--- output ---\n${out}")
endif()
