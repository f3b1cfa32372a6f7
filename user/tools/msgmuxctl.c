// SPDX-License-Identifier: GPL-2.0
/*
 * msgmuxctl - inspect msgmux.
 *
 *   msgmuxctl show      /proc/net/msgmux as an aligned table
 *   msgmuxctl family    the family number of the loaded module
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libmsgmux.h"

#define MAX_COLS 16
#define MAX_ROWS 4096

static char *rows[MAX_ROWS][MAX_COLS];
static int ncols[MAX_ROWS];

static int show(void)
{
	int width[MAX_COLS] = { 0 };
	char line[1024];
	int n = 0, r, c;
	FILE *f;

	f = fopen("/proc/net/msgmux", "re");
	if (!f) {
		fprintf(stderr, "msgmuxctl: /proc/net/msgmux: %s (is msgmux loaded?)\n",
			strerror(errno));
		return 1;
	}
	while (n < MAX_ROWS && fgets(line, sizeof(line), f)) {
		char *save = NULL, *tok = strtok_r(line, " \t\n", &save);

		for (c = 0; tok && c < MAX_COLS; c++) {
			rows[n][c] = strdup(tok);
			if (!rows[n][c])
				return 1;
			if ((int)strlen(tok) > width[c])
				width[c] = strlen(tok);
			tok = strtok_r(NULL, " \t\n", &save);
		}
		ncols[n++] = c;
	}
	fclose(f);
	for (r = 0; r < n; r++) {
		for (c = 0; c < ncols[r]; c++) {
			if (c + 1 < ncols[r])
				printf("%-*s  ", width[c], rows[r][c]);
			else
				printf("%s\n", rows[r][c]);
			free(rows[r][c]);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "show"))
		return show();
	if (argc == 2 && !strcmp(argv[1], "family")) {
		printf("%d\n", msgmux_family());
		return 0;
	}
	fprintf(stderr, "usage: msgmuxctl show | family\n");
	return 2;
}
