// SPDX-License-Identifier: GPL-2.0
/*
 * libmsgmux: family lookup, and inet addresses for the examples and tools.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "libmsgmux.h"

int msgmux_family(void)
{
	FILE *f = fopen(MSGMUX_SYSFS_FAMILY, "re");
	int family = AF_MSGMUX_DEFAULT;

	if (!f)
		return family;
	if (fscanf(f, "%d", &family) != 1)
		family = AF_MSGMUX_DEFAULT;
	fclose(f);
	return family;
}

int msgmux_socket(int type)
{
	return socket(msgmux_family(), type, 0);
}

socklen_t msgmux_inet_addr(const char *host, int port,
			   struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		return sizeof(*sin);
	}
	if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		return sizeof(*sin6);
	}
	return 0;
}

const char *msgmux_inet_str(const void *sa, char *buf, size_t size)
{
	const struct sockaddr_in *sin = sa;
	const struct sockaddr_in6 *sin6 = sa;
	char ip[INET6_ADDRSTRLEN];

	if (sin->sin_family == AF_INET) {
		inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof(ip));
		snprintf(buf, size, "%s:%u", ip, ntohs(sin->sin_port));
	} else if (sin6->sin6_family == AF_INET6) {
		inet_ntop(AF_INET6, &sin6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, size, "[%s]:%u", ip, ntohs(sin6->sin6_port));
	} else {
		snprintf(buf, size, "?");
	}
	return buf;
}
