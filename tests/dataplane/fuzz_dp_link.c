/*
 * fuzz_dp_link.c - libFuzzer target: arbitrary bytes as one received frame
 * for the DPDK clients' frame parser (tools/dp_link_parse.c). It must never
 * crash or read outside the frame; a dropped frame is counted exactly once,
 * a taken one not at all; a taken UDP payload lies inside the frame, comes
 * from the server's address and port and goes to one of our ports.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <rte_byteorder.h>
#include <rte_ip.h>

#include "tools/dp_link.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dp_link l;
	if (l.src_port_n == 0) {
		l.ip_be = rte_cpu_to_be_32(RTE_IPV4(10, 12, 0, 1));
		l.server_be = rte_cpu_to_be_32(RTE_IPV4(10, 12, 0, 2));
		l.server_port = 7300;
		l.src_port_lo = 40000;
		l.src_port_n = 4;
	}
	struct dp_link_drops d;
	struct dp_link_parsed p;
	memset(&d, 0, sizeof(d));
	enum dp_link_kind k = dp_link_parse(&l, data, size, &p, &d);
	const uint64_t counted = dp_link_drops_total(&d);
	if (k == DP_LINK_DROP ? counted != 1 : counted != 0)
		abort();
	if (k == DP_LINK_UDP) {
		if (p.payload < data + DP_LINK_HDRS_SIZE || p.payload + p.payload_len > data + size)
			abort();
		if (p.dst_port < 40000 || p.dst_port >= 40004)
			abort();
		/* Source address at byte 26 of an IPv4 frame. */
		uint32_t src;
		memcpy(&src, data + 26, sizeof(src));
		if (src != l.server_be)
			abort();
	}
	return 0;
}
