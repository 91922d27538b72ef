/* SPDX-License-Identifier: MIT */
/*
 * tests/test_bench_journal.c - the journal of `bench bugs --journal`
 * (tools/bench_journal.c): what is written is found again by the next
 * run, a record cut by a kill is dropped and its trial runs again, a
 * damaged line stops the run naming its place and leaves the file alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../tools/bench_journal.h"
#include "mmt_test.h"

/* A fresh path in the temporary directory (the file is not created). */
static void temp_path(char *path, size_t len)
{
	int fd;

	snprintf(path, len, "/tmp/mmt-journal-XXXXXX");
	fd = mkstemp(path);
	MMT_CHECK(fd >= 0);
	close(fd);
	unlink(path);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	MMT_CHECK(f != NULL);
	fputs(text, f);
	fclose(f);
}

static char *read_file(const char *path)
{
	static char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n;

	MMT_CHECK(f != NULL);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static struct bb_journal *open_ok(const char *path, char *note, size_t len)
{
	char err[512];
	struct bb_journal *j =
		bb_journal_open(path, err, sizeof(err), note, len);

	if (!j)
		fprintf(stderr, "open: %s\n", err);
	MMT_CHECK(j != NULL);
	return j;
}

MMT_TEST(bench_journal_finds_a_trial_written_by_an_earlier_run)
{
	char path[64], note[512], err[512];
	struct bb_journal *j;
	json_t *rec;

	temp_path(path, sizeof(path));
	j = open_ok(path, note, sizeof(note));
	MMT_CHECK(bb_journal_records(j) == 0);
	MMT_CHECK(bb_journal_find(j, "trial", "pcp-zero-skipped", "libfuzzer",
				  1, 300) == NULL);
	MMT_CHECK(bb_journal_append(j, "trial", "pcp-zero-skipped", "libfuzzer",
				    1, 300,
				    json_pack("{s:f, s:I}", "found", 2.5,
					      "execs", (json_int_t)1234),
				    err, sizeof(err)));
	MMT_CHECK(bb_journal_append(j, "nobug", "pages", "libfuzzer", 1, 30,
				    json_pack("{s:[]}", "findings"), err,
				    sizeof(err)));
	bb_journal_close(j);

	j = open_ok(path, note, sizeof(note));
	MMT_CHECK(note[0] == '\0');
	MMT_CHECK(bb_journal_records(j) == 2);
	rec = bb_journal_find(j, "trial", "pcp-zero-skipped", "libfuzzer", 1,
			      300);
	MMT_CHECK(rec != NULL);
	MMT_CHECK(json_real_value(json_object_get(rec, "found")) == 2.5);
	MMT_CHECK(json_integer_value(json_object_get(rec, "execs")) == 1234);
	MMT_CHECK(json_is_string(json_object_get(rec, "when")));
	/* Another seed, engine or budget is another trial. */
	MMT_CHECK(!bb_journal_find(j, "trial", "pcp-zero-skipped", "libfuzzer",
				   2, 300));
	MMT_CHECK(!bb_journal_find(j, "trial", "pcp-zero-skipped",
				   "libfuzzer-bytes", 1, 300));
	MMT_CHECK(!bb_journal_find(j, "trial", "pcp-zero-skipped", "libfuzzer",
				   1, 60));
	MMT_CHECK(bb_journal_find(j, "nobug", "pages", "libfuzzer", 1, 30));
	MMT_CHECK(bb_journal_reused(j) == 2);
	bb_journal_close(j);
	unlink(path);
}

MMT_TEST(bench_journal_drops_a_record_cut_by_a_kill_and_appends_after_it)
{
	char path[64], note[512], err[512];
	struct bb_journal *j;

	temp_path(path, sizeof(path));
	write_file(
		path,
		"{\"kind\":\"trial\",\"what\":\"b\",\"engine\":\"afl\",\"seed\":1,\"budget\":60,\"found\":1.0}\n"
		"{\"kind\":\"trial\",\"what\":\"b\",\"engine\":\"afl\",\"se");
	j = open_ok(path, note, sizeof(note));
	MMT_CHECK(strstr(note, ":2: the last record was cut short") != NULL);
	MMT_CHECK(bb_journal_records(j) == 1);
	MMT_CHECK(bb_journal_find(j, "trial", "b", "afl", 1, 60) != NULL);
	MMT_CHECK(bb_journal_append(j, "trial", "b", "afl", 2, 60,
				    json_object(), err, sizeof(err)));
	bb_journal_close(j);
	/* The fragment is gone and the new record is a line of its own. */
	j = open_ok(path, note, sizeof(note));
	MMT_CHECK(note[0] == '\0');
	MMT_CHECK(bb_journal_records(j) == 2);
	MMT_CHECK(bb_journal_find(j, "trial", "b", "afl", 2, 60) != NULL);
	bb_journal_close(j);
	unlink(path);
}

MMT_TEST(bench_journal_refuses_a_damaged_line_naming_it_and_keeps_the_file)
{
	static const char text[] =
		"{\"kind\":\"trial\",\"what\":\"b\",\"engine\":\"afl\",\"seed\":1,\"budget\":60}\n"
		"not json\n"
		"{\"kind\":\"trial\",\"what\":\"b\",\"engine\":\"afl\",\"seed\":2,\"budget\":60}\n";
	static const char nokey[] =
		"{\"kind\":\"trial\",\"what\":\"b\",\"engine\":\"afl\",\"budget\":60}\n";
	char path[64], note[512], err[512];

	temp_path(path, sizeof(path));
	write_file(path, text);
	MMT_CHECK(bb_journal_open(path, err, sizeof(err), note, sizeof(note)) ==
		  NULL);
	MMT_CHECK(strstr(err, path) != NULL);
	MMT_CHECK(strstr(err, ":2: not a JSON object") != NULL);
	MMT_CHECK(strcmp(read_file(path), text) == 0);

	write_file(path, nokey);
	MMT_CHECK(bb_journal_open(path, err, sizeof(err), note, sizeof(note)) ==
		  NULL);
	MMT_CHECK(strstr(err, ":1: \"seed\" or \"budget\"") != NULL);
	MMT_CHECK(strcmp(read_file(path), nokey) == 0);
	unlink(path);
}

MMT_TEST(bench_journal_a_later_record_of_the_same_trial_wins)
{
	char path[64], note[512];
	struct bb_journal *j;
	json_t *rec;

	temp_path(path, sizeof(path));
	write_file(
		path,
		"{\"kind\":\"trial\",\"what\":\"b\",\"engine\":\"pct\",\"seed\":1,\"budget\":60,\"found\":9.0}\n"
		"\n"
		"{\"kind\":\"trial\",\"what\":\"b\",\"engine\":\"pct\",\"seed\":1,\"budget\":60,\"found\":3.0}\n");
	j = open_ok(path, note, sizeof(note));
	rec = bb_journal_find(j, "trial", "b", "pct", 1, 60);
	MMT_CHECK(rec != NULL);
	MMT_CHECK(json_real_value(json_object_get(rec, "found")) == 3.0);
	bb_journal_close(j);
	unlink(path);
}
