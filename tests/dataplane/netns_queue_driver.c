/*
 * netns_queue_driver.c DP_CTL_CALL - the waiting room end to end on a real
 * stampede-dataplane (net_tap, own namespace; netns_harness.sh with
 * STAMPEDE_DP_KEYS=1 starts it with a key file). Buyers hold without a
 * token (not_admitted), join (positions in join order), poll (the same
 * ticket keeps its place), are admitted with the control socket's `admit`
 * (sent with dp_ctl_call), and hold with the access token; another buyer's
 * token, a ticket and a forged token are refused with their details; after a
 * restart the same tickets keep their places and the admission stands.
 * Presale (event 5, on sale in 2099, window "Fans" open, room off): no code,
 * an unknown code and a used-up code are refused with their details; a good
 * code answers ADMITTED once the control thread stored the redemption (the
 * library retries code_pending); the presale token holds while the sale is
 * scheduled; after the restart the redemption is still there.
 * Inventory: netns_queue_inventory.json (event 1, GA type 2, room on;
 * event 5 with presale codes).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/stampede_client.h"

static int failures;
#define CHECK(cond, ...)                                                                                     \
	do {                                                                                                  \
		if (!(cond)) {                                                                                \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                  \
			fprintf(stderr, __VA_ARGS__);                                                         \
			fprintf(stderr, "\n");                                                                \
			failures++;                                                                           \
		}                                                                                             \
	} while (0)

#define EV 1u
#define EVP 5u
#define GA 2u
#define BUYERS 3

static const char *server, *ctl_call;
static unsigned short port;

static struct stampede_client *open_client(uint64_t client_id)
{
	struct stampede_client_opts o;
	stampede_client_opts_init(&o);
	o.host = server;
	o.port = port;
	o.client_id = client_id;
	o.timeout_ms = 300;
	char err[256];
	struct stampede_client *c = stampede_client_open(&o, err, sizeof(err));
	if (!c) {
		fprintf(stderr, "client: %s\n", err);
		exit(2);
	}
	return c;
}

/* Send one control request with dp_ctl_call; 0 when the reply says ok. */
static int dp_ctl(const char *json)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "'%s' '%s/dp.sock' '%s'", ctl_call, getenv("STAMPEDE_WORK"), json);
	FILE *p = popen(cmd, "r");
	char out[4096] = "";
	size_t n = p ? fread(out, 1, sizeof(out) - 1, p) : 0;
	out[n] = '\0';
	int rc = p ? pclose(p) : -1;
	if (rc != 0 || !strstr(out, "\"ok\":true")) {
		fprintf(stderr, "control %s: %s\n", json, out);
		return -1;
	}
	return 0;
}

static int restart(void)
{
	const char *ctl_path = getenv("STAMPEDE_CTL"), *ack_path = getenv("STAMPEDE_ACK");
	FILE *f = ctl_path ? fopen(ctl_path, "w") : NULL;
	if (!f)
		return -1;
	fprintf(f, "restart\n");
	fclose(f);
	FILE *a = ack_path ? fopen(ack_path, "r") : NULL;
	char line[64] = "";
	if (!a || !fgets(line, sizeof(line), a))
		return -1;
	fclose(a);
	return strncmp(line, "ok", 2) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
	server = getenv("STAMPEDE_SERVER");
	port = (unsigned short)atoi(getenv("STAMPEDE_PORT") ? getenv("STAMPEDE_PORT") : "7300");
	if (!server || argc != 2 || !getenv("STAMPEDE_WORK")) {
		fprintf(stderr, "usage: netns_harness.sh ... netns_queue_driver DP_CTL_CALL\n");
		return 2;
	}
	ctl_call = argv[1];
	struct stampede_result r;
	struct stampede_client *b[BUYERS];
	for (unsigned i = 0; i < BUYERS; i++)
		b[i] = open_client(3001 + i);

	/* While the room is on, a hold needs an access token. */
	CHECK(stampede_hold_ga(b[0], EV, GA, 1, NULL, &r) == 0 && r.status == STAMPEDE_S_NOT_ADMITTED,
	      "hold without token: %s", stampede_status_name(r.status));

	/* Joins: positions in join order. */
	uint8_t ticket[BUYERS][STAMPEDE_TOKEN_SIZE];
	for (unsigned i = 0; i < BUYERS; i++) {
		CHECK(stampede_queue_join(b[i], EV, &r) == 0 && r.status == STAMPEDE_S_OK &&
			      r.body == STAMPEDE_BODY_QUEUE && r.u.queue.state == STAMPEDE_QUEUE_WAITING &&
			      r.u.queue.position == i && r.u.queue.ahead == i,
		      "join %u: status %s state %u position %llu", i, stampede_status_name(r.status), r.u.queue.state,
		      (unsigned long long)r.u.queue.position);
		memcpy(ticket[i], r.u.queue.token, STAMPEDE_TOKEN_SIZE);
	}
	/* A refresh keeps the place. */
	for (int k = 0; k < 3; k++)
		CHECK(stampede_queue_poll(b[1], EV, ticket[1], &r) == 0 && r.u.queue.state == STAMPEDE_QUEUE_WAITING &&
			      r.u.queue.position == 1,
		      "poll 1: state %u position %llu", r.u.queue.state, (unsigned long long)r.u.queue.position);

	/* The control side admits the first two. */
	CHECK(dp_ctl("{\"cmd\":\"admit\",\"event\":1,\"admitted\":2,\"rate_per_s\":4}") == 0, "admit 2");
	uint8_t access[STAMPEDE_TOKEN_SIZE];
	CHECK(stampede_queue_poll(b[0], EV, ticket[0], &r) == 0 && r.u.queue.state == STAMPEDE_QUEUE_ADMITTED &&
		      r.u.queue.position == 0,
	      "poll 0 after admit: state %u", r.u.queue.state);
	memcpy(access, r.u.queue.token, STAMPEDE_TOKEN_SIZE);
	CHECK(stampede_queue_poll(b[2], EV, ticket[2], &r) == 0 && r.u.queue.state == STAMPEDE_QUEUE_WAITING &&
		      r.u.queue.ahead == 0,
	      "poll 2 after admit: state %u ahead %llu", r.u.queue.state, (unsigned long long)r.u.queue.ahead);

	/* Holds: the admitted buyer with its token; the others refused. */
	CHECK(stampede_hold_ga(b[0], EV, GA, 2, access, &r) == 0 && r.status == STAMPEDE_S_OK && r.u.hold.n_items == 2,
	      "hold with token: %s/%s", stampede_status_name(r.status), stampede_detail_name(r.detail));
	const uint64_t hold = r.u.hold.hold_id;
	CHECK(stampede_confirm(b[0], hold, "pay-q1", &r) == 0 && r.status == STAMPEDE_S_OK, "confirm without token: %s",
	      stampede_status_name(r.status));
	CHECK(stampede_hold_ga(b[2], EV, GA, 1, access, &r) == 0 && r.status == STAMPEDE_S_BAD_TOKEN &&
		      r.detail == STAMPEDE_D_TOKEN_WRONG_CLIENT,
	      "another's token: %s/%s", stampede_status_name(r.status), stampede_detail_name(r.detail));
	CHECK(stampede_hold_ga(b[2], EV, GA, 1, ticket[2], &r) == 0 && r.status == STAMPEDE_S_BAD_TOKEN &&
		      r.detail == STAMPEDE_D_TOKEN_WRONG_KIND,
	      "ticket as token: %s/%s", stampede_status_name(r.status), stampede_detail_name(r.detail));
	uint8_t forged[STAMPEDE_TOKEN_SIZE];
	memcpy(forged, access, sizeof(forged));
	forged[16] ^= 0x40; /* another position */
	CHECK(stampede_hold_ga(b[0], EV, GA, 1, forged, &r) == 0 && r.status == STAMPEDE_S_BAD_TOKEN &&
		      r.detail == STAMPEDE_D_TOKEN_FORGED,
	      "forged token: %s/%s", stampede_status_name(r.status), stampede_detail_name(r.detail));
	CHECK(stampede_queue_poll(b[1], EV, access, &r) == 0 && r.status == STAMPEDE_S_BAD_TOKEN,
	      "access token as ticket: %s", stampede_status_name(r.status));

	/* Presale: event 5 before its on-sale time. */
	CHECK(stampede_queue_join(b[0], EVP, &r) == 0 && r.status == STAMPEDE_S_CLOSED &&
		      r.detail == STAMPEDE_D_PRESALE_ONLY,
	      "presale join without code: %s/%s", stampede_status_name(r.status), stampede_detail_name(r.detail));
	CHECK(stampede_queue_join_code(b[0], EVP, "NOPE", &r) == 0 && r.status == STAMPEDE_S_NOT_FOUND &&
		      r.detail == STAMPEDE_D_CODE_UNKNOWN,
	      "unknown code: %s/%s", stampede_status_name(r.status), stampede_detail_name(r.detail));
	CHECK(stampede_queue_join_code(b[0], EVP, "has space", &r) == -22, "bad code not sent");
	CHECK(stampede_queue_join_code(b[0], EVP, "FANS", &r) == 0 && r.status == STAMPEDE_S_OK &&
		      r.body == STAMPEDE_BODY_QUEUE && r.u.queue.state == STAMPEDE_QUEUE_ADMITTED,
	      "good code: %s/%s state %u", stampede_status_name(r.status), stampede_detail_name(r.detail),
	      r.u.queue.state);
	uint8_t presale_tok[STAMPEDE_TOKEN_SIZE];
	memcpy(presale_tok, r.u.queue.token, sizeof(presale_tok));
	CHECK(stampede_queue_join_code(b[1], EVP, "FANS", &r) == 0 && r.status == STAMPEDE_S_LIMIT &&
		      r.detail == STAMPEDE_D_CODE_USED_UP,
	      "used-up code: %s/%s", stampede_status_name(r.status), stampede_detail_name(r.detail));
	CHECK(stampede_queue_join_code(b[0], EVP, "FANS", &r) == 0 && r.status == STAMPEDE_S_OK,
	      "the same buyer again: %s/%s", stampede_status_name(r.status), stampede_detail_name(r.detail));
	CHECK(stampede_hold_ga(b[0], EVP, GA, 1, NULL, &r) == 0 && r.status == STAMPEDE_S_CLOSED &&
		      r.detail == STAMPEDE_D_PRESALE_ONLY,
	      "presale hold without token: %s/%s", stampede_status_name(r.status), stampede_detail_name(r.detail));
	CHECK(stampede_hold_ga(b[0], EVP, GA, 1, presale_tok, &r) == 0 && r.status == STAMPEDE_S_OK,
	      "presale hold: %s/%s", stampede_status_name(r.status), stampede_detail_name(r.detail));
	CHECK(stampede_hold_ga(b[1], EVP, GA, 1, access, &r) == 0 && r.status == STAMPEDE_S_BAD_TOKEN,
	      "event 1's token on event 5: %s/%s", stampede_status_name(r.status), stampede_detail_name(r.detail));

	/* A restart keeps the places and the admission. */
	CHECK(restart() == 0, "restart");
	CHECK(stampede_queue_join_code(b[1], EVP, "FANS", &r) == 0 && r.status == STAMPEDE_S_LIMIT,
	      "used-up code after restart: %s/%s", stampede_status_name(r.status), stampede_detail_name(r.detail));
	CHECK(stampede_queue_join_code(b[0], EVP, "FANS", &r) == 0 && r.status == STAMPEDE_S_OK &&
		      r.u.queue.state == STAMPEDE_QUEUE_ADMITTED,
	      "redemption after restart: %s/%s", stampede_status_name(r.status), stampede_detail_name(r.detail));
	for (unsigned i = 0; i < BUYERS; i++) {
		int rc = stampede_queue_poll(b[i], EV, ticket[i], &r);
		CHECK(rc == 0 && r.status == STAMPEDE_S_OK && r.u.queue.position == i &&
			      r.u.queue.state == (i < 2 ? STAMPEDE_QUEUE_ADMITTED : STAMPEDE_QUEUE_WAITING),
		      "poll %u after restart: rc %d status %s state %u position %llu", i, rc,
		      stampede_status_name(r.status), r.u.queue.state, (unsigned long long)r.u.queue.position);
	}
	CHECK(stampede_hold_ga(b[0], EV, GA, 1, access, &r) == 0 && r.status == STAMPEDE_S_OK,
	      "token after restart: %s/%s", stampede_status_name(r.status), stampede_detail_name(r.detail));
	for (unsigned i = 0; i < BUYERS; i++)
		stampede_client_close(b[i]);
	if (failures)
		fprintf(stderr, "netns queue driver: %d failure(s)\n", failures);
	else
		printf("netns queue driver: ok\n");
	return failures ? 1 : 0;
}
