/*
 * dpa_net.c - the little networking the dataplane does itself: answer ARP
 * and ICMP echo for its own address so ordinary tools can reach it, find the
 * UDP payload of requests to its port, and write the headers of replies.
 * Every function checks lengths against the mbuf before reading a header.
 */
#include <string.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_icmp.h>

#include "dataplane/app/dpa.h"

/* The first `need` bytes of the packet, or NULL (only single-segment
 * frames are handled: requests fit one datagram). */
static void *frame(struct rte_mbuf *m, uint32_t need)
{
	if (rte_pktmbuf_data_len(m) < need || m->nb_segs != 1)
		return NULL;
	return rte_pktmbuf_mtod(m, void *);
}

int dpa_net_arp(const struct dpa_app *app, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth = frame(m, sizeof(*eth) + sizeof(struct rte_arp_hdr));
	if (!eth || eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP))
		return 0;
	struct rte_arp_hdr *arp = (struct rte_arp_hdr *)(eth + 1);
	if (arp->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
	    arp->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) || arp->arp_hlen != RTE_ETHER_ADDR_LEN ||
	    arp->arp_plen != 4 || arp->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) ||
	    arp->arp_data.arp_tip != app->set.ip_be)
		return 0;
	arp->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
	rte_ether_addr_copy(&arp->arp_data.arp_sha, &arp->arp_data.arp_tha);
	arp->arp_data.arp_tip = arp->arp_data.arp_sip;
	rte_ether_addr_copy(&app->mac, &arp->arp_data.arp_sha);
	arp->arp_data.arp_sip = app->set.ip_be;
	rte_ether_addr_copy(&eth->src_addr, &eth->dst_addr);
	rte_ether_addr_copy(&app->mac, &eth->src_addr);
	return 1;
}

/* The IPv4 header of a frame addressed to us, or NULL. */
static struct rte_ipv4_hdr *ipv4_to_us(const struct dpa_app *app, struct rte_mbuf *m, uint32_t *ihl_out)
{
	struct rte_ether_hdr *eth = frame(m, sizeof(*eth) + sizeof(struct rte_ipv4_hdr));
	if (!eth || eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4))
		return NULL;
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	uint32_t ihl = (uint32_t)(ip->version_ihl & 0x0f) * 4;
	uint32_t total = rte_be_to_cpu_16(ip->total_length);
	if ((ip->version_ihl >> 4) != 4 || ihl < sizeof(*ip) || total < ihl ||
	    sizeof(*eth) + total > rte_pktmbuf_data_len(m) || ip->dst_addr != app->set.ip_be)
		return NULL;
	/* Fragments are not reassembled: requests fit one datagram. */
	if (ip->fragment_offset & rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK))
		return NULL;
	*ihl_out = ihl;
	return ip;
}

int dpa_net_icmp(const struct dpa_app *app, struct rte_mbuf *m)
{
	uint32_t ihl;
	struct rte_ipv4_hdr *ip = ipv4_to_us(app, m, &ihl);
	if (!ip || ip->next_proto_id != IPPROTO_ICMP)
		return 0;
	uint32_t icmp_len = rte_be_to_cpu_16(ip->total_length) - ihl;
	if (icmp_len < sizeof(struct rte_icmp_hdr))
		return 0;
	struct rte_icmp_hdr *icmp = (struct rte_icmp_hdr *)((uint8_t *)ip + ihl);
	if (icmp->icmp_type != RTE_IP_ICMP_ECHO_REQUEST || icmp->icmp_code != 0)
		return 0;
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	rte_ether_addr_copy(&eth->src_addr, &eth->dst_addr);
	rte_ether_addr_copy(&app->mac, &eth->src_addr);
	ip->dst_addr = ip->src_addr;
	ip->src_addr = app->set.ip_be;
	ip->time_to_live = 64;
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	icmp->icmp_cksum = 0;
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, icmp_len);
	/* Trim any Ethernet padding beyond the IP datagram. */
	rte_pktmbuf_data_len(m) = (uint16_t)(sizeof(*eth) + rte_be_to_cpu_16(ip->total_length));
	rte_pktmbuf_pkt_len(m) = rte_pktmbuf_data_len(m);
	return 1;
}

uint8_t *dpa_net_udp_payload(const struct dpa_app *app, struct rte_mbuf *m, uint16_t *len, struct dpa_peer *peer)
{
	uint32_t ihl;
	struct rte_ipv4_hdr *ip = ipv4_to_us(app, m, &ihl);
	if (!ip || ip->next_proto_id != IPPROTO_UDP)
		return NULL;
	uint32_t ip_len = rte_be_to_cpu_16(ip->total_length);
	if (ip_len < ihl + sizeof(struct rte_udp_hdr))
		return NULL;
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)((uint8_t *)ip + ihl);
	uint32_t udp_len = rte_be_to_cpu_16(udp->dgram_len);
	if (udp->dst_port != rte_cpu_to_be_16(app->set.udp_port) || udp_len < sizeof(*udp) ||
	    udp_len > ip_len - ihl)
		return NULL;
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	rte_ether_addr_copy(&eth->src_addr, &peer->mac);
	peer->ip_be = ip->src_addr;
	peer->port_be = udp->src_port;
	*len = (uint16_t)(udp_len - sizeof(*udp));
	return (uint8_t *)(udp + 1);
}

void dpa_net_finish_reply(const struct dpa_app *app, struct rte_mbuf *m, const struct dpa_peer *peer,
			  uint16_t payload_len)
{
	assert(payload_len <= PROTO_DGRAM_MAX);
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_ipv4_hdr *ip = (struct rte_ipv4_hdr *)(eth + 1);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);
	rte_ether_addr_copy(&peer->mac, &eth->dst_addr);
	rte_ether_addr_copy(&app->mac, &eth->src_addr);
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + sizeof(*udp) + payload_len));
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->src_addr = app->set.ip_be;
	ip->dst_addr = peer->ip_be;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->src_port = rte_cpu_to_be_16(app->set.udp_port);
	udp->dst_port = peer->port_be;
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(sizeof(*udp) + payload_len));
	udp->dgram_cksum = 0;
	udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
	rte_pktmbuf_data_len(m) = (uint16_t)(DPA_HDRS_LEN + payload_len);
	rte_pktmbuf_pkt_len(m) = rte_pktmbuf_data_len(m);
}
