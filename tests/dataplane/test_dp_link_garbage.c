/*
 * test_dp_link_garbage.c - the DPDK clients' frame parser (tools/dp_link_parse.c)
 * against garbage, without the EAL:
 *   - a well-formed UDP frame from the server is taken, payload exact;
 *   - each way of being wrong (short, other EtherType, bad version, bad
 *     checksum, fragment, not UDP, other source or port, bad UDP length) is
 *     dropped and counted under its own reason;
 *   - ARP requests for us and replies from the server are recognised;
 *   - 200,000 random frames and 200,000 mutations of good frames: every one
 *     either dropped and counted exactly once, or taken with its payload
 *     inside the frame; none crashes (run it under ASan too).
 * Exit 0 only if every check holds.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "tools/dp_link.h"

#define G_FRAME_MAX 1600

static int failures;

#define CHECK(cond, ...)                                                                                     \
	do {                                                                                                  \
		if (!(cond)) {                                                                                \
			fprintf(stderr, "dp_link garbage: check failed: " __VA_ARGS__);                        \
			fprintf(stderr, "\n");                                                                \
			failures++;                                                                           \
		}                                                                                             \
	} while (0)

static struct dp_link link_; /* our side: 10.12.0.1, ports 40000-40003; the server 10.12.0.2:7300 */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

/* xorshift64*. */
static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ull;
}

/* A good frame from the server (to port dst_port, len payload bytes of 'p')
 * into f; returns its length. */
static size_t good_udp(uint8_t *f, uint16_t dst_port, size_t len)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)f;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	memset(f, 0, DP_LINK_HDRS_SIZE);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + sizeof(*udp) + len));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = link_.server_be;
	ip->dst_addr = link_.ip_be;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = rte_cpu_to_be_16(7300);
	udp->dst_port = rte_cpu_to_be_16(dst_port);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(sizeof(*udp) + len));
	memset(udp + 1, 'p', len);
	return DP_LINK_HDRS_SIZE + len;
}

/* An ARP frame of opcode op from sip asking about / telling tip. */
static size_t arp(uint8_t *f, uint16_t op, uint32_t sip_be, uint32_t tip_be)
{
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)f;
	struct rte_arp_hdr *a = (struct rte_arp_hdr *)(eth + 1);
	memset(f, 0, sizeof(*eth) + sizeof(*a));
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	a->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	a->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	a->arp_hlen = RTE_ETHER_ADDR_LEN;
	a->arp_plen = 4;
	a->arp_opcode = rte_cpu_to_be_16(op);
	a->arp_data.arp_sha.addr_bytes[0] = 0x02;
	a->arp_data.arp_sha.addr_bytes[5] = 0x42;
	a->arp_data.arp_sip = sip_be;
	a->arp_data.arp_tip = tip_be;
	return sizeof(*eth) + sizeof(*a);
}

/* Recompute the IPv4 header checksum of frame f. */
static void fix_cksum(uint8_t *f)
{
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(f + sizeof(struct rte_ether_hdr));
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
}

/* Parse f and check the verdict is `want` and, when dropped, that exactly
 * the counter at `reason` (an offset into struct dp_link_drops) moved. */
static void expect(const char *what, const uint8_t *f, size_t len, enum dp_link_kind want, size_t reason)
{
	struct dp_link_drops d;
	struct dp_link_parsed p;
	memset(&d, 0, sizeof(d));
	enum dp_link_kind k = dp_link_parse(&link_, f, len, &p, &d);
	CHECK(k == want, "%s: kind %d, expected %d", what, k, want);
	if (want == DP_LINK_DROP) {
		uint64_t at;
		memcpy(&at, (const uint8_t *)&d + reason, sizeof(at));
		CHECK(at == 1 && dp_link_drops_total(&d) == 1, "%s: counted under the wrong reason (total %" PRIu64 ")",
		      what, dp_link_drops_total(&d));
	} else {
		CHECK(dp_link_drops_total(&d) == 0, "%s: counted as a drop", what);
	}
}

#define REASON(field) offsetof(struct dp_link_drops, field)

static void known_cases(void)
{
	static uint8_t f[G_FRAME_MAX];
	struct dp_link_drops d;
	struct dp_link_parsed p;
	memset(&d, 0, sizeof(d));

	size_t n = good_udp(f, 40002, 100);
	CHECK(dp_link_parse(&link_, f, n, &p, &d) == DP_LINK_UDP && p.payload == f + DP_LINK_HDRS_SIZE &&
		      p.payload_len == 100 && p.dst_port == 40002 && dp_link_drops_total(&d) == 0,
	      "good frame taken with its payload");
	/* Ethernet padding after the IP packet is fine. */
	n = good_udp(f, 40000, 4);
	CHECK(dp_link_parse(&link_, f, n + 14, &p, &d) == DP_LINK_UDP && p.payload_len == 4, "padded frame taken");

	expect("empty", f, 0, DP_LINK_DROP, REASON(short_frame));
	n = good_udp(f, 40000, 100);
	expect("truncated", f, n - 1, DP_LINK_DROP, REASON(short_frame));
	expect("headers cut", f, 30, DP_LINK_DROP, REASON(short_frame));
	f[12] = 0x86, f[13] = 0xdd; /* IPv6 */
	expect("ipv6", f, n, DP_LINK_DROP, REASON(not_ip_arp));
	n = good_udp(f, 40000, 100);
	f[14] = 0x65;
	fix_cksum(f);
	expect("ip version 6", f, n, DP_LINK_DROP, REASON(bad_ip));
	n = good_udp(f, 40000, 100);
	f[14] = 0x44; /* header length 16 */
	fix_cksum(f);
	expect("ihl 4", f, n, DP_LINK_DROP, REASON(bad_ip));
	n = good_udp(f, 40000, 100);
	f[24] ^= 1;
	expect("bad checksum", f, n, DP_LINK_DROP, REASON(bad_ip));
	n = good_udp(f, 40000, 100);
	f[20] = 0x20; /* more fragments */
	fix_cksum(f);
	expect("fragment", f, n, DP_LINK_DROP, REASON(bad_ip));
	n = good_udp(f, 40000, 100);
	f[23] = IPPROTO_TCP;
	fix_cksum(f);
	expect("tcp", f, n, DP_LINK_DROP, REASON(not_udp));
	n = good_udp(f, 40000, 100);
	f[29] ^= 1; /* source address */
	fix_cksum(f);
	expect("other source", f, n, DP_LINK_DROP, REASON(not_server));
	n = good_udp(f, 40004, 100);
	expect("port past our range", f, n, DP_LINK_DROP, REASON(not_server));
	n = good_udp(f, 39999, 100);
	expect("port below our range", f, n, DP_LINK_DROP, REASON(not_server));
	n = good_udp(f, 40000, 100);
	f[35] ^= 1; /* UDP source port */
	expect("other source port", f, n, DP_LINK_DROP, REASON(not_server));
	n = good_udp(f, 40000, 100);
	f[38] = 0, f[39] = 7; /* UDP length 7 */
	expect("udp length 7", f, n, DP_LINK_DROP, REASON(bad_udp));
	n = good_udp(f, 40000, 100);
	f[38] = 0, f[39] = 109; /* one past the IP packet */
	expect("udp length too long", f, n, DP_LINK_DROP, REASON(bad_udp));
	n = good_udp(f, 40000, 100);
	f[16] = 0, f[17] = 200; /* IP total length past the frame */
	fix_cksum(f);
	expect("ip length past frame", f, n, DP_LINK_DROP, REASON(short_frame));

	n = arp(f, RTE_ARP_OP_REQUEST, link_.server_be, link_.ip_be);
	expect("arp request for us", f, n, DP_LINK_ARP_REQUEST, 0);
	CHECK(dp_link_parse(&link_, f, n, &p, &d) == DP_LINK_ARP_REQUEST && p.sender_ip_be == link_.server_be &&
		      p.sender_mac.addr_bytes[5] == 0x42,
	      "arp request sender");
	n = arp(f, RTE_ARP_OP_REPLY, link_.server_be, link_.ip_be);
	expect("arp reply from the server", f, n, DP_LINK_ARP_REPLY, 0);
	n = arp(f, RTE_ARP_OP_REQUEST, link_.server_be, link_.server_be);
	expect("arp request for someone else", f, n, DP_LINK_DROP, REASON(arp_other));
	n = arp(f, RTE_ARP_OP_REPLY, link_.ip_be, link_.ip_be);
	expect("arp reply from someone else", f, n, DP_LINK_DROP, REASON(arp_other));
	n = arp(f, RTE_ARP_OP_REQUEST, link_.server_be, link_.ip_be);
	f[19] = 16; /* hardware address length */
	expect("arp with other lengths", f, n, DP_LINK_DROP, REASON(arp_other));
	n = arp(f, RTE_ARP_OP_REQUEST, link_.server_be, link_.ip_be);
	expect("arp cut short", f, n - 1, DP_LINK_DROP, REASON(short_frame));
}

/* Parse one frame of garbage; a taken frame's payload must lie inside it and
 * every drop be counted exactly once. Returns 1 if dropped. */
static int one(const uint8_t *f, size_t len, struct dp_link_drops *d)
{
	struct dp_link_parsed p;
	const uint64_t before = dp_link_drops_total(d);
	enum dp_link_kind k = dp_link_parse(&link_, f, len, &p, d);
	const uint64_t moved = dp_link_drops_total(d) - before;
	if (k == DP_LINK_DROP) {
		CHECK(moved == 1, "a dropped frame of %zu bytes counted %" PRIu64 " times", len, moved);
		return 1;
	}
	CHECK(moved == 0, "a taken frame counted as dropped");
	if (k == DP_LINK_UDP)
		CHECK(p.payload >= f + DP_LINK_HDRS_SIZE && p.payload + p.payload_len <= f + len,
		      "payload outside the frame");
	return 0;
}

static void random_frames(void)
{
	struct dp_link_drops d;
	memset(&d, 0, sizeof(d));
	uint64_t dropped = 0, taken = 0;
	/* Each frame in a buffer of exactly its size (malloc), so ASan sees any read past it. */
	for (unsigned i = 0; i < 200000; i++) {
		size_t len = rnd() % G_FRAME_MAX;
		uint8_t *f = malloc(len ? len : 1);
		for (size_t k = 0; k < len; k++)
			f[k] = (uint8_t)rnd();
		if (len >= 14 && (i & 1)) { /* half of them claim IPv4 or ARP, to get past the first test */
			f[12] = 0x08;
			f[13] = (i & 2) ? 0x00 : 0x06;
		}
		if (one(f, len, &d))
			dropped++;
		else
			taken++;
		free(f);
	}
	CHECK(dropped == 200000 && dp_link_drops_total(&d) == dropped,
	      "random frames: %" PRIu64 " dropped, %" PRIu64 " taken, %" PRIu64 " counted", dropped, taken,
	      dp_link_drops_total(&d));
	/* Mutations of good frames: some survive (a flipped payload byte), the rest are counted. */
	uint64_t m_dropped = 0, m_taken = 0;
	memset(&d, 0, sizeof(d));
	for (unsigned i = 0; i < 200000; i++) {
		uint8_t good[G_FRAME_MAX];
		size_t len = (i & 3) == 3 ? arp(good, (uint16_t)(1 + (i & 4) / 4), link_.server_be, link_.ip_be)
					  : good_udp(good, (uint16_t)(40000 + i % 6), rnd() % 200);
		for (unsigned flips = 1 + (unsigned)(rnd() % 3); flips; flips--)
			good[rnd() % len] ^= (uint8_t)(1u << (rnd() % 8));
		if (rnd() % 4 == 0)
			len = rnd() % (len + 1);
		uint8_t *f = malloc(len ? len : 1);
		memcpy(f, good, len);
		if (one(f, len, &d))
			m_dropped++;
		else
			m_taken++;
		free(f);
	}
	CHECK(m_dropped > 0 && m_taken > 0 && dp_link_drops_total(&d) == m_dropped,
	      "mutations: %" PRIu64 " dropped, %" PRIu64 " taken, %" PRIu64 " counted", m_dropped, m_taken,
	      dp_link_drops_total(&d));
	printf("dp_link garbage: random 200000 dropped %" PRIu64 "; mutations %" PRIu64 " dropped, %" PRIu64
	       " taken (short %" PRIu64 ", bad_ip %" PRIu64 ", not_server %" PRIu64 ", bad_udp %" PRIu64 ")\n",
	       dropped, m_dropped, m_taken, d.short_frame, d.bad_ip, d.not_server, d.bad_udp);
}

int main(void)
{
	link_.ip_be = rte_cpu_to_be_32(RTE_IPV4(10, 12, 0, 1));
	link_.server_be = rte_cpu_to_be_32(RTE_IPV4(10, 12, 0, 2));
	link_.server_port = 7300;
	link_.src_port_lo = 40000;
	link_.src_port_n = 4;
	known_cases();
	random_frames();
	printf("dp_link garbage: %s (%d failures)\n", failures ? "FAILED" : "ok", failures);
	return failures ? 1 : 0;
}
