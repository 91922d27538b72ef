/* SPDX-License-Identifier: MIT */
/*
 * tools/replay.h - replaying inputs in process, shared by `replay` and
 * `fuzz` (which replays what the engine saved to explain its findings).
 */
#ifndef MMT_TOOLS_REPLAY_H
#define MMT_TOOLS_REPLAY_H

#include <stdbool.h>
#include <stdio.h>

#include "mmt/exec.h"

struct cli_replay {
	struct mmt_exec_opts opts;
	const char
		*target; /* binary inputs' operation set; NULL: from the path */
	bool bugs_given; /* the run names the bugs: text headers' are replaced */
	bool quiet;
	FILE *out;
	unsigned long runs, ok, blocked, findings, errors;
	/* Called for each finding (the fuzz command deduplicates with it). */
	void (*on_finding)(struct cli_replay *r, const char *path,
			   const struct mmt_program *p,
			   const struct mmt_finding *f);
	void *arg;
};

void cli_replay_init(struct cli_replay *r);
/* Load @path in either spelling; false with @err on unreadable/bad text. */
bool cli_replay_load(const struct cli_replay *r, const char *path,
		     struct mmt_program *p, bool *is_text, char *err,
		     size_t errlen);
enum mmt_exec_result cli_replay_one(struct cli_replay *r, const char *path);
/* A file, "-" (stdin) or a directory (recursively, in name order). */
int cli_replay_path(struct cli_replay *r, const char *path);

#endif /* MMT_TOOLS_REPLAY_H */
