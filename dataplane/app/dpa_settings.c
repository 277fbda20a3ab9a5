/*
 * dpa_settings.c - stampede-dataplane's settings: one table with each
 * setting's name, bounds, default and meaning, read from `--config FILE`
 * (lines `name value`, `#` comments) and then from `--name value` flags, which
 * win. docs/dataplane.md and docs/examples/dataplane.conf follow this table.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "control/ctl_wire.h"
#include "dataplane/app/dpa.h"

enum set_type { T_U32, T_BOOL, T_IPV4, T_PATH };

struct setting {
	const char *name;
	enum set_type type;
	size_t off;
	uint64_t min, max;
	const char *def;
	const char *help;
};

#define OFF(f) offsetof(struct dpa_settings, f)
static const struct setting settings[] = {
	{"ip", T_IPV4, OFF(ip_be), 0, 0, "10.11.0.2", "IPv4 address the dataplane answers on (ARP, ICMP echo, UDP)"},
	{"port", T_U32, OFF(udp_port), 1, 65535, "7300", "UDP port for buyer requests"},
	{"eth-port", T_U32, OFF(eth_port), 0, 63, "0", "DPDK port id to use"},
	{"data", T_PATH, OFF(data_dir), 0, 0, "/var/lib/stampede", "LMDB data directory (created if missing)"},
	{"inventory", T_PATH, OFF(inventory), 0, 0, "", "inventory file loaded at start (events already stored are kept)"},
	{"nosync", T_BOOL, OFF(nosync), 0, 1, "0", "benchmark only: commit without fsync (acknowledged sales can be lost)"},
	{"rx-desc", T_U32, OFF(rx_desc), 64, 16384, "1024", "RX descriptors per queue"},
	{"tx-desc", T_U32, OFF(tx_desc), 64, 16384, "1024", "TX descriptors per queue"},
	{"backlog", T_U32, OFF(backlog_max), 64, DPA_PENDING_MAX - DPA_PKT_BURST_MAX * PROTO_MSGS_MAX, "8192",
	 "replies waiting for durability plus handoffs, per worker, before new mutations are answered busy"},
	{"handoff-ring", T_U32, OFF(handoff_ring), 64, 1u << 20, "4096", "per-worker handoff ring slots (power of 2)"},
	{"mbufs", T_U32, OFF(mbufs), 0, 1u << 24, "0", "mbuf pool size (0: enough for every queue, backlog and burst)"},
	{"holds-max", T_U32, OFF(holds_max), 1, 1u << 24, "262144", "hold slots per worker"},
	{"orders-max", T_U32, OFF(orders_max), 1, 1u << 30, "524288", "orders per worker"},
	{"idem-max", T_U32, OFF(idem_max), 1, 1u << 28, "2097152",
	 "mutations remembered per worker for retries (144 bytes each)"},
	{"idem-horizon-ms", T_U32, OFF(idem_horizon_ms), 0, DP_IDEM_HORIZON_MS_MAX, "2000",
	 "a retry within this of its first answer is always answered from memory; when the memory is full of "
	 "younger entries, new mutations are answered busy"},
	{"buyers-max", T_U32, OFF(buyers_max), 1, 1u << 30, "524288", "buyers tracked per event for the per-buyer limit"},
	{"busy-retry-ms", T_U32, OFF(busy_retry_ms), 1, 60000, "5", "retry-after given with a busy answer"},
	{"drain-timeout-ms", T_U32, OFF(drain_timeout_ms), 0, 600000, "5000",
	 "on SIGINT/SIGTERM, how long to wait for pending replies to become durable"},
	{"control-socket", T_PATH, OFF(control_socket), 0, 0, CTL_DATAPLANE_SOCKET_DEFAULT,
	 "Unix socket of the control channel (docs/control.md), created mode 0600; \"none\" turns it off"},
	{"keys-file", T_PATH, OFF(keys_file), 0, 0, DPA_KEYS_FILE_DEFAULT,
	 "waiting-room key file (docs/waiting-room.md), mode 0600; \"none\", or the default path missing: no keys "
	 "(an active waiting room answers joins unavailable)"},
	{"expire-scan", T_U32, OFF(expire_scan), 0, 1u << 24, "64",
	 "hold slots each worker examines for expiry per loop turn (0: no sweep; confirms still check expiry)"},
};
#define N_SETTINGS (sizeof(settings) / sizeof(settings[0]))

static const struct setting *find(const char *name)
{
	for (size_t i = 0; i < N_SETTINGS; i++)
		if (strcmp(settings[i].name, name) == 0)
			return &settings[i];
	return NULL;
}

/* Apply one value; prints what is wrong and returns -1. */
static int apply(struct dpa_settings *s, const struct setting *st, const char *val, const char *where)
{
	char *p = (char *)s + st->off;
	switch (st->type) {
	case T_U32: {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(val, &end, 0);
		if (errno || end == val || *end || val[0] == '-' || v < st->min || v > st->max) {
			fprintf(stderr, "stampede-dataplane: %s: %s \"%s\": expected a whole number %llu..%llu\n", where,
				st->name, val, (unsigned long long)st->min, (unsigned long long)st->max);
			return -1;
		}
		if (st->off == OFF(udp_port) || st->off == OFF(eth_port))
			*(uint16_t *)p = (uint16_t)v;
		else
			*(uint32_t *)p = (uint32_t)v;
		return 0;
	}
	case T_BOOL:
		if (strcmp(val, "1") == 0 || strcmp(val, "yes") == 0 || strcmp(val, "true") == 0)
			*(bool *)p = true;
		else if (strcmp(val, "0") == 0 || strcmp(val, "no") == 0 || strcmp(val, "false") == 0)
			*(bool *)p = false;
		else {
			fprintf(stderr, "stampede-dataplane: %s: %s \"%s\": expected yes or no\n", where, st->name, val);
			return -1;
		}
		return 0;
	case T_IPV4: {
		struct in_addr a;
		if (inet_pton(AF_INET, val, &a) != 1) {
			fprintf(stderr, "stampede-dataplane: %s: %s \"%s\": expected a dotted IPv4 address\n", where,
				st->name, val);
			return -1;
		}
		*(uint32_t *)p = a.s_addr;
		return 0;
	}
	case T_PATH:
		if (strlen(val) >= DPA_PATH_MAX) {
			fprintf(stderr, "stampede-dataplane: %s: %s: longer than %d bytes\n", where, st->name,
				DPA_PATH_MAX - 1);
			return -1;
		}
		strcpy(p, val);
		return 0;
	}
	return -1;
}

static int load_file(struct dpa_settings *s, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "stampede-dataplane: --config %s: %s\n", path, strerror(errno));
		return -1;
	}
	char line[1024];
	unsigned lineno = 0;
	int rc = 0;
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		lineno++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char name[64], val[DPA_PATH_MAX], extra[2];
		int n = sscanf(line, "%63s %511s %1s", name, val, extra);
		if (n <= 0)
			continue;
		char where[DPA_PATH_MAX + 32];
		snprintf(where, sizeof(where), "%s:%u", path, lineno);
		const struct setting *st = find(name);
		if (!st) {
			fprintf(stderr, "stampede-dataplane: %s: unknown setting \"%s\" (see --help)\n", where, name);
			rc = -1;
		} else if (n != 2) {
			fprintf(stderr, "stampede-dataplane: %s: %s: expected exactly one value\n", where, name);
			rc = -1;
		} else {
			rc = apply(s, st, val, where);
		}
	}
	fclose(f);
	return rc;
}

void dpa_settings_usage(FILE *out)
{
	fprintf(out, "usage: stampede-dataplane [EAL options] -- [--config FILE] [--SETTING VALUE ...]\n\n"
		     "Settings (config file lines are `SETTING VALUE`; flags win over the file):\n");
	for (size_t i = 0; i < N_SETTINGS; i++) {
		const struct setting *st = &settings[i];
		char bounds[64] = "";
		if (st->type == T_U32)
			snprintf(bounds, sizeof(bounds), " [%llu..%llu]", (unsigned long long)st->min,
				 (unsigned long long)st->max);
		fprintf(out, "  --%-17s %s (default \"%s\")%s\n", st->name, st->help, st->def, bounds);
	}
	fprintf(out, "\nSIGINT/SIGTERM stop taking requests, drain, commit and exit 0.\n");
}

int dpa_settings_parse(struct dpa_settings *s, int argc, char **argv)
{
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < N_SETTINGS; i++)
		if (apply(s, &settings[i], settings[i].def, "default") != 0)
			return -1;
	/* --config first, wherever it is, so flags override it. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			dpa_settings_usage(stdout);
			return 1;
		}
		if (strcmp(argv[i], "--config") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "stampede-dataplane: --config needs a file\n");
				return -1;
			}
			if (load_file(s, argv[i + 1]) != 0)
				return -1;
		}
	}
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0) {
			i++;
			continue;
		}
		if (strncmp(argv[i], "--", 2) != 0) {
			fprintf(stderr, "stampede-dataplane: unexpected argument \"%s\" (see --help)\n", argv[i]);
			return -1;
		}
		const struct setting *st = find(argv[i] + 2);
		if (!st) {
			fprintf(stderr, "stampede-dataplane: unknown flag \"%s\" (see --help)\n", argv[i]);
			return -1;
		}
		const char *val;
		if (st->type == T_BOOL && (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0))
			val = "yes";
		else if (i + 1 >= argc) {
			fprintf(stderr, "stampede-dataplane: %s needs a value\n", argv[i]);
			return -1;
		} else
			val = argv[++i];
		if (apply(s, st, val, "flag") != 0)
			return -1;
	}
	if (strcmp(s->control_socket, "none") != 0 && strlen(s->control_socket) >= CTL_SOCKET_PATH_MAX) {
		fprintf(stderr, "stampede-dataplane: control-socket %s: longer than %d bytes\n", s->control_socket,
			CTL_SOCKET_PATH_MAX - 1);
		return -1;
	}
	if (s->handoff_ring & (s->handoff_ring - 1)) {
		fprintf(stderr, "stampede-dataplane: handoff-ring %u: expected a power of two\n", s->handoff_ring);
		return -1;
	}
	return 0;
}
