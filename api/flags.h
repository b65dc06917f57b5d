/* Command-line flags, parsed into the one vm_config through its setters. */
#ifndef EMBER_FLAGS_H
#define EMBER_FLAGS_H

#include <stdio.h>

#include "config.h"

enum flags_result {
	FLAGS_RUN = 0,   /* configuration complete: boot it */
	FLAGS_DONE = 1,  /* --help or --version printed: exit 0 */
	FLAGS_ERROR = -1 /* e holds one line saying what was wrong */
};

enum flags_result flags_parse(int argc, char **argv, struct vm_config *cfg, FILE *out,
			      struct errbuf *e);

#endif
