/*
 * dpa.h - stampede-dataplane, the DPDK application around the reservation
 * core: settings, per-lcore context, packet handling, telemetry.
 *
 * Threads: the main lcore initialises, then supervises (signals, stats); each
 * worker lcore runs dpa_lcore_main: RX burst -> requests -> replies, handoffs
 * from other workers, the engine tick, replies released as storage makes
 * them durable, TX burst. Nothing on a worker lcore mallocs, locks, logs or
 * makes a syscall once the loop runs.
 */
#ifndef STAMPEDE_DPA_H
#define STAMPEDE_DPA_H

#include <assert.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>

#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_lcore.h>
#include <rte_ring.h>

#include <jansson.h>

#include "dataplane/dp_engine.h"
#include "dataplane/dp_proto.h"
#include "storage/st.h"

struct dpa_control;

/* ---- named limits ---- */
#define DPA_PKT_BURST_MAX 32       /* packets per RX/TX burst */
#define DPA_HANDOFF_BURST_MAX 32   /* handoffs taken per loop turn */
#define DPA_PENDING_MAX 16384      /* replies waiting for durability, per worker */
#define DPA_TX_BUF_MAX 1024        /* replies queued for the next TX burst */
#define DPA_MBUF_CACHE 256
#define DPA_PATH_MAX 512
#define DPA_WRITER_NICE (-10)     /* storage writer thread priority */
#define DPA_CTL_RING_SIZE 8192    /* per-worker control ring and completion ring (power of 2) */
#define DPA_CTL_BURST_MAX 64      /* control items a worker takes per loop turn */
#define DPA_CTL_CLIENTS_MAX 16    /* control socket connections at once */

/* ---- settings (dpa_settings.c: table with bounds and defaults) ---- */
struct dpa_settings {
	uint32_t ip_be;            /* our IPv4 address, network order */
	uint16_t udp_port;         /* buyer requests */
	uint16_t eth_port;         /* DPDK port id */
	char data_dir[DPA_PATH_MAX];
	char inventory[DPA_PATH_MAX]; /* loaded at start if set */
	bool nosync;               /* benchmark only */
	uint32_t rx_desc;
	uint32_t tx_desc;
	uint32_t backlog_max;      /* pending replies + handoffs before answering busy */
	uint32_t handoff_ring;     /* per-worker handoff ring size (power of 2) */
	uint32_t mbufs;            /* mbuf pool size (0: derived) */
	uint32_t holds_max;
	uint32_t orders_max;
	uint32_t idem_max;
	uint32_t idem_horizon_ms;
	uint32_t buyers_max;
	uint32_t busy_retry_ms;
	uint32_t drain_timeout_ms; /* shutdown: wait this long for replies to become durable */
	char control_socket[DPA_PATH_MAX]; /* Unix socket of the control thread; "none": off */
	uint32_t expire_scan;      /* hold slots the engine sweeps per loop turn (0: off) */
	char keys_file[DPA_PATH_MAX]; /* waiting-room keys; "none": no keys */
#define DPA_KEYS_FILE_DEFAULT "/etc/stampede/keys"
};

/* Fill defaults, then apply `--config FILE` and flags from argv (the part
 * after EAL's). Prints the problem and returns -1 on a bad value; returns 1
 * after printing --help. */
int dpa_settings_parse(struct dpa_settings *s, int argc, char **argv);
void dpa_settings_usage(FILE *out);

/* ---- per-worker counters (single writer; read by telemetry) ---- */
struct dpa_counters {
	uint64_t rx_pkts, tx_pkts, tx_dropped;
	uint64_t arp_replies, icmp_replies;
	uint64_t not_ours;        /* not for our IP/port, or not IPv4/ARP */
	uint64_t not_stampede;    /* UDP to our port but not the protocol */
	uint64_t malformed;       /* Stampede header readable, message bad */
	uint64_t requests;        /* messages handled */
	uint64_t handoffs_out, handoffs_in, handoff_full;
	uint64_t busy_backlog;    /* answered busy because the backlog passed its bound */
	uint64_t mbuf_alloc_failed;
	uint64_t pending_max_seen;
	uint64_t status[DP_S__COUNT];
	uint64_t loops;
	/* Reply latency, RX burst to TX burst (durability wait included), log2
	 * microsecond buckets as struct st_hist; one observation per request. */
	uint64_t latency_us[ST_HIST_BUCKETS];
	uint64_t latency_sum_us;
	uint64_t ctl_items;       /* operator expire/release items carried out */
};

/* One operator expire/release, control thread -> worker and back. */
struct dpa_ctl_item {
	uint64_t hold_id;
	uint64_t wait_seq; /* back: answer once dp_worker_durable() >= this */
	uint32_t cookie;   /* the control thread's index of the hold in its request */
	uint8_t expire;    /* 1: expire, 0: release */
	uint8_t result;    /* back: enum dp_end_result */
	uint16_t _pad;
};

/* Where a reply goes. */
struct dpa_peer {
	struct rte_ether_addr mac;
	uint32_t ip_be;
	uint16_t port_be;
};

/* A request handed to the worker that owns it. */
struct dpa_handoff {
	struct dp_request rq;
	struct dpa_peer peer;
	uint64_t rx_tsc; /* the RX burst that took it, for the latency histogram */
	uint8_t opcode;
	uint8_t _pad[3];
};

/* What a reply datagram carries for the latency histogram. */
struct dpa_tx_meta {
	uint64_t rx_tsc; /* RX burst of its requests */
	uint32_t n_msgs; /* requests answered in it (0: not a reply, e.g. ARP) */
};

struct dpa_pending {
	struct rte_mbuf *m;
	uint64_t wait_seq;
	struct dpa_tx_meta meta;
};

struct dpa_app;

struct dpa_lcore {
	struct dpa_app *app;
	unsigned idx;       /* worker index == engine worker == queue id */
	unsigned lcore_id;
	struct dp_worker *w;
	struct rte_ring *inbox; /* MP/SC ring of struct dpa_handoff */
	struct dpa_pending *pend; /* FIFO, DPA_PENDING_MAX */
	uint32_t pend_head, pend_n;
	struct rte_mbuf *tx[DPA_TX_BUF_MAX];
	struct dpa_tx_meta tx_meta[DPA_TX_BUF_MAX];
	uint32_t n_tx;
	uint64_t turn_tsc;           /* this loop turn's RX burst */
	struct rte_ring *ctl_in;     /* SP/SC: control thread -> this worker, struct dpa_ctl_item */
	struct rte_ring *ctl_out;    /* SP/SC: this worker -> control thread, results */
	struct dpa_counters c;
} __rte_cache_aligned;

struct dpa_app {
	struct dpa_settings set;
	struct rte_ether_addr mac;
	struct rte_mempool *pool;
	struct st_env *env;
	struct dp_engine *eng;
	unsigned workers;
	unsigned rx_queues;   /* workers 0..rx_queues-1 poll a queue; all take handoffs */
	struct dpa_lcore *lc; /* workers entries */
	uint64_t tsc_hz;
	uint64_t base_tsc;
	uint64_t base_ms;
	atomic_int quit;      /* 1: stop taking requests and drain */
	atomic_int running;   /* workers still in their loop */
	struct dpa_control *ctl; /* NULL when control-socket is "none" */
};

/* dpa_lcore.c */
int dpa_lcore_main(void *arg);
static inline uint64_t dpa_now_ms(const struct dpa_app *app, uint64_t tsc)
{
	return app->base_ms + (tsc - app->base_tsc) * 1000ull / app->tsc_hz;
}

/* dpa_net.c: frame handling that needs no engine. */
/* If m is an ARP request for us, rewrite it into the reply and return 1. */
int dpa_net_arp(const struct dpa_app *app, struct rte_mbuf *m);
/* If m is an ICMP echo request to us, rewrite it into the reply and return 1. */
int dpa_net_icmp(const struct dpa_app *app, struct rte_mbuf *m);
/* If m is UDP to our address and port: return the payload and its length
 * and fill the peer; else NULL. */
uint8_t *dpa_net_udp_payload(const struct dpa_app *app, struct rte_mbuf *m, uint16_t *len, struct dpa_peer *peer);
/* Write Ethernet/IPv4/UDP headers for a reply of payload_len bytes to peer
 * into m (which already holds the payload at the UDP payload offset), set
 * lengths and checksums. */
void dpa_net_finish_reply(const struct dpa_app *app, struct rte_mbuf *m, const struct dpa_peer *peer,
			  uint16_t payload_len);
#define DPA_HDRS_LEN (sizeof(struct rte_ether_hdr) + sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_udp_hdr))

#ifdef _GNU_SOURCE /* cpu_set_t */
/* dpa_main.c: the CPUs no worker lcore polls (all CPUs if none is spare). */
void dpa_spare_cpus(cpu_set_t *out);
#endif

/* dpa_control.c: the control thread (docs/control.md, "Dataplane socket").
 * Start after the workers' rings exist: listens on set.control_socket
 * (nothing when "none") and serves it on its own thread, on spare CPUs.
 * Returns 0, or a negative errno from ctl_wire_listen / pthread_create (the
 * socket is not left behind). */
int dpa_control_start(struct dpa_app *app);
/* Stop the control thread, close every connection and remove the socket
 * file. NULL app->ctl is accepted. */
void dpa_control_stop(struct dpa_app *app);

/* dpa_control_json.c: reply bodies built from engine and counter reads
 * (control thread, QSBR online). NULL on ENOMEM. */
json_t *dpa_json_hello(const struct dpa_app *app);
json_t *dpa_json_events(struct dpa_app *app, uint64_t now_ms);
/* event_id 0: every event; -ENOENT in *err when that event is unknown. */
json_t *dpa_json_status(struct dpa_app *app, uint32_t event_id, uint64_t now_ms, int *err);
/* A histogram object {"le": [...null], "counts": [...], sum_key: sum, "count": n}. */
json_t *dpa_json_hist(const uint64_t *counts, uint64_t sum, const char *sum_key);
uint64_t dpa_wall_ms(void);

/* dpa_control.c: (re)load set.keys_file into the engine (control path,
 * QSBR-registered). "none" publishes no keys. Returns 0, or a dp_keys_load
 * error with its message in err (nothing changes). *count_out and
 * *current_out (may be NULL) get the key count and current id (-1: none). */
int dpa_keys_load(struct dpa_app *app, char *err, size_t err_len, unsigned *count_out, int *current_out);

struct ctl_event;
struct dp_presale_def;
struct dp_presale_code;
/*
 * The engine's form of event e's presale windows: codes and members alike
 * (a member is a code of its own). The codes live in *mem (free it).
 * *unattached (may be NULL): some window has a members_file whose list was
 * not attached (an --inventory file read at start). 0 or -ENOMEM.
 */
int dpa_presale_def_of(const struct ctl_event *e, struct dp_presale_def *out, struct dp_presale_code **mem,
		       int *unattached);
/* The engine's sale settings of event e (on-sale time, waiting room); the
 * presale windows are set apart (dpa_presale_def_of). e must not be NULL. */
struct dp_sale_settings dpa_sale_settings_of(const struct ctl_event *e);

/* dpa_telemetry.c */
int dpa_telemetry_register(struct dpa_app *app);

#endif
