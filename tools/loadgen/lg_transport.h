/*
 * lg_transport.h - how stampede-loadgen moves datagrams (the contract between
 * the buyer simulation and its two transports).
 *
 * A transport carries whole UDP payloads (protocol messages, docs/protocol.md)
 * between the load generator and one dataplane address. Two exist:
 *   - sockets (lg_socket.c): ordinary UDP sockets, for a dataplane on net_tap
 *     in a network namespace, or anything reachable by IP;
 *   - dpdk (lg_dpdk.c): a DPDK port (net_memif against a dataplane on the same
 *     host, or a real NIC between two hosts), so the generator can outrun the
 *     appliance. It builds Ethernet/IPv4/UDP itself and answers ARP.
 *
 * Rules for both:
 *   - send and recv never block and never allocate after open;
 *   - a datagram the transport cannot take now is not taken (send returns
 *     fewer): the caller keeps it and tries again, it is never dropped
 *     silently;
 *   - recv hands back only datagrams from the server's address and port;
 *   - one thread uses a transport (no locking inside).
 */
#ifndef LG_TRANSPORT_H
#define LG_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#define LG_DGRAM_MAX 1472 /* UDP payload bytes in one 1500-byte frame */
#define LG_BURST_MAX 64   /* datagrams one send or recv call handles at most */

struct lg_dgram {
	uint16_t len; /* payload bytes, 1..LG_DGRAM_MAX */
	uint8_t data[LG_DGRAM_MAX];
};

struct lg_transport_stats {
	uint64_t sent;      /* datagrams taken by send */
	uint64_t received;  /* datagrams handed out by recv */
	uint64_t send_full; /* send calls that took fewer than asked */
	uint64_t dropped;   /* frames received and thrown away: not from the server, not UDP, bad length */
};

struct lg_transport {
	const char *name; /* "sockets" or "dpdk" */
	/* Take up to n (1..LG_BURST_MAX) datagrams d[0..n-1] for sending, in
	 * order; return how many were taken (0..n). */
	unsigned (*send)(struct lg_transport *t, const struct lg_dgram *d, unsigned n);
	/* Fill up to max (1..LG_BURST_MAX) of d[] with received datagrams;
	 * return how many. */
	unsigned (*recv)(struct lg_transport *t, struct lg_dgram *d, unsigned max);
	/* Wait at most timeout_us for a datagram to arrive (sockets: poll;
	 * dpdk: returns at once, the caller busy-polls). */
	void (*wait)(struct lg_transport *t, unsigned timeout_us);
	/* Release everything; t is invalid after. */
	void (*close)(struct lg_transport *t);
	struct lg_transport_stats stats;
};

/*
 * Open the sockets transport towards server (dotted IPv4) and port, with
 * sockets_n (1..64) UDP sockets on ephemeral ports used round robin (several
 * source ports spread the dataplane's RSS). On failure returns NULL and
 * writes a one-line reason to err (errlen bytes).
 */
struct lg_transport *lg_socket_open(const char *server, uint16_t port, unsigned sockets_n, char *err,
				    size_t errlen);

/* Options of the dpdk transport (the EAL is initialised by the caller). */
struct lg_dpdk_opts {
	uint16_t port_id;        /* DPDK port, usually 0 (the --vdev) */
	const char *ip;          /* our IPv4 address, e.g. "10.12.0.1" */
	const char *server;      /* the dataplane's IPv4 address, e.g. "10.12.0.2" */
	uint16_t server_port;    /* UDP port, 7300 */
	const char *server_mac;  /* "XX:XX:XX:XX:XX:XX" to skip ARP, or NULL to resolve it */
	unsigned src_ports_n;    /* UDP source ports used round robin, 1..64 */
	unsigned queues_n;       /* RX/TX queue pairs, 1..16 (0: 1): over net_memif, one per dataplane worker,
				  * each of which answers on its own queue; sends go on queue 0 */
};

/*
 * Configure and start DPDK port o->port_id, resolve the server's MAC by ARP
 * (up to 5 s) unless given, and return the transport. After rte_eal_init
 * only. On failure returns NULL and writes a one-line reason to err.
 */
struct lg_transport *lg_dpdk_open(const struct lg_dpdk_opts *o, char *err, size_t errlen);

#endif
