/*
 * dp_link_parse.c - the frame parser of dp_link (see dp_link.h): plain bytes
 * in, a classification out. Only DPDK's header definitions and inline
 * checksum are used, so it runs without the EAL (tests, libFuzzer).
 */
#include <string.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include "tools/dp_link.h"

/* Sum of every drop counter. */
uint64_t dp_link_drops_total(const struct dp_link_drops *d)
{
	return d->short_frame + d->not_ip_arp + d->arp_other + d->bad_ip + d->not_udp + d->not_server + d->bad_udp;
}

/* An ARP frame (after its Ethernet header, arp_len bytes): a request for our
 * address or a reply from the server, else dropped. */
static enum dp_link_kind parse_arp(const struct dp_link *l, const uint8_t *a, size_t arp_len,
				   struct dp_link_parsed *out, struct dp_link_drops *drops)
{
	struct rte_arp_hdr arp;
	if (arp_len < sizeof(arp)) {
		drops->short_frame++;
		return DP_LINK_DROP;
	}
	memcpy(&arp, a, sizeof(arp)); /* the frame may be unaligned */
	if (arp.arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
	    arp.arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) || arp.arp_hlen != RTE_ETHER_ADDR_LEN ||
	    arp.arp_plen != 4) {
		drops->arp_other++;
		return DP_LINK_DROP;
	}
	rte_ether_addr_copy(&arp.arp_data.arp_sha, &out->sender_mac);
	out->sender_ip_be = arp.arp_data.arp_sip;
	if (arp.arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) && arp.arp_data.arp_tip == l->ip_be)
		return DP_LINK_ARP_REQUEST;
	if (arp.arp_opcode == rte_cpu_to_be_16(RTE_ARP_OP_REPLY) && arp.arp_data.arp_sip == l->server_be)
		return DP_LINK_ARP_REPLY;
	drops->arp_other++;
	return DP_LINK_DROP;
}

/* Classify one frame (dp_link.h). IPv4 options are skipped; fragments,
 * bad header checksums and lengths that disagree are dropped. */
enum dp_link_kind dp_link_parse(const struct dp_link *l, const uint8_t *f, size_t len, struct dp_link_parsed *out,
				struct dp_link_drops *drops)
{
	struct rte_ether_hdr eth;
	memset(out, 0, sizeof(*out));
	if (len < sizeof(eth)) {
		drops->short_frame++;
		return DP_LINK_DROP;
	}
	memcpy(&eth, f, sizeof(eth));
	const uint8_t *l3 = f + sizeof(eth);
	const size_t l3_len = len - sizeof(eth);
	if (eth.ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP))
		return parse_arp(l, l3, l3_len, out, drops);
	if (eth.ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
		drops->not_ip_arp++;
		return DP_LINK_DROP;
	}
	struct rte_ipv4_hdr ip;
	if (l3_len < sizeof(ip)) {
		drops->short_frame++;
		return DP_LINK_DROP;
	}
	memcpy(&ip, l3, sizeof(ip));
	const size_t ihl = (size_t)(ip.version_ihl & 0xf) * 4;
	const size_t total = rte_be_to_cpu_16(ip.total_length);
	if ((ip.version_ihl >> 4) != 4 || ihl < sizeof(ip) || total < ihl) {
		drops->bad_ip++;
		return DP_LINK_DROP;
	}
	if (total > l3_len) { /* frames may carry padding after total, never less */
		drops->short_frame++;
		return DP_LINK_DROP;
	}
	/* The checksum over the whole header (options included) sums to 0xffff. */
	if (rte_raw_cksum(l3, ihl) != 0xffff ||
	    (rte_be_to_cpu_16(ip.fragment_offset) & (RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) != 0) {
		drops->bad_ip++;
		return DP_LINK_DROP;
	}
	if (ip.next_proto_id != IPPROTO_UDP) {
		drops->not_udp++;
		return DP_LINK_DROP;
	}
	struct rte_udp_hdr udp;
	if (total - ihl < sizeof(udp)) {
		drops->bad_udp++;
		return DP_LINK_DROP;
	}
	memcpy(&udp, l3 + ihl, sizeof(udp));
	const uint16_t dst_port = rte_be_to_cpu_16(udp.dst_port);
	if (ip.src_addr != l->server_be || ip.dst_addr != l->ip_be || rte_be_to_cpu_16(udp.src_port) != l->server_port ||
	    dst_port < l->src_port_lo || (uint32_t)dst_port >= (uint32_t)l->src_port_lo + l->src_port_n) {
		drops->not_server++;
		return DP_LINK_DROP;
	}
	const size_t ulen = rte_be_to_cpu_16(udp.dgram_len);
	if (ulen < sizeof(udp) || ulen > total - ihl) {
		drops->bad_udp++;
		return DP_LINK_DROP;
	}
	out->payload = l3 + ihl + sizeof(udp);
	out->payload_len = (uint16_t)(ulen - sizeof(udp));
	out->dst_port = dst_port;
	return DP_LINK_UDP;
}
