/*
 * lg_dpdk_test.c - the load generator's dpdk transport (tools/loadgen/lg_dpdk.c)
 * against a real stampede-dataplane over net_memif (lg_dpdk_test.sh starts
 * both):
 *
 *   lg_dpdk_test [EAL options] -- EVENT GA_TYPE
 *
 * Bad options are refused with a reason before the port is touched; then
 * the transport opens (ARP), a PING comes back, a burst of 8 PINGs over 4
 * source ports all come back, a HOLD_GA of 3 tickets and its CONFIRM give an
 * order of 3 tickets, and the transport's counters agree with what was sent
 * and received. Exit 0 only if all of that holds.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_eal.h>

#include "dataplane/dp_proto.h"
#include "dataplane/dp_types.h"
#include "tools/loadgen/lg_transport.h"

#define T_CLIENT 0x7e57000000000001ull
#define T_RESEND_US 200000
#define T_TRIES 10

static int failures;

#define CHECK(cond, ...)                                                                                     \
	do {                                                                                                  \
		if (!(cond)) {                                                                                \
			fprintf(stderr, "lg_dpdk_test: check failed: " __VA_ARGS__);                          \
			fprintf(stderr, "\n");                                                                \
			failures++;                                                                           \
		}                                                                                             \
	} while (0)

/* Microseconds on the TSC. */
static uint64_t now_us(void)
{
	return rte_rdtsc() * 1000000ull / rte_get_tsc_hz();
}

/* Send d (resending every T_RESEND_US, T_TRIES times) until the reply to
 * request req comes; fill *r. Returns 0 or -1. */
static int call(struct lg_transport *t, const struct lg_dgram *d, uint64_t req, struct proto_reply *r)
{
	for (int attempt = 0; attempt < T_TRIES; attempt++) {
		if (t->send(t, d, 1) != 1)
			continue;
		const uint64_t until = now_us() + T_RESEND_US;
		while (now_us() < until) {
			struct lg_dgram in[8];
			unsigned n = t->recv(t, in, 8);
			for (unsigned i = 0; i < n; i++) {
				size_t off = 0;
				while (off < in[i].len && proto_decode_reply(in[i].data, in[i].len, &off, r) == PROTO_OK)
					if (r->hdr.client_id == T_CLIENT && r->hdr.request_id == req)
						return 0;
			}
			t->wait(t, 1000);
		}
	}
	return -1;
}

/* Bad options get a reason and no transport. */
static void check_refusals(void)
{
	char err[256];
	struct lg_dpdk_opts o = {.port_id = 0, .ip = "10.12.0.1", .server = "10.12.0.2", .server_port = 7300,
				 .src_ports_n = 0};
	err[0] = 0;
	CHECK(lg_dpdk_open(&o, err, sizeof(err)) == NULL && strstr(err, "source ports"), "src_ports_n 0: %s", err);
	o.src_ports_n = 65;
	CHECK(lg_dpdk_open(&o, err, sizeof(err)) == NULL && strstr(err, "source ports"), "src_ports_n 65: %s", err);
	o.src_ports_n = 1;
	o.ip = "10.12.0";
	CHECK(lg_dpdk_open(&o, err, sizeof(err)) == NULL && strstr(err, "10.12.0"), "bad ip: %s", err);
	o.ip = "10.12.0.1";
	o.port_id = 9;
	CHECK(lg_dpdk_open(&o, err, sizeof(err)) == NULL && strstr(err, "port 9"), "no port 9: %s", err);
}

int main(int argc, char **argv)
{
	int ret = rte_eal_init(argc, argv);
	if (ret < 0) {
		fprintf(stderr, "lg_dpdk_test: EAL init failed\n");
		return 2;
	}
	argc -= ret;
	argv += ret;
	if (argc != 3) {
		fprintf(stderr, "usage: lg_dpdk_test [EAL options] -- EVENT GA_TYPE\n");
		return 2;
	}
	const uint32_t event = (uint32_t)strtoul(argv[1], NULL, 10), ga_type = (uint32_t)strtoul(argv[2], NULL, 10);

	check_refusals();

	char err[256];
	struct lg_dpdk_opts o = {.port_id = 0, .ip = "10.12.0.1", .server = "10.12.0.2", .server_port = 7300,
				 .server_mac = NULL, .src_ports_n = 4};
	struct lg_transport *t = lg_dpdk_open(&o, err, sizeof(err));
	if (!t) {
		fprintf(stderr, "lg_dpdk_test: open: %s\n", err);
		return 1;
	}
	CHECK(strcmp(t->name, "dpdk") == 0, "name %s", t->name);
	struct proto_buf b;
	struct proto_reply r;
	struct lg_dgram d[8];
	uint64_t req = 0;

	/* One PING. */
	proto_buf_init(&b, d[0].data, LG_DGRAM_MAX);
	proto_put_ping(&b, T_CLIENT, ++req, (const uint8_t *)"lg", 2);
	d[0].len = (uint16_t)b.len;
	CHECK(call(t, &d[0], req, &r) == 0 && r.head.status == DP_S_OK && r.kind == PROTO_R_PING, "ping");

	/* A burst of 8 PINGs in one send (source ports 40000-40003 twice): all 8 answered. */
	const uint64_t first = req + 1;
	for (unsigned i = 0; i < 8; i++) {
		proto_buf_init(&b, d[i].data, LG_DGRAM_MAX);
		proto_put_ping(&b, T_CLIENT, ++req, NULL, 0);
		d[i].len = (uint16_t)b.len;
	}
	unsigned taken = t->send(t, d, 8);
	CHECK(taken == 8, "burst of 8 took %u", taken);
	unsigned seen = 0; /* bit i: reply to first + i */
	for (uint64_t until = now_us() + 2000000; now_us() < until && seen != 0xff;) {
		struct lg_dgram in[LG_BURST_MAX];
		unsigned n = t->recv(t, in, LG_BURST_MAX);
		for (unsigned i = 0; i < n; i++) {
			size_t off = 0;
			while (off < in[i].len && proto_decode_reply(in[i].data, in[i].len, &off, &r) == PROTO_OK)
				if (r.hdr.client_id == T_CLIENT && r.hdr.request_id >= first && r.hdr.request_id < first + 8)
					seen |= 1u << (r.hdr.request_id - first);
		}
	}
	CHECK(seen == 0xff, "burst replies seen 0x%02x, expected 0xff", seen);

	/* Hold 3 GA tickets, confirm: an order of 3. */
	proto_buf_init(&b, d[0].data, LG_DGRAM_MAX);
	proto_put_hold_ga(&b, T_CLIENT, ++req, event, ga_type, 3, NULL);
	d[0].len = (uint16_t)b.len;
	CHECK(call(t, &d[0], req, &r) == 0 && r.head.status == DP_S_OK && r.u.hold.body.n_items == 3,
	      "hold 3 GA: status %u", r.head.status);
	const uint64_t hold_id = r.u.hold.body.hold_id;
	uint8_t pay[PROTO_PAYMENT_REF_SIZE] = "lg-dpdk-test";
	proto_buf_init(&b, d[0].data, LG_DGRAM_MAX);
	proto_put_confirm(&b, T_CLIENT, ++req, hold_id, pay);
	d[0].len = (uint16_t)b.len;
	CHECK(hold_id != 0 && call(t, &d[0], req, &r) == 0 && r.head.status == DP_S_OK &&
		      r.u.hold.body.order_id != 0 && r.u.hold.body.n_items == 3,
	      "confirm: status %u", r.head.status);

	/* Counters: everything sent was taken, nothing on this link was junk. */
	CHECK(t->stats.sent >= 11 && t->stats.received >= 11, "sent %" PRIu64 " received %" PRIu64, t->stats.sent,
	      t->stats.received);
	CHECK(t->stats.dropped == 0, "dropped %" PRIu64, t->stats.dropped);
	printf("lg_dpdk_test: sent %" PRIu64 " received %" PRIu64 " send_full %" PRIu64 " dropped %" PRIu64 "\n",
	       t->stats.sent, t->stats.received, t->stats.send_full, t->stats.dropped);
	t->close(t);
	rte_eal_cleanup();
	printf("lg_dpdk_test: %s (%d failures)\n", failures ? "FAILED" : "ok", failures);
	return failures ? 1 : 0;
}
