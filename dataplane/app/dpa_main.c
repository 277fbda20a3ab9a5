/*
 * dpa_main.c - stampede-dataplane: start-up, supervision, shutdown.
 *
 *   stampede-dataplane [EAL options] -- [--config FILE] [--SETTING VALUE ...]
 *
 * Start-up (the only place that exits on error, with rte_exit): EAL, settings,
 * port (one RX/TX queue pair per worker lcore, RSS when the port has it),
 * storage, engine, recovery from LMDB, optional inventory, the storage writer,
 * handoff rings, telemetry; then every worker lcore runs dpa_lcore_main. With
 * a single lcore the main lcore is the worker. SIGINT/SIGTERM stop taking
 * requests; workers drain their pending replies; the writer commits; exit 0.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include <rte_cycles.h>

#include "dataplane/dp_token.h"
#include <arpa/inet.h>
#include <rte_malloc.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_ring_elem.h>

#include <urcu/urcu-qsbr.h>

#include "control/ctl_inventory.h"
#include "dataplane/dp_presale.h"
#include "dataplane/app/dpa.h"

static struct dpa_app app;

static void on_signal(int sig)
{
	(void)sig;
	atomic_store(&app.quit, 1);
}

static void port_init(struct dpa_app *a)
{
	const uint16_t port = a->set.eth_port;
	if (!rte_eth_dev_is_valid_port(port))
		rte_exit(EXIT_FAILURE, "eth-port %u: no such DPDK port (%u available; pass a --vdev or bind a NIC)\n",
			 port, rte_eth_dev_count_avail());
	struct rte_eth_dev_info info;
	if (rte_eth_dev_info_get(port, &info) != 0)
		rte_exit(EXIT_FAILURE, "eth-port %u: cannot read device info\n", port);
	if (info.max_tx_queues < a->workers)
		rte_exit(EXIT_FAILURE, "eth-port %u (%s): %u TX queues, %u worker lcores need one each\n", port,
			 info.driver_name, info.max_tx_queues, a->workers);
	a->rx_queues = a->workers < info.max_rx_queues ? a->workers : info.max_rx_queues;
	struct rte_eth_conf conf;
	memset(&conf, 0, sizeof(conf));
	uint64_t rss = info.flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP);
	if (a->rx_queues > 1 && rss) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf = rss;
	}
	int rc = rte_eth_dev_configure(port, (uint16_t)a->rx_queues, (uint16_t)a->workers, &conf);
	if (rc)
		rte_exit(EXIT_FAILURE, "eth-port %u: configure: %s\n", port, rte_strerror(-rc));
	uint16_t rxd = (uint16_t)a->set.rx_desc, txd = (uint16_t)a->set.tx_desc;
	rte_eth_dev_adjust_nb_rx_tx_desc(port, &rxd, &txd);
	const int socket = rte_eth_dev_socket_id(port);
	for (unsigned q = 0; q < a->rx_queues; q++)
		if ((rc = rte_eth_rx_queue_setup(port, (uint16_t)q, rxd, socket, NULL, a->pool)) != 0)
			rte_exit(EXIT_FAILURE, "eth-port %u: rx queue %u: %s\n", port, q, rte_strerror(-rc));
	for (unsigned q = 0; q < a->workers; q++)
		if ((rc = rte_eth_tx_queue_setup(port, (uint16_t)q, txd, socket, NULL)) != 0)
			rte_exit(EXIT_FAILURE, "eth-port %u: tx queue %u: %s\n", port, q, rte_strerror(-rc));
	if ((rc = rte_eth_dev_start(port)) != 0)
		rte_exit(EXIT_FAILURE, "eth-port %u: start: %s\n", port, rte_strerror(-rc));
	rte_eth_macaddr_get(port, &a->mac);
	printf("stampede-dataplane: port %u (%s) " RTE_ETHER_ADDR_PRT_FMT ", %u worker(s), %u rx queue(s)%s\n", port,
	       info.driver_name, RTE_ETHER_ADDR_BYTES(&a->mac), a->workers, a->rx_queues,
	       conf.rxmode.mq_mode == RTE_ETH_MQ_RX_RSS ? " with RSS" : "");
}

void dpa_spare_cpus(cpu_set_t *out)
{
	CPU_ZERO(out);
	for (int cpu = 0; cpu < CPU_SETSIZE && cpu < (int)sysconf(_SC_NPROCESSORS_ONLN); cpu++)
		CPU_SET(cpu, out);
	unsigned lcore;
	RTE_LCORE_FOREACH(lcore) {
		if (rte_lcore_count() > 1 && lcore == rte_get_main_lcore())
			continue;
		rte_cpuset_t lc_cpus = rte_lcore_cpuset(lcore);
		for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
			if (CPU_ISSET(cpu, &lc_cpus))
				CPU_CLR(cpu, out);
	}
}

/* Load the --inventory file: every event is checked against what recovery
 * loaded before any is loaded; a recovered event keeps its holds, orders and
 * durable sale state (a paused event stays paused), a new one is scheduled
 * when the file gives an on-sale time. */
static void inventory_load(struct dpa_app *a)
{
	struct ctl_inventory *inv;
	char err[512];
	if (ctl_inventory_load(a->set.inventory, &inv, err, sizeof(err)) != 0)
		rte_exit(EXIT_FAILURE, "%s\n", err);
	for (uint32_t i = 0; i < inv->n_events; i++)
		if (dp_engine_load_check(a->eng, inv->events[i].def, err, sizeof(err)) != 0)
			rte_exit(EXIT_FAILURE, "inventory %s: %s\n", a->set.inventory, err);
	unsigned counts[4] = {0};
	for (uint32_t i = 0; i < inv->n_events; i++) {
		const struct ctl_event *e = &inv->events[i];
		struct dp_sale_settings sale = dpa_sale_settings_of(e);
		/* Presale windows: a file read here carries no member list, so
		 * an event whose windows name one keeps the windows and codes it
		 * had (recovered), until a `load` sends the lists. */
		struct dp_presale_def pdef;
		struct dp_presale_code *pmem = NULL;
		int unattached = 0;
		if (dpa_presale_def_of(e, &pdef, &pmem, &unattached) != 0)
			rte_exit(EXIT_FAILURE, "inventory %s: out of memory\n", a->set.inventory);
		sale.presale = &pdef;
		sale.presale_keep = (uint8_t)unattached;
		int action = 0;
		int rc = dp_engine_load_event(a->eng, e->def, &sale, &action, err, sizeof(err));
		free(pmem);
		if (rc)
			rte_exit(EXIT_FAILURE, "inventory %s: %s\n", a->set.inventory, err);
		counts[action & 3]++;
	}
	printf("stampede-dataplane: inventory %s: %u event(s): %u added, %u reloaded, %u unchanged\n",
	       a->set.inventory, inv->n_events, counts[DP_LOAD_ADDED], counts[DP_LOAD_RELOADED],
	       counts[DP_LOAD_UNCHANGED]);
	ctl_inventory_free(inv);
}

static void storage_init(struct dpa_app *a)
{
	if (mkdir(a->set.data_dir, 0700) != 0 && errno != EEXIST)
		rte_exit(EXIT_FAILURE, "data %s: %s\n", a->set.data_dir, strerror(errno));
	struct st_options so = {.dir = a->set.data_dir, .nosync = a->set.nosync, .workers = a->workers};
	int rc = st_env_open(&so, &a->env);
	if (rc)
		rte_exit(EXIT_FAILURE, "data %s: %s\n", a->set.data_dir, st_strerror(rc));
	struct dp_config cfg;
	dp_config_defaults(&cfg, a->workers);
	cfg.holds_max = a->set.holds_max;
	cfg.orders_max = a->set.orders_max;
	cfg.idem_max = a->set.idem_max;
	cfg.idem_horizon_ms = a->set.idem_horizon_ms;
	cfg.buyers_max = a->set.buyers_max;
	cfg.busy_retry_ms = a->set.busy_retry_ms;
	cfg.expire_scan_per_tick = a->set.expire_scan;
	if ((rc = dp_engine_create(&cfg, a->env, &a->eng)) != 0)
		rte_exit(EXIT_FAILURE, "engine: %s\n", st_strerror(rc));
	if ((rc = dp_engine_recover(a->eng)) != 0)
		rte_exit(EXIT_FAILURE, "recovery from %s: %s\n", a->set.data_dir, st_strerror(rc));
	if (a->set.inventory[0])
		inventory_load(a);
	char kerr[DP_KEYS_ERR_MAX] = "";
	if ((rc = dpa_keys_load(a, kerr, sizeof(kerr), NULL, NULL)) != 0) {
		/* A host that runs no waiting room need not make a key file; one the
		 * operator named must be there. */
		if (rc != -ENOENT || strcmp(a->set.keys_file, DPA_KEYS_FILE_DEFAULT) != 0)
			rte_exit(EXIT_FAILURE, "keys-file: %s\n", kerr);
		printf("stampede-dataplane: no waiting-room keys (%s does not exist): an event whose waiting room is "
		       "active answers QUEUE_JOIN unavailable until a key file is made and reloaded (docs/waiting-room.md)\n",
		       DPA_KEYS_FILE_DEFAULT);
	}
	/* Freeze what is due and reserve queue positions before any join. */
	if ((rc = dp_queue_tick(a->eng, dpa_now_ms(a, rte_rdtsc()))) != 0)
		rte_exit(EXIT_FAILURE, "waiting room: %s\n", st_strerror(rc));
	/* The writer thread inherits this thread's CPU set, which EAL pinned to
	 * the main lcore. Start it on the CPUs no worker lcore polls, so a
	 * busy-polling worker never starves the thread its replies wait for. */
	cpu_set_t mine, spare;
	pthread_getaffinity_np(pthread_self(), sizeof(mine), &mine);
	dpa_spare_cpus(&spare);
	if (CPU_COUNT(&spare) > 0)
		pthread_setaffinity_np(pthread_self(), sizeof(spare), &spare);
	/* Every reply that reports a mutation waits for this thread: when it
	 * shares a CPU with something that busy-polls, it must win that CPU as
	 * soon as it is runnable. Linux keeps nice per thread and a new thread
	 * inherits it. Without the privilege it runs at the normal priority. */
	const int nice_before = getpriority(PRIO_PROCESS, 0);
	if (setpriority(PRIO_PROCESS, 0, DPA_WRITER_NICE) != 0)
		printf("stampede-dataplane: storage writer at normal priority (%s)\n", strerror(errno));
	rc = st_writer_start(a->env);
	setpriority(PRIO_PROCESS, 0, nice_before);
	pthread_setaffinity_np(pthread_self(), sizeof(mine), &mine);
	if (rc != 0)
		rte_exit(EXIT_FAILURE, "storage writer: %s\n", st_strerror(rc));
	printf("stampede-dataplane: data %s, sync %s\n", a->set.data_dir,
	       a->set.nosync ? "NONE (benchmark mode: acknowledged sales can be lost)" : "full");
}

static void lcores_init(struct dpa_app *a)
{
	a->lc = rte_zmalloc("dpa_lcores", a->workers * sizeof(*a->lc), RTE_CACHE_LINE_SIZE);
	if (!a->lc)
		rte_exit(EXIT_FAILURE, "lcore contexts: out of memory\n");
	unsigned i = 0, lcore;
	RTE_LCORE_FOREACH(lcore) {
		if (rte_lcore_count() > 1 && lcore == rte_get_main_lcore())
			continue;
		struct dpa_lcore *lc = &a->lc[i];
		lc->app = a;
		lc->idx = i;
		lc->lcore_id = lcore;
		lc->w = dp_engine_worker(a->eng, i);
		char name[RTE_RING_NAMESIZE];
		snprintf(name, sizeof(name), "dpa_inbox_%u", i);
		lc->inbox = rte_ring_create_elem(name, sizeof(struct dpa_handoff), a->set.handoff_ring,
						 (int)rte_lcore_to_socket_id(lcore), RING_F_SC_DEQ);
		lc->pend = rte_zmalloc("dpa_pending", DPA_PENDING_MAX * sizeof(*lc->pend), RTE_CACHE_LINE_SIZE);
		snprintf(name, sizeof(name), "dpa_ctl_in_%u", i);
		lc->ctl_in = rte_ring_create_elem(name, sizeof(struct dpa_ctl_item), DPA_CTL_RING_SIZE,
						  (int)rte_lcore_to_socket_id(lcore), RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "dpa_ctl_out_%u", i);
		lc->ctl_out = rte_ring_create_elem(name, sizeof(struct dpa_ctl_item), DPA_CTL_RING_SIZE,
						   (int)rte_lcore_to_socket_id(lcore), RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (!lc->inbox || !lc->pend || !lc->ctl_in || !lc->ctl_out)
			rte_exit(EXIT_FAILURE, "worker %u: rings: %s\n", i, rte_strerror(rte_errno));
		i++;
	}
	assert(i == a->workers);
}

int main(int argc, char **argv)
{
	int ret = rte_eal_init(argc, argv);
	if (ret < 0)
		rte_exit(EXIT_FAILURE, "EAL init failed: %s\n", rte_strerror(rte_errno));
	argc -= ret;
	argv += ret;
	argv[0] = (char *)"stampede-dataplane";
	ret = dpa_settings_parse(&app.set, argc, argv);
	if (ret != 0) {
		rte_eal_cleanup();
		return ret > 0 ? 0 : 2;
	}
	app.workers = rte_lcore_count() > 1 ? rte_lcore_count() - 1 : 1;
	if (app.workers > DP_WORKERS_MAX)
		rte_exit(EXIT_FAILURE, "%u worker lcores: at most %u\n", app.workers, DP_WORKERS_MAX);
	app.tsc_hz = rte_get_tsc_hz();
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	app.base_tsc = rte_rdtsc();
	app.base_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;

	unsigned mbufs = app.set.mbufs;
	if (mbufs == 0)
		mbufs = app.workers * (app.set.rx_desc + app.set.tx_desc + DPA_PENDING_MAX + DPA_TX_BUF_MAX +
				       2 * DPA_MBUF_CACHE) + 1024;
	app.pool = rte_pktmbuf_pool_create("dpa_mbufs", mbufs, DPA_MBUF_CACHE, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
					   (int)rte_socket_id());
	if (!app.pool)
		rte_exit(EXIT_FAILURE, "mbuf pool of %u: %s\n", mbufs, rte_strerror(rte_errno));

	urcu_qsbr_register_thread();
	storage_init(&app);
	port_init(&app);
	lcores_init(&app);
	if (dpa_telemetry_register(&app) != 0)
		fprintf(stderr, "stampede-dataplane: telemetry commands not registered\n");
	if ((ret = dpa_control_start(&app)) != 0)
		rte_exit(EXIT_FAILURE, "control-socket %s: %s\n", app.set.control_socket, strerror(-ret));
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	char ip[INET_ADDRSTRLEN];
	inet_ntop(AF_INET, &app.set.ip_be, ip, sizeof(ip));
	printf("stampede-dataplane: ready on %s udp %u\n", ip, app.set.udp_port);
	fflush(stdout);

	atomic_store(&app.running, (int)app.workers);
	/* The main lcore blocks from here on (or becomes the worker, which
	 * registers itself). */
	urcu_qsbr_unregister_thread();
	if (rte_lcore_count() == 1) {
		dpa_lcore_main(&app.lc[0]);
	} else {
		for (unsigned i = 0; i < app.workers; i++)
			rte_eal_remote_launch(dpa_lcore_main, &app.lc[i], app.lc[i].lcore_id);
		rte_eal_mp_wait_lcore();
	}
	dpa_control_stop(&app);
	urcu_qsbr_register_thread();

	/* Every worker has drained: commit what is left and stop. */
	int rc = st_writer_stop(app.env);
	struct st_stats ss;
	st_env_stats(app.env, &ss);
	uint64_t requests = 0, pending = 0;
	for (unsigned i = 0; i < app.workers; i++) {
		requests += app.lc[i].c.requests;
		pending += app.lc[i].pend_n;
	}
	printf("stampede-dataplane: stopped: %llu requests, %llu records in %llu batches, %llu replies undelivered\n",
	       (unsigned long long)requests, (unsigned long long)ss.records, (unsigned long long)ss.batches,
	       (unsigned long long)pending);
	rte_eth_dev_stop(app.set.eth_port);
	rte_eth_dev_close(app.set.eth_port);
	urcu_qsbr_unregister_thread();
	dp_engine_destroy(app.eng);
	st_env_close(app.env);
	rte_eal_cleanup();
	return rc == 0 || rc == -EALREADY ? 0 : 1;
}
