/* SPDX-License-Identifier: MIT */
/*
 * stress/workloads_model.c - the model workloads (stress/stress.h): they
 * drive the machine's API directly.  The table is empty on this branch;
 * the model workloads are written against stress/stress.h on their own
 * branch and replace this file.
 */
#include "stress.h"

/* One zeroed entry (C11 has no empty arrays); none counts. */
const struct mmt_stress_workload mmt_stress_model_workloads[1];
const size_t mmt_stress_nr_model_workloads = 0;
