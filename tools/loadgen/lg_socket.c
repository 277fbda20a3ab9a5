/*
 * lg_socket.c - the sockets transport of stampede-loadgen (lg_transport.h):
 * sockets_n non-blocking UDP sockets, each connect()ed to the dataplane (so
 * the kernel hands back only the server's datagrams), used round robin.
 * sendmmsg/recvmmsg move a burst per system call.
 */
#define _GNU_SOURCE /* sendmmsg, recvmmsg */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tools/loadgen/lg_transport.h"

#define LG_SOCKETS_MAX 64
#define LG_SOCK_BUF_BYTES (4 << 20) /* SO_RCVBUF / SO_SNDBUF asked for */

struct lg_socket {
	struct lg_transport t; /* first: the transport is the object */
	unsigned n, next_tx, next_rx;
	int fd[LG_SOCKETS_MAX];
	struct pollfd pfd[LG_SOCKETS_MAX];
	struct mmsghdr mh[LG_BURST_MAX];
	struct iovec iov[LG_BURST_MAX];
};

/* Send up to n datagrams on the next socket (round robin, one socket per
 * call); a full socket buffer (EAGAIN) takes fewer. Other errors (e.g.
 * ECONNREFUSED from an earlier ICMP) drop the datagram as UDP would and
 * count it taken. */
static unsigned sock_send(struct lg_transport *t, const struct lg_dgram *d, unsigned n)
{
	struct lg_socket *s = (struct lg_socket *)t;
	if (n > LG_BURST_MAX)
		n = LG_BURST_MAX;
	for (unsigned i = 0; i < n; i++) {
		s->iov[i].iov_base = (void *)d[i].data;
		s->iov[i].iov_len = d[i].len;
		memset(&s->mh[i], 0, sizeof(s->mh[i]));
		s->mh[i].msg_hdr.msg_iov = &s->iov[i];
		s->mh[i].msg_hdr.msg_iovlen = 1;
	}
	int fd = s->fd[s->next_tx];
	s->next_tx = (s->next_tx + 1) % s->n;
	unsigned done = 0;
	while (done < n) {
		int k = sendmmsg(fd, s->mh + done, n - done, MSG_DONTWAIT);
		if (k > 0) {
			done += (unsigned)k;
			continue;
		}
		if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
			t->stats.send_full++;
			break;
		}
		if (k < 0 && errno == EINTR)
			continue;
		done++; /* ECONNREFUSED and the like: lost, as on the wire */
	}
	t->stats.sent += done;
	return done;
}

/* Receive up to max datagrams, trying each socket once from where the last
 * call stopped. */
static unsigned sock_recv(struct lg_transport *t, struct lg_dgram *d, unsigned max)
{
	struct lg_socket *s = (struct lg_socket *)t;
	if (max > LG_BURST_MAX)
		max = LG_BURST_MAX;
	unsigned got = 0;
	for (unsigned tries = 0; tries < s->n && got < max; tries++) {
		int fd = s->fd[s->next_rx];
		s->next_rx = (s->next_rx + 1) % s->n;
		unsigned want = max - got;
		for (unsigned i = 0; i < want; i++) {
			s->iov[i].iov_base = d[got + i].data;
			s->iov[i].iov_len = LG_DGRAM_MAX;
			memset(&s->mh[i], 0, sizeof(s->mh[i]));
			s->mh[i].msg_hdr.msg_iov = &s->iov[i];
			s->mh[i].msg_hdr.msg_iovlen = 1;
		}
		int k = recvmmsg(fd, s->mh, want, MSG_DONTWAIT, NULL);
		if (k <= 0)
			continue;
		unsigned base = got;
		for (int i = 0; i < k; i++) {
			unsigned len = s->mh[i].msg_len;
			if (len == 0 || len > LG_DGRAM_MAX || (s->mh[i].msg_hdr.msg_flags & MSG_TRUNC)) {
				t->stats.dropped++;
				continue;
			}
			/* Compact: a dropped one leaves no hole. */
			if (got != base + (unsigned)i)
				memmove(d[got].data, d[base + (unsigned)i].data, len);
			d[got].len = (uint16_t)len;
			got++;
		}
	}
	t->stats.received += got;
	return got;
}

/* Wait for any socket to become readable, at most timeout_us. */
static void sock_wait(struct lg_transport *t, unsigned timeout_us)
{
	struct lg_socket *s = (struct lg_socket *)t;
	int ms = (int)((timeout_us + 999) / 1000);
	(void)poll(s->pfd, s->n, ms);
}

/* Close the sockets and free the transport. */
static void sock_close(struct lg_transport *t)
{
	struct lg_socket *s = (struct lg_socket *)t;
	for (unsigned i = 0; i < s->n; i++)
		close(s->fd[i]);
	free(s);
}

/* Open sockets_n connected UDP sockets towards server:port (see
 * lg_transport.h). */
struct lg_transport *lg_socket_open(const char *server, uint16_t port, unsigned sockets_n, char *err, size_t errlen)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	if (!server || inet_pton(AF_INET, server, &sa.sin_addr) != 1) {
		snprintf(err, errlen, "--server: \"%s\" is not an IPv4 address", server ? server : "");
		return NULL;
	}
	if (port == 0) {
		snprintf(err, errlen, "--port: must be 1..65535");
		return NULL;
	}
	if (sockets_n < 1 || sockets_n > LG_SOCKETS_MAX) {
		snprintf(err, errlen, "--sockets: must be 1..%d", LG_SOCKETS_MAX);
		return NULL;
	}
	struct lg_socket *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (unsigned i = 0; i < sockets_n; i++) {
		int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			snprintf(err, errlen, "socket: %s", strerror(errno));
			goto fail;
		}
		s->fd[s->n++] = fd;
		/* Large buffers: past net.core.[rw]mem_max when allowed (root),
		 * else as large as the limit lets. */
		int sz = LG_SOCK_BUF_BYTES;
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
			(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
			(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			snprintf(err, errlen, "connect %s:%u: %s", server, port, strerror(errno));
			goto fail;
		}
		s->pfd[i] = (struct pollfd){.fd = fd, .events = POLLIN};
	}
	s->t.name = "sockets";
	s->t.send = sock_send;
	s->t.recv = sock_recv;
	s->t.wait = sock_wait;
	s->t.close = sock_close;
	return &s->t;
fail:
	for (unsigned i = 0; i < s->n; i++)
		close(s->fd[i]);
	free(s);
	return NULL;
}
