/*
 * netns_driver.c - drives a real stampede-dataplane on net_tap inside its own
 * network namespace (netns_harness.sh starts both). Checks, through
 * libstampede-client and, where exact bytes matter, a raw UDP socket:
 * ping; holds; the losing side of a race with its alternative; confirm;
 * release; a datagram retried byte for byte that must not double-apply;
 * datagrams that are not Stampede (dropped) or malformed (bad_request), after
 * which the dataplane still answers; busy with a retry-after under overload
 * and an answer for every request; SIGTERM with exit 0 and a restart that
 * keeps every acknowledged order.
 * Inventory: event 1, section 1 (two rows of 20 seats), GA type 2 (5,000).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client/stampede_client.h"
#include "dataplane/dp_proto.h"
#include "dataplane/dp_types.h"

static int failures;
#define CHECK(cond, ...)                                                                                     \
	do {                                                                                                  \
		if (!(cond)) {                                                                                \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                  \
			fprintf(stderr, __VA_ARGS__);                                                         \
			fprintf(stderr, "\n");                                                                \
			failures++;                                                                           \
		}                                                                                             \
	} while (0)

static const char *server;
static uint16_t port;

static struct stampede_client *open_client(uint64_t client_id)
{
	struct stampede_client_opts o;
	stampede_client_opts_init(&o);
	o.host = server;
	o.port = port;
	o.client_id = client_id;
	o.timeout_ms = 300;
	char err[256];
	struct stampede_client *c = stampede_client_open(&o, err, sizeof(err));
	if (!c) {
		fprintf(stderr, "client: %s\n", err);
		exit(2);
	}
	return c;
}

/* A raw UDP socket for exact datagrams. */
static int raw_socket(struct sockaddr_in *to)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	int big = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	memset(to, 0, sizeof(*to));
	to->sin_family = AF_INET;
	to->sin_port = htons(port);
	inet_pton(AF_INET, server, &to->sin_addr);
	return fd;
}

/* Wait up to ms for a datagram; returns its length or -1. */
static ssize_t raw_recv(int fd, uint8_t *buf, size_t cap, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (poll(&p, 1, ms) != 1)
		return -1;
	return recv(fd, buf, cap, 0);
}

static int ctl(const char *cmd)
{
	const char *ctl_path = getenv("STAMPEDE_CTL"), *ack_path = getenv("STAMPEDE_ACK");
	if (!ctl_path || !ack_path)
		return -1;
	FILE *f = fopen(ctl_path, "w");
	if (!f)
		return -1;
	fprintf(f, "%s\n", cmd);
	fclose(f);
	FILE *a = fopen(ack_path, "r");
	char line[64] = "";
	if (!a || !fgets(line, sizeof(line), a))
		return -1;
	fclose(a);
	return strncmp(line, "ok", 2) == 0 ? 0 : -1;
}

int main(void)
{
	server = getenv("STAMPEDE_SERVER");
	port = (uint16_t)atoi(getenv("STAMPEDE_PORT") ? getenv("STAMPEDE_PORT") : "7300");
	if (!server) {
		fprintf(stderr, "run me through netns_harness.sh\n");
		return 2;
	}
	struct stampede_result r;
	struct stampede_client *alice = open_client(1001), *bob = open_client(1002);

	/* Ping (the kernel ARPs for the dataplane first). */
	const unsigned want_workers = getenv("STAMPEDE_EXPECT_WORKERS") ? (unsigned)atoi(getenv("STAMPEDE_EXPECT_WORKERS")) : 1;
	CHECK(stampede_ping(alice, &r) == 0 && r.status == DP_S_OK && r.u.ping.workers == want_workers,
	      "ping: %u workers, expected %u", r.u.ping.workers, want_workers);

	/* Alice holds seats 0 and 1. */
	uint32_t seats01[2] = {0, 1};
	CHECK(stampede_hold_seats(alice, 1, 1, 2, seats01, NULL, &r) == 0 && r.status == DP_S_OK &&
		      r.u.hold.n_items == 2,
	      "alice holds seats 0,1: status %s", stampede_status_name(r.status));
	uint64_t alice_hold = r.u.hold.hold_id;

	/* Bob loses the race for seat 1 and is offered the nearest free seat. */
	uint32_t seat1 = 1;
	CHECK(stampede_hold_seats(bob, 1, 1, 1, &seat1, NULL, &r) == 0 && r.status == DP_S_TAKEN &&
		      r.u.hold.n_alt == 1 && r.u.hold.alt[0] == 2,
	      "bob loses seat 1 with alternative 2: status %s n_alt %u alt %u", stampede_status_name(r.status),
	      r.u.hold.n_alt, r.u.hold.alt[0]);
	/* He takes the alternative. */
	uint32_t seat2 = 2;
	CHECK(stampede_hold_seats(bob, 1, 1, 1, &seat2, NULL, &r) == 0 && r.status == DP_S_OK, "bob holds seat 2");
	uint64_t bob_hold = r.u.hold.hold_id;

	/* Bob may not confirm Alice's hold. */
	CHECK(stampede_confirm(bob, alice_hold, "bob-pay", &r) == 0 && r.status == DP_S_NOT_YOURS,
	      "bob confirming alice's hold: %s", stampede_status_name(r.status));

	/* Alice confirms. */
	CHECK(stampede_confirm(alice, alice_hold, "alice-pay-1", &r) == 0 && r.status == DP_S_OK &&
		      r.u.hold.order_id != 0,
	      "alice confirms: %s", stampede_status_name(r.status));
	uint64_t alice_order = r.u.hold.order_id;

	/* Bob releases; seat 2 is free again in the seat map. */
	CHECK(stampede_release(bob, bob_hold, &r) == 0 && r.status == DP_S_OK, "bob releases");
	uint8_t map[40];
	CHECK(stampede_seat_map(alice, 1, 1, 0, 40, map, &r) == 0 && r.status == DP_S_OK &&
		      r.u.seat_map.count == 40 && (map[0] & 3) == DP_SEAT_SOLD && (map[1] & 3) == DP_SEAT_SOLD &&
		      (map[2] & 3) == DP_SEAT_FREE && r.u.seat_map.sold == 2,
	      "seat map after confirm and release");

	/* A datagram retried byte for byte is applied once. */
	struct sockaddr_in to;
	int fd = raw_socket(&to);
	uint8_t out[PROTO_DGRAM_MAX], in[PROTO_DGRAM_MAX];
	struct proto_buf b;
	proto_buf_init(&b, out, sizeof(out));
	proto_put_hold_ga(&b, 2001, 77, 1, 2, 3, NULL);
	uint64_t first_hold = 0;
	for (int k = 0; k < 2; k++) {
		sendto(fd, out, b.len, 0, (struct sockaddr *)&to, sizeof(to));
		ssize_t n = raw_recv(fd, in, sizeof(in), 2000);
		struct proto_reply rep;
		size_t off = 0;
		CHECK(n > 0 && proto_decode_reply(in, (size_t)n, &off, &rep) == PROTO_OK && rep.head.status == DP_S_OK,
		      "raw GA hold attempt %d answered ok", k);
		if (k == 0)
			first_hold = rep.u.hold.body.hold_id;
		else
			CHECK(rep.u.hold.body.hold_id == first_hold && rep.head.detail == DP_D_REPLAY,
			      "the retry returns the first answer (detail %u)", rep.head.detail);
	}
	CHECK(stampede_seat_map(alice, 1, 2, 0, 16, map, &r) == 0 && r.u.seat_map.held == 3,
	      "the retried hold was applied once: %u held", r.u.seat_map.held);

	/* Not Stampede: dropped, no answer. */
	const char junk[] = "GET / HTTP/1.0\r\n\r\n";
	sendto(fd, junk, sizeof(junk), 0, (struct sockaddr *)&to, sizeof(to));
	CHECK(raw_recv(fd, in, sizeof(in), 300) < 0, "a datagram that is not Stampede gets no answer");
	/* Malformed Stampede: bad_request for its request id. */
	proto_buf_init(&b, out, sizeof(out));
	proto_put_hold_ga(&b, 2001, 78, 1, 2, 1, NULL);
	out[2] = 9; /* version */
	sendto(fd, out, b.len, 0, (struct sockaddr *)&to, sizeof(to));
	ssize_t n = raw_recv(fd, in, sizeof(in), 2000);
	struct proto_reply rep;
	size_t off = 0;
	CHECK(n > 0 && proto_decode_reply(in, (size_t)n, &off, &rep) == PROTO_OK &&
		      rep.head.status == DP_S_BAD_REQUEST && rep.hdr.request_id == 78,
	      "a bad version gets bad_request for its request id");
	/* Truncated body. */
	proto_buf_init(&b, out, sizeof(out));
	proto_put_confirm(&b, 2001, 79, 12345, (const uint8_t *)"................................");
	sendto(fd, out, b.len - 5, 0, (struct sockaddr *)&to, sizeof(to));
	n = raw_recv(fd, in, sizeof(in), 2000);
	off = 0;
	CHECK(n > 0 && proto_decode_reply(in, (size_t)n, &off, &rep) == PROTO_OK &&
		      rep.head.status == DP_S_BAD_REQUEST && rep.hdr.request_id == 79,
	      "a truncated message gets bad_request");
	CHECK(stampede_ping(alice, &r) == 0 && r.status == DP_S_OK, "still answering after bad input");

	/* Overload: 96 datagrams of 32 GA holds each, sent without waiting. The
	 * dataplane runs with a small backlog: some answers must be busy with a
	 * retry-after, and every request must be answered. */
	const unsigned dgrams = 96, per = 32;
	for (unsigned d = 0; d < dgrams; d++) {
		proto_buf_init(&b, out, sizeof(out));
		for (unsigned k = 0; k < per; k++)
			proto_put_hold_ga(&b, 100000 + d * per + k, 1, 1, 2, 1, NULL);
		sendto(fd, out, b.len, 0, (struct sockaddr *)&to, sizeof(to));
	}
	unsigned answered = 0, busy = 0, ok = 0, other = 0, busy_retry_ok = 1;
	while (answered < dgrams * per && (n = raw_recv(fd, in, sizeof(in), 3000)) > 0) {
		off = 0;
		while (off < (size_t)n && proto_decode_reply(in, (size_t)n, &off, &rep) == PROTO_OK) {
			answered++;
			if (rep.head.status == DP_S_BUSY) {
				busy++;
				busy_retry_ok &= rep.head.retry_after_ms > 0;
			} else if (rep.head.status == DP_S_OK)
				ok++;
			else
				other++;
		}
	}
	printf("overload: %u requests, %u answered: %u ok, %u busy, %u other\n", dgrams * per, answered, ok, busy,
	       other);
	CHECK(answered == dgrams * per, "every request answered under overload (%u of %u)", answered, dgrams * per);
	CHECK(busy > 0 && busy_retry_ok, "overload answered busy with a retry-after");
	CHECK(other == 0, "no other refusals under overload");
	close(fd);

	/* SIGTERM, exit 0, restart: Alice's order is still there. */
	CHECK(ctl("restart") == 0, "dataplane restarted after SIGTERM");
	CHECK(stampede_order(alice, alice_order, &r) == 0 && r.status == DP_S_OK && r.u.order.n_items == 2 &&
		      r.u.order.items[0] == 0 && r.u.order.items[1] == 1,
	      "alice's order survives a restart");
	CHECK(stampede_seat_map(alice, 1, 2, 0, 16, map, &r) == 0 &&
		      r.u.seat_map.held + r.u.seat_map.sold == 3 + ok,
	      "GA holds acknowledged before the restart are all still held (%u held, %u sold, expected %u)",
	      r.u.seat_map.held, r.u.seat_map.sold, 3 + ok);

	stampede_client_close(alice);
	stampede_client_close(bob);
	printf("netns driver: %s (%d failures)\n", failures ? "FAILED" : "ok", failures);
	return failures ? 1 : 0;
}
