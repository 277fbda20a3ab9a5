/*
 * dp_token.h - the waiting room's signed queue tickets and access tokens
 * (issue 5), and the HMAC key set that signs them.
 *
 * A token is exactly DP_TOKEN_SIZE (= PROTO_TOKEN_SIZE) bytes, little-endian:
 *
 *   off size field
 *     0    1 version    DP_TOKEN_VERSION (1)
 *     1    1 kind       DP_TOKEN_TICKET (1) or DP_TOKEN_ACCESS (2)
 *     2    1 key_id     id of the key that signed it
 *     3    1 flags      bit 0 DP_TOKEN_F_PREQUEUE (tickets only); bit 1
 *                       DP_TOKEN_F_PRESALE (both kinds), bits 2..4 its
 *                       presale window index (0 without PRESALE); bits 5..7 0
 *     4    4 event_id
 *     8    8 client_id
 *    16    8 position   ticket: queue position, or for a pre-queue ticket its
 *                       pre-queue join sequence; token: the admitted position
 *    24    8 time_ms    ticket: join time; token: expiry (ms since the epoch)
 *    32   32 mac        HMAC-SHA256 of bytes 0..31 with key key_id
 *
 * Minting and verifying allocate nothing and make no system call: they may
 * run on a poll-mode core. Loading, generating and rotating key files are
 * control-path functions (they allocate and do I/O). Full description:
 * docs/waiting-room.md.
 */
#ifndef STAMPEDE_DP_TOKEN_H
#define STAMPEDE_DP_TOKEN_H

#include <stddef.h>
#include <stdint.h>

/* ---- named limits and constants ---- */
#define DP_TOKEN_SIZE 64           /* bytes on the wire (PROTO_TOKEN_SIZE) */
#define DP_TOKEN_BODY_SIZE 32      /* signed bytes: the fields */
#define DP_TOKEN_MAC_SIZE 32       /* HMAC-SHA256 */
#define DP_TOKEN_VERSION 1
#define DP_TOKEN_F_PREQUEUE 0x01u  /* ticket taken before the on-sale time */
#define DP_TOKEN_F_PRESALE 0x02u   /* taken with a presale code; window index in DP_TOKEN_WINDOW_MASK */
#define DP_TOKEN_WINDOW_SHIFT 2
#define DP_TOKEN_WINDOW_MASK 0x1cu /* bits 2..4: presale window index 0..7 */
/* The presale window index of a token's flags (meaningful with DP_TOKEN_F_PRESALE). */
#define DP_TOKEN_WINDOW(flags) (((unsigned)(flags) & DP_TOKEN_WINDOW_MASK) >> DP_TOKEN_WINDOW_SHIFT)
/* The flags of a presale token of window w (0..7). */
#define DP_TOKEN_PRESALE_FLAGS(w) ((uint8_t)(DP_TOKEN_F_PRESALE | (((unsigned)(w) << DP_TOKEN_WINDOW_SHIFT) & DP_TOKEN_WINDOW_MASK)))
#define DP_TOKEN_ACCESS_WINDOW_MS_DEFAULT (10u * 60u * 1000u) /* purchase window */
#define DP_KEY_SIZE 32             /* bytes of one HMAC key */
#define DP_KEYS_MAX 2              /* live keys: current and previous */
#define DP_KEYS_FILE_MAX 65536     /* bytes of a key file */
#define DP_KEYS_ERR_MAX 256        /* enough for any loader message with a path */

enum dp_token_kind {
	DP_TOKEN_TICKET = 1, /* queue ticket: proves a place in the queue */
	DP_TOKEN_ACCESS = 2, /* access token: admitted, may hold until time_ms */
};

/* What verification found; only DP_TOKEN_OK accepts. Checked in this order. */
enum dp_token_result {
	DP_TOKEN_OK = 0,
	DP_TOKEN_MALFORMED,    /* version not 1, kind not 1 or 2, or flag bits not allowed */
	DP_TOKEN_UNKNOWN_KEY,  /* signed by a key not in the set (dropped, or never ours) */
	DP_TOKEN_FORGED,       /* the MAC does not match */
	DP_TOKEN_WRONG_KIND,   /* a ticket where a token was expected, or the reverse */
	DP_TOKEN_WRONG_EVENT,  /* signed for another event */
	DP_TOKEN_WRONG_CLIENT, /* signed for another client id */
	DP_TOKEN_EXPIRED,      /* access token whose expiry is not after now */
	DP_TOKEN__COUNT
};

/* The fields of a token (everything but version and MAC). */
struct dp_token_fields {
	uint8_t kind;   /* enum dp_token_kind */
	uint8_t key_id; /* verify: the signing key; mint: ignored (the current key signs) */
	uint8_t flags;  /* DP_TOKEN_F_* */
	uint32_t event_id;
	uint64_t client_id;
	uint64_t position;
	uint64_t time_ms; /* ticket: join time; token: expiry */
};

/* A set of at most DP_KEYS_MAX keys, the first current. Opaque: one set is
 * read by any number of threads at once (mint and verify only read it); it
 * is changed only by its owner before it is shared. */
struct dp_keys;

/* One key as written in a key file. */
struct dp_key_entry {
	uint8_t id;
	uint8_t secret[DP_KEY_SIZE];
};

/* ---- key sets (control path: may allocate) ---- */

/*
 * A new, empty key set (mint refuses until a key is added). Returns NULL
 * when out of memory. Free with dp_keys_free.
 */
struct dp_keys *dp_keys_new(void);

/* Wipes the secrets and frees ks. ks may be NULL. */
void dp_keys_free(struct dp_keys *ks);

/*
 * Adds a key to ks, as the previous key if ks already has a current one,
 * else as the current one. secret: DP_KEY_SIZE bytes. Returns 0, -EEXIST
 * if id is already in the set, or -ENOSPC if the set holds DP_KEYS_MAX keys.
 */
int dp_keys_add(struct dp_keys *ks, uint8_t id, const uint8_t *secret);

/*
 * Rotation in memory: the new key (id, DP_KEY_SIZE-byte secret) becomes
 * current, the current one previous, and the previous one is dropped.
 * Returns 0, or -EEXIST if id is the current key's id (tokens from the two
 * could not be told apart).
 */
int dp_keys_rotate(struct dp_keys *ks, uint8_t id, const uint8_t *secret);

/* Number of keys in ks (0..DP_KEYS_MAX). */
unsigned dp_keys_count(const struct dp_keys *ks);

/* The current key's id, or -ENOKEY if ks is empty. */
int dp_keys_current_id(const struct dp_keys *ks);

/* ---- tokens (per request: no allocation, no system call) ---- */

/*
 * Signs f with the current key of ks into tok (DP_TOKEN_SIZE bytes).
 * f->key_id is ignored. f->kind must be DP_TOKEN_TICKET or DP_TOKEN_ACCESS;
 * f->flags may hold DP_TOKEN_F_PREQUEUE for a ticket only, and
 * DP_TOKEN_F_PRESALE with a window index for either kind. Returns 0,
 * -ENOKEY if ks has no key, or -EINVAL for a bad kind or flags (tok is then
 * left unchanged).
 */
int dp_token_mint(const struct dp_keys *ks, const struct dp_token_fields *f, uint8_t *tok);

/*
 * Verifies tok (DP_TOKEN_SIZE bytes, any content) as a token of kind
 * want_kind for event_id and client_id at time now_ms; for an access token
 * the expiry must be after now_ms (a ticket has no expiry here). Checks in
 * the order of enum dp_token_result and returns the first failure, or
 * DP_TOKEN_OK; the MAC is compared in constant time. Writes *out (may be
 * NULL) only on DP_TOKEN_OK. want_kind must be a dp_token_kind.
 */
enum dp_token_result dp_token_verify(const struct dp_keys *ks, const uint8_t *tok, uint8_t want_kind,
				     uint32_t event_id, uint64_t client_id, uint64_t now_ms,
				     struct dp_token_fields *out);

/* Name of a result ("ok", "forged", ...); "?" for a value out of range. */
const char *dp_token_result_name(enum dp_token_result r);

/*
 * HMAC-SHA256 of the DP_TOKEN_BODY_SIZE bytes at body with key key_id of
 * ks into mac (DP_TOKEN_MAC_SIZE bytes), as mint and verify compute it.
 * Returns 0 or -ENOKEY if key_id is not in ks. For tests and tools.
 */
int dp_token_mac(const struct dp_keys *ks, uint8_t key_id, const uint8_t *body, uint8_t *mac);

/* ---- key files (control path: allocate, do I/O) ----
 *
 * Format: text, one key per line `ID HEX`, ID a decimal 0..255 and HEX
 * exactly 2 * DP_KEY_SIZE hex digits, separated by spaces or tabs; `#`
 * starts a comment; blank lines are ignored. One or DP_KEYS_MAX keys; the
 * first is current. Every function below writes a message to err (err_len
 * bytes, may be 0) on failure: "FILE:LINE: what is wrong" for content,
 * "FILE: what is wrong" otherwise.
 */

/*
 * Loads the key file at path into a new set (*out, free with
 * dp_keys_free). The file must be a regular file owned by the effective
 * uid and neither readable nor writable by group or others. Returns 0;
 * -EPERM (wrong owner or mode, or not a regular file); -EFBIG (over
 * DP_KEYS_FILE_MAX bytes); -EINVAL (content: see dp_keys_parse); -ENOMEM;
 * or the negative errno of open/fstat/read. *out is set only on 0.
 */
int dp_keys_load(const char *path, struct dp_keys **out, char *err, size_t err_len);

/*
 * Parses key-file text (len bytes at text, need not end in NUL) as
 * dp_keys_load does, without any file or permission check; name is used in
 * messages. Returns 0 and a new set in *out; -EINVAL for a bad id, a key
 * that is not exactly 2 * DP_KEY_SIZE hex digits, text after the key, a NUL
 * byte, a duplicate id, more than DP_KEYS_MAX keys, or no key at all;
 * -EFBIG over DP_KEYS_FILE_MAX bytes; -ENOMEM. *out is set only on 0.
 */
int dp_keys_parse(const char *text, size_t len, const char *name, struct dp_keys **out, char *err,
		  size_t err_len);

/*
 * As dp_keys_parse, but returns the entries in order (current first) into
 * e[DP_KEYS_MAX] and their number into *n, building no set. Same errors,
 * less -ENOMEM.
 */
int dp_keys_parse_entries(const char *text, size_t len, const char *name, struct dp_key_entry *e,
			  unsigned *n, char *err, size_t err_len);

/*
 * Creates a new key file at path (which must not exist) holding one key,
 * id, with DP_KEY_SIZE random bytes from OpenSSL's RAND_bytes, mode 0600.
 * Returns 0; -EEXIST if path exists; -EIO if RAND_bytes fails; or the
 * negative errno of open/write/fsync/close (a partly written file is
 * removed).
 */
int dp_keys_generate(const char *path, uint8_t id, char *err, size_t err_len);

/*
 * Rotates the key file at path: loads it (all dp_keys_load checks), makes
 * a new random key current, keeps the old current as previous and drops the
 * older one. The new id is the current id + 1 (mod 256), skipping the
 * previous key's id; it is written to *new_id (may be NULL). The file is
 * replaced atomically (a 0600 temporary in the same directory, fsync,
 * rename, directory fsync). Returns 0, any dp_keys_load error, -EIO if
 * RAND_bytes fails, or the negative errno of a failed write step (the old
 * file is then left as it was).
 */
int dp_keys_rotate_file(const char *path, uint8_t *new_id, char *err, size_t err_len);

#endif
