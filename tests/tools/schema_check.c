/* SPDX-License-Identifier: MIT */
/*
 * tests/tools/schema_check.c - mmt-schema-check SCHEMA.json DOC.json: checks a
 * JSON document against the part of JSON Schema the project's schemas use
 * (docs/nightly-summary.schema.json): "type" (a name or a list of names),
 * "required", "properties", "items", "enum" and "const" of strings,
 * integers and booleans.  Prints each problem as PATH: what, and exits 0
 * when there is none, 1 when there are, 2 when a file cannot be read.
 *
 * Not a general validator: keywords it does not know are ignored, which
 * is why the schemas stay within this subset (a ctest test runs it on the
 * nightly's summary.json, another on a summary without its commit).
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static unsigned long problems;

static bool type_is(const char *t, json_t *v)
{
	if (!strcmp(t, "object"))
		return json_is_object(v);
	if (!strcmp(t, "array"))
		return json_is_array(v);
	if (!strcmp(t, "string"))
		return json_is_string(v);
	if (!strcmp(t, "integer"))
		return json_is_integer(v);
	if (!strcmp(t, "number"))
		return json_is_number(v);
	if (!strcmp(t, "boolean"))
		return json_is_boolean(v);
	if (!strcmp(t, "null"))
		return json_is_null(v);
	return true; /* unknown type names are not ours to judge */
}

static void problem(const char *path, const char *fmt, const char *what)
{
	printf("%s: ", *path ? path : "(document)");
	printf(fmt, what);
	printf("\n");
	problems++;
}

static void check(json_t *schema, json_t *v, const char *path)
{
	json_t *type = json_object_get(schema, "type"), *req, *props, *items,
	       *e, *c;
	char sub[1024];
	size_t i;
	const char *key;

	if (json_is_string(type) && !type_is(json_string_value(type), v)) {
		problem(path, "expected type %s", json_string_value(type));
		return;
	}
	if (json_is_array(type)) {
		bool any = false;

		json_array_foreach(type, i, e)
			any |= type_is(json_string_value(e), v);
		if (!any) {
			problem(path, "%s", "has none of the allowed types");
			return;
		}
	}
	c = json_object_get(schema, "const");
	if (c && !json_equal(c, v))
		problem(path, "%s",
			"is not the value the schema fixes (const)");
	e = json_object_get(schema, "enum");
	if (json_is_array(e)) {
		bool any = false;
		json_t *x;

		json_array_foreach(e, i, x) any |= json_equal(x, v);
		if (!any)
			problem(path, "%s",
				"is none of the values of its enum");
	}
	req = json_object_get(schema, "required");
	if (json_is_object(v) && json_is_array(req))
		json_array_foreach(
			req, i,
			e) if (!json_object_get(v, json_string_value(e)))
			problem(path, "missing required field '%s'",
				json_string_value(e));
	props = json_object_get(schema, "properties");
	if (json_is_object(v) && json_is_object(props))
		json_object_foreach(props, key, e)
		{
			json_t *field = json_object_get(v, key);

			if (!field)
				continue;
			snprintf(sub, sizeof(sub), "%s.%s", path, key);
			check(e, field, sub);
		}
	items = json_object_get(schema, "items");
	if (json_is_array(v) && json_is_object(items))
		json_array_foreach(v, i, e)
		{
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			check(items, e, sub);
		}
}

int main(int argc, char **argv)
{
	json_error_t err;
	json_t *schema, *doc;

	if (argc != 3) {
		fprintf(stderr, "usage: %s SCHEMA.json DOC.json\n", argv[0]);
		return 2;
	}
	schema = json_load_file(argv[1], 0, &err);
	if (!schema) {
		fprintf(stderr, "%s:%d:%d: %s\n", argv[1], err.line, err.column,
			err.text);
		return 2;
	}
	doc = json_load_file(argv[2], 0, &err);
	if (!doc) {
		fprintf(stderr, "%s:%d:%d: %s\n", argv[2], err.line, err.column,
			err.text);
		json_decref(schema);
		return 2;
	}
	check(schema, doc, "");
	if (!problems)
		printf("%s: valid against %s\n", argv[2], argv[1]);
	json_decref(schema);
	json_decref(doc);
	return problems ? 1 : 0;
}
