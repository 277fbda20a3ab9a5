/*
 * dp_link.c - port set-up, ARP and UDP frame building of dp_link (see
 * dp_link.h), shared by stampede-memif-client and the load generator's dpdk
 * transport. The parser is in dp_link_parse.c.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "tools/dp_link.h"

#define DP_LINK_UP_WAIT_MS 5000
#define DP_LINK_PAYLOAD_MAX 1472

/* Configure, start and wait for port_id (dp_link.h). */
int dp_link_open(struct dp_link *l, uint16_t port_id, const char *ip, const char *server, uint16_t server_port,
		 const char *pool_name, unsigned mbufs_n, unsigned desc_n, unsigned queues, char *err, size_t errlen)
{
	memset(l, 0, sizeof(*l));
	l->port_id = port_id;
	l->server_port = server_port;
	l->src_port_lo = 40000;
	l->src_port_n = 1;
	l->hz = rte_get_tsc_hz();
	l->queues = (uint16_t)queues;
	if (queues < 1 || queues > DP_LINK_QUEUES_MAX) {
		snprintf(err, errlen, "queues %u: must be 1..%u", queues, DP_LINK_QUEUES_MAX);
		return -1;
	}
	if (inet_pton(AF_INET, ip, &l->ip_be) != 1 || inet_pton(AF_INET, server, &l->server_be) != 1) {
		snprintf(err, errlen, "not an IPv4 address: %s", inet_pton(AF_INET, ip, &l->ip_be) != 1 ? ip : server);
		return -1;
	}
	if (!rte_eth_dev_is_valid_port(port_id)) {
		snprintf(err, errlen, "no DPDK port %u (pass --vdev net_memif0,role=client,... or a NIC)", port_id);
		return -1;
	}
	l->pool = rte_pktmbuf_pool_create(pool_name, mbufs_n, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					  (int)rte_eth_dev_socket_id(port_id) < 0 ? (int)rte_socket_id()
										 : rte_eth_dev_socket_id(port_id));
	if (!l->pool) {
		snprintf(err, errlen, "mbuf pool %s of %u mbufs: %s", pool_name, mbufs_n, rte_strerror(rte_errno));
		return -1;
	}
	struct rte_eth_conf conf;
	memset(&conf, 0, sizeof(conf));
	const unsigned sock = (unsigned)rte_eth_dev_socket_id(port_id);
	int rc = rte_eth_dev_configure(port_id, (uint16_t)queues, (uint16_t)queues, &conf);
	for (uint16_t q = 0; rc == 0 && q < queues; q++)
		if ((rc = rte_eth_rx_queue_setup(port_id, q, (uint16_t)desc_n, sock, NULL, l->pool)) == 0)
			rc = rte_eth_tx_queue_setup(port_id, q, (uint16_t)desc_n, sock, NULL);
	if (rc == 0)
		rc = rte_eth_dev_start(port_id);
	if (rc != 0) {
		snprintf(err, errlen, "port %u set-up failed: %s", port_id, rte_strerror(rc < 0 ? -rc : rc));
		rte_mempool_free(l->pool);
		l->pool = NULL;
		return -1;
	}
	rte_eth_macaddr_get(port_id, &l->mac);
	struct rte_eth_link link;
	memset(&link, 0, sizeof(link));
	for (unsigned waited = 0; waited < DP_LINK_UP_WAIT_MS; waited += 50) {
		rte_eth_link_get_nowait(port_id, &link);
		if (link.link_status)
			break;
		rte_delay_ms(50);
	}
	if (!link.link_status) {
		snprintf(err, errlen, "port %u: link still down after %u ms", port_id, DP_LINK_UP_WAIT_MS);
		dp_link_close(l);
		return -1;
	}
	return 0;
}

/* Poll the RX queues in turn (dp_link.h). */
uint16_t dp_link_rx(struct dp_link *l, struct rte_mbuf **rx, uint16_t n)
{
	for (uint16_t i = 0; i < l->queues; i++) {
		const uint16_t q = l->rx_next;
		l->rx_next = (uint16_t)(q + 1 == l->queues ? 0 : q + 1);
		uint16_t got = rte_eth_rx_burst(l->port_id, q, rx, n);
		if (got)
			return got;
	}
	return 0;
}

/* Stop and close the port, free the pool (dp_link.h). */
void dp_link_close(struct dp_link *l)
{
	rte_eth_dev_stop(l->port_id);
	rte_eth_dev_close(l->port_id);
	rte_mempool_free(l->pool);
	l->pool = NULL;
}

/* Parse a MAC given as text (dp_link.h). */
int dp_link_set_server_mac(struct dp_link *l, const char *text)
{
	return rte_ether_unformat_addr(text, &l->server_mac) == 0 ? 0 : -1;
}

/* One ARP frame (request or reply) from us, or NULL. */
static struct rte_mbuf *arp_frame(const struct dp_link *l, uint16_t op, const struct rte_ether_addr *dst,
				  const struct rte_ether_addr *tha, uint32_t tip_be)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(l->pool);
	if (!m)
		return NULL;
	struct rte_ether_hdr *eth =
		(struct rte_ether_hdr *)rte_pktmbuf_append(m, sizeof(*eth) + sizeof(struct rte_arp_hdr));
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	rte_ether_addr_copy(dst, &eth->dst_addr);
	rte_ether_addr_copy(&l->mac, &eth->src_addr);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	arp->arp_hlen = RTE_ETHER_ADDR_LEN;
	arp->arp_plen = 4;
	arp->arp_opcode = rte_cpu_to_be_16(op);
	rte_ether_addr_copy(&l->mac, &arp->arp_data.arp_sha);
	arp->arp_data.arp_sip = l->ip_be;
	rte_ether_addr_copy(tha, &arp->arp_data.arp_tha);
	arp->arp_data.arp_tip = tip_be;
	return m;
}

/* The ARP reply to a parsed request (dp_link.h). */
struct rte_mbuf *dp_link_arp_reply(const struct dp_link *l, const struct dp_link_parsed *p)
{
	return arp_frame(l, RTE_ARP_OP_REPLY, &p->sender_mac, &p->sender_mac, p->sender_ip_be);
}

/* Send one frame, or free it if the ring will not take it. */
static void send_one(const struct dp_link *l, struct rte_mbuf *m)
{
	if (rte_eth_tx_burst(l->port_id, 0, &m, 1) != 1)
		rte_pktmbuf_free(m);
}

/* Resolve the server's MAC by ARP (dp_link.h). */
int dp_link_arp_resolve(struct dp_link *l, unsigned timeout_ms)
{
	static const struct rte_ether_addr bcast = {.addr_bytes = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
	static const struct rte_ether_addr zero;
	const uint64_t end = rte_rdtsc() + (uint64_t)timeout_ms * l->hz / 1000;
	struct dp_link_drops drops;
	memset(&drops, 0, sizeof(drops));
	while (rte_rdtsc() < end) {
		struct rte_mbuf *req = arp_frame(l, RTE_ARP_OP_REQUEST, &bcast, &zero, l->server_be);
		if (req)
			send_one(l, req);
		const uint64_t next = rte_rdtsc() + (uint64_t)DP_LINK_ARP_WAIT_MS * l->hz / 1000;
		while (rte_rdtsc() < next) {
			struct rte_mbuf *rx[32];
			uint16_t n = dp_link_rx(l, rx, 32);
			int found = 0;
			for (uint16_t i = 0; i < n; i++) {
				struct dp_link_parsed p;
				enum dp_link_kind k = dp_link_parse(l, rte_pktmbuf_mtod(rx[i], const uint8_t *),
								    rte_pktmbuf_data_len(rx[i]), &p, &drops);
				if (k == DP_LINK_ARP_REPLY && !found) {
					rte_ether_addr_copy(&p.sender_mac, &l->server_mac);
					found = 1;
				} else if (k == DP_LINK_ARP_REQUEST) {
					struct rte_mbuf *r = dp_link_arp_reply(l, &p);
					if (r)
						send_one(l, r);
				}
				rte_pktmbuf_free(rx[i]);
			}
			if (found)
				return 0;
		}
	}
	return -1;
}

/* A UDP frame to the server (dp_link.h). */
struct rte_mbuf *dp_link_udp_frame(const struct dp_link *l, uint16_t src_port, const uint8_t *buf, size_t len)
{
	if (len > DP_LINK_PAYLOAD_MAX)
		return NULL;
	struct rte_mbuf *m = rte_pktmbuf_alloc(l->pool);
	if (!m)
		return NULL;
	uint8_t *p = (uint8_t *)rte_pktmbuf_append(m, (uint16_t)(DP_LINK_HDRS_SIZE + len));
	struct rte_ether_hdr *eth = (struct rte_ether_hdr *)p;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	rte_ether_addr_copy(&l->server_mac, &eth->dst_addr);
	rte_ether_addr_copy(&l->mac, &eth->src_addr);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + sizeof(*udp) + len));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = l->ip_be;
	ip->dst_addr = l->server_be;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = rte_cpu_to_be_16(src_port);
	udp->dst_port = rte_cpu_to_be_16(l->server_port);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(sizeof(*udp) + len));
	memcpy(udp + 1, buf, len);
	udp->dgram_cksum = 0;
	udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
	return m;
}
