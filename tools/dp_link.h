/*
 * dp_link.h - the Ethernet/ARP/IPv4/UDP link of Stampede's DPDK clients
 * (stampede-memif-client and the load generator's dpdk transport): bring up
 * one port with one RX/TX queue pair, resolve the server's MAC by ARP, answer
 * ARP for our own address, build UDP frames to the server and take frames
 * from it apart.
 *
 * The frame parser (dp_link_parse, in dp_link_parse.c) works on plain bytes
 * and needs no EAL, so tests and the libFuzzer target call it directly.
 */
#ifndef STAMPEDE_DP_LINK_H
#define STAMPEDE_DP_LINK_H

#include <stddef.h>
#include <stdint.h>

#include <rte_ether.h>

struct rte_mbuf;
struct rte_mempool;

#define DP_LINK_HDRS_SIZE 42 /* Ethernet 14 + IPv4 20 + UDP 8 */
#define DP_LINK_ARP_WAIT_MS 100 /* between ARP requests while resolving */
#define DP_LINK_QUEUES_MAX 16   /* RX/TX queue pairs of one port */

/* One side of the link. Addresses in network byte order, ports in host order. */
struct dp_link {
	uint16_t port_id;
	struct rte_mempool *pool;
	struct rte_ether_addr mac;        /* ours (the port's) */
	struct rte_ether_addr server_mac; /* learnt by ARP or given */
	uint32_t ip_be, server_be;
	uint16_t server_port;
	uint16_t src_port_lo, src_port_n; /* our UDP ports: src_port_lo .. src_port_lo + src_port_n - 1 */
	uint64_t hz;                      /* TSC ticks per second */
	uint16_t queues;                  /* RX/TX queue pairs; frames are sent on queue 0 */
	uint16_t rx_next;                 /* the RX queue dp_link_rx polls first */
};

/* What a received frame is. */
enum dp_link_kind {
	DP_LINK_DROP = 0,    /* not for us: counted in struct dp_link_drops */
	DP_LINK_UDP,         /* a UDP datagram from the server to one of our ports */
	DP_LINK_ARP_REQUEST, /* someone asks who has our address: answer it */
	DP_LINK_ARP_REPLY,   /* the server's address is at sender_mac */
};

/* Why frames were dropped, one counter per reason. */
struct dp_link_drops {
	uint64_t short_frame;  /* shorter than its headers say */
	uint64_t not_ip_arp;   /* neither IPv4 nor ARP (EtherType) */
	uint64_t arp_other;    /* ARP not about us or the server, or not Ethernet/IPv4 */
	uint64_t bad_ip;       /* IPv4 version, header length, total length or checksum wrong; fragments */
	uint64_t not_udp;      /* IPv4 but not UDP */
	uint64_t not_server;   /* UDP, but not from the server's address and port to ours */
	uint64_t bad_udp;      /* UDP length wrong */
};

/* A parsed frame: for DP_LINK_UDP the payload (pointing into the frame) and
 * our port it was sent to; for ARP the sender. */
struct dp_link_parsed {
	const uint8_t *payload;
	uint16_t payload_len;
	uint16_t dst_port;
	struct rte_ether_addr sender_mac;
	uint32_t sender_ip_be;
};

/*
 * Configure and start port_id with `queues` (1..DP_LINK_QUEUES_MAX) RX and
 * TX queues of desc_n descriptors each and a pool of mbufs_n mbufs named
 * pool_name, then wait up to 5 s for the link (memif needs a moment to
 * connect). A memif client needs as many queues as the server has workers,
 * or the replies a worker sends on its own queue never arrive. ip and server
 * are dotted IPv4. Returns 0, or -1 with a one-line reason in err.
 */
int dp_link_open(struct dp_link *l, uint16_t port_id, const char *ip, const char *server, uint16_t server_port,
		 const char *pool_name, unsigned mbufs_n, unsigned desc_n, unsigned queues, char *err, size_t errlen);

/* Up to n received frames from the first RX queue that has any, starting
 * at a different queue each call. */
uint16_t dp_link_rx(struct dp_link *l, struct rte_mbuf **rx, uint16_t n);

/* Stop and close the port and free the pool. */
void dp_link_close(struct dp_link *l);

/* Take the server's MAC from text ("02:00:00:00:00:01"). Returns 0 or -1. */
int dp_link_set_server_mac(struct dp_link *l, const char *text);

/*
 * Resolve the server's MAC: an ARP request every DP_LINK_ARP_WAIT_MS until a
 * reply comes or timeout_ms pass. Frames that are not the reply are freed
 * (ARP requests for us are answered). Returns 0 or -1.
 */
int dp_link_arp_resolve(struct dp_link *l, unsigned timeout_ms);

/* A frame to the server from UDP port src_port carrying len (<= 1472) bytes
 * of buf, or NULL when the pool is empty. */
struct rte_mbuf *dp_link_udp_frame(const struct dp_link *l, uint16_t src_port, const uint8_t *buf, size_t len);

/* The ARP reply to a request p parsed as DP_LINK_ARP_REQUEST, or NULL when
 * the pool is empty. */
struct rte_mbuf *dp_link_arp_reply(const struct dp_link *l, const struct dp_link_parsed *p);

/*
 * Classify the len bytes of frame f arriving at l: UDP from the server's
 * address and port to one of our ports (payload in *out), ARP for us or from
 * the server, or dropped (the reason counted in *drops). Never reads outside
 * f[0..len-1]; no EAL needed.
 */
enum dp_link_kind dp_link_parse(const struct dp_link *l, const uint8_t *f, size_t len, struct dp_link_parsed *out,
				struct dp_link_drops *drops);

/* Sum of every drop counter. */
uint64_t dp_link_drops_total(const struct dp_link_drops *d);

#endif
