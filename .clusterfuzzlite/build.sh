#!/bin/bash -eu
# ClusterFuzzLite's build script: the repository's build.sh does the work
# from $CC, $CFLAGS, $LIB_FUZZING_ENGINE and $OUT (docs/workflow.md,
# "Scale-out").  Every target by default; list some to build fewer.
exec "$SRC/mmtorture/build.sh"
