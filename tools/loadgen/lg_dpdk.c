/*
 * lg_dpdk.c - stampede-loadgen's dpdk transport (lg_transport.h): whole UDP
 * payloads over one DPDK port (net_memif against a dataplane on this host, or
 * a NIC), framed and parsed by tools/dp_link. ARP requests for our address are
 * answered as they arrive; source ports rotate per datagram over
 * src_ports_n ports from LG_DPDK_SRC_PORT_LO so the dataplane's RSS spreads
 * them.
 *
 * After open nothing here allocates (mbufs come from the pool made at open)
 * or blocks; one thread uses a transport.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "tools/dp_link.h"
#include "tools/loadgen/lg_transport.h"

#define LG_DPDK_SRC_PORT_LO 40000
#define LG_DPDK_SRC_PORTS_MAX 64
#define LG_DPDK_MBUFS 8191 /* RX and TX rings (1024 each) and bursts in flight, with room to spare */
#define LG_DPDK_DESC 1024
#define LG_DPDK_ARP_TIMEOUT_MS 5000

struct lg_dpdk {
	struct lg_transport t; /* first: the transport handed out is this struct */
	struct dp_link link;
	struct dp_link_drops drops;
	uint64_t oversize; /* UDP from the server that is empty or longer than LG_DGRAM_MAX */
	unsigned next_src; /* round-robin index into the source ports */
};

/* The lg_dpdk behind a transport. */
static struct lg_dpdk *lg_dpdk_of(struct lg_transport *t)
{
	return (struct lg_dpdk *)t;
}

/* Take up to n datagrams (lg_transport.h): frames built from the pool, the
 * ones the TX ring did not take freed again and left to the caller. */
static unsigned lg_dpdk_send(struct lg_transport *t, const struct lg_dgram *d, unsigned n)
{
	struct lg_dpdk *x = lg_dpdk_of(t);
	struct rte_mbuf *m[LG_BURST_MAX];
	assert(n >= 1 && n <= LG_BURST_MAX);
	unsigned built = 0;
	for (; built < n; built++) {
		assert(d[built].len >= 1 && d[built].len <= LG_DGRAM_MAX);
		uint16_t src = (uint16_t)(x->link.src_port_lo + (x->next_src + built) % x->link.src_port_n);
		m[built] = dp_link_udp_frame(&x->link, src, d[built].data, d[built].len);
		if (!m[built])
			break; /* pool empty: the rest waits */
	}
	unsigned sent = built ? rte_eth_tx_burst(x->link.port_id, 0, m, (uint16_t)built) : 0;
	for (unsigned i = sent; i < built; i++)
		rte_pktmbuf_free(m[i]);
	x->next_src = (x->next_src + sent) % x->link.src_port_n;
	t->stats.sent += sent;
	if (sent < n)
		t->stats.send_full++;
	return sent;
}

/* Fill up to max datagrams from one RX burst (lg_transport.h). ARP requests
 * for us are answered (a reply the TX ring does not take is dropped: the
 * asker asks again); a reply from the server updates its MAC; everything
 * else that is not UDP from the server is counted in stats.dropped. */
static unsigned lg_dpdk_recv(struct lg_transport *t, struct lg_dgram *d, unsigned max)
{
	struct lg_dpdk *x = lg_dpdk_of(t);
	struct rte_mbuf *rx[LG_BURST_MAX];
	assert(max >= 1 && max <= LG_BURST_MAX);
	uint16_t n = dp_link_rx(&x->link, rx, (uint16_t)max);
	unsigned got = 0;
	for (uint16_t i = 0; i < n; i++) {
		struct dp_link_parsed p;
		enum dp_link_kind k = dp_link_parse(&x->link, rte_pktmbuf_mtod(rx[i], const uint8_t *),
						    rte_pktmbuf_data_len(rx[i]), &p, &x->drops);
		if (k == DP_LINK_UDP) {
			if (p.payload_len >= 1 && p.payload_len <= LG_DGRAM_MAX) {
				d[got].len = p.payload_len;
				memcpy(d[got].data, p.payload, p.payload_len);
				got++;
			} else {
				x->oversize++;
			}
		} else if (k == DP_LINK_ARP_REQUEST) {
			struct rte_mbuf *r = dp_link_arp_reply(&x->link, &p);
			if (r && rte_eth_tx_burst(x->link.port_id, 0, &r, 1) != 1)
				rte_pktmbuf_free(r);
		} else if (k == DP_LINK_ARP_REPLY) {
			rte_ether_addr_copy(&p.sender_mac, &x->link.server_mac);
		}
		rte_pktmbuf_free(rx[i]);
	}
	t->stats.received += got;
	t->stats.dropped = dp_link_drops_total(&x->drops) + x->oversize;
	return got;
}

/* The caller busy-polls a DPDK port: nothing to wait for here. */
static void lg_dpdk_wait(struct lg_transport *t, unsigned timeout_us)
{
	(void)t;
	(void)timeout_us;
}

/* Stop the port, free its pool and the transport. */
static void lg_dpdk_close(struct lg_transport *t)
{
	struct lg_dpdk *x = lg_dpdk_of(t);
	dp_link_close(&x->link);
	free(x);
}

/* Open the dpdk transport (lg_transport.h). */
struct lg_transport *lg_dpdk_open(const struct lg_dpdk_opts *o, char *err, size_t errlen)
{
	if (!o || !o->ip || !o->server) {
		snprintf(err, errlen, "dpdk transport: our address and the server's are needed");
		return NULL;
	}
	if (o->src_ports_n < 1 || o->src_ports_n > LG_DPDK_SRC_PORTS_MAX) {
		snprintf(err, errlen, "dpdk transport: source ports %u, must be 1..%u", o->src_ports_n,
			 LG_DPDK_SRC_PORTS_MAX);
		return NULL;
	}
	if (o->server_port == 0) {
		snprintf(err, errlen, "dpdk transport: server port 0");
		return NULL;
	}
	struct lg_dpdk *x = calloc(1, sizeof(*x));
	if (!x) {
		snprintf(err, errlen, "dpdk transport: out of memory");
		return NULL;
	}
	char pool[RTE_MEMPOOL_NAMESIZE];
	snprintf(pool, sizeof(pool), "lg_dpdk_%u", o->port_id);
	char why[200];
	if (dp_link_open(&x->link, o->port_id, o->ip, o->server, o->server_port, pool, LG_DPDK_MBUFS, LG_DPDK_DESC, o->queues_n ? o->queues_n : 1,
			 why, sizeof(why)) != 0) {
		snprintf(err, errlen, "dpdk transport: %s", why);
		free(x);
		return NULL;
	}
	x->link.src_port_lo = LG_DPDK_SRC_PORT_LO;
	x->link.src_port_n = (uint16_t)o->src_ports_n;
	if (o->server_mac) {
		if (dp_link_set_server_mac(&x->link, o->server_mac) != 0) {
			snprintf(err, errlen, "dpdk transport: not a MAC address: %s", o->server_mac);
			dp_link_close(&x->link);
			free(x);
			return NULL;
		}
	} else if (dp_link_arp_resolve(&x->link, LG_DPDK_ARP_TIMEOUT_MS) != 0) {
		snprintf(err, errlen, "dpdk transport: no ARP answer from %s within %u ms", o->server,
			 LG_DPDK_ARP_TIMEOUT_MS);
		dp_link_close(&x->link);
		free(x);
		return NULL;
	}
	x->t.name = "dpdk";
	x->t.send = lg_dpdk_send;
	x->t.recv = lg_dpdk_recv;
	x->t.wait = lg_dpdk_wait;
	x->t.close = lg_dpdk_close;
	return &x->t;
}
