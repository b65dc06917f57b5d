/*
 * For the tests of flags_parse: a fresh vm_config, an error buffer and a memory FILE for
 * --help output per test, and PARSE("--flag", "value", ...) running flags_parse on those
 * words after argv[0]. Each test file that includes this gets its own copies.
 */
#ifndef EMBER_TEST_FLAGS_HARNESS_H
#define EMBER_TEST_FLAGS_HARNESS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../config/config.h"
#include "../../config/flags.h"
#include "helpers.h"

static struct vm_config cfg;
static struct launch_options launch;
static struct errbuf e;
static char *out_buf;
static size_t out_len;
static FILE *out;

static void setup(void)
{
	config_init(&cfg);
	memset(&e, 0, sizeof(e));
	out = open_memstream(&out_buf, &out_len);
	cr_assert_not_null(out);
}

static void teardown(void)
{
	fclose(out);
	free(out_buf);
	config_free(&cfg);
}

#define PARSE(...) parse_words((const char *[]){ "ember", __VA_ARGS__, NULL })

static enum flags_result parse_words(const char **words)
{
	char *argv[48];
	int argc = 0;
	while (words[argc]) {
		cr_assert_lt(argc, 47);
		argv[argc] = (char *)(uintptr_t)words[argc];
		argc++;
	}
	argv[argc] = NULL;
	memset(&e, 0, sizeof(e));
	enum flags_result r = flags_parse(argc, argv, &cfg, &launch, out, &e);
	fflush(out);
	return r;
}

#endif
