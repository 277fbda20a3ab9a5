/*
 * dp_names.c - names of statuses and details, shared by the engine, the
 * dataplane's telemetry and the client library (which links only this and
 * the protocol codec, not the engine).
 */
#include "dataplane/dp_engine.h"

const char *dp_status_name(int status)
{
	static const char *const names[DP_S__COUNT] = {
		[DP_S_OK] = "ok",
		[DP_S_TAKEN] = "taken",
		[DP_S_SOLD_OUT] = "sold_out",
		[DP_S_EXPIRED] = "expired",
		[DP_S_LIMIT] = "limit_reached",
		[DP_S_NOT_FOUND] = "not_found",
		[DP_S_BAD_REQUEST] = "bad_request",
		[DP_S_BAD_TOKEN] = "bad_token",
		[DP_S_NOT_ADMITTED] = "not_admitted",
		[DP_S_BUSY] = "busy",
		[DP_S_UNAVAILABLE] = "unavailable",
		[DP_S_NOT_YOURS] = "not_yours",
		[DP_S_RELEASED] = "released",
		[DP_S_CLOSED] = "closed",
	};
	return status >= 0 && status < DP_S__COUNT ? names[status] : "unknown";
}

const char *dp_detail_name(int detail)
{
	static const char *const names[DP_D__COUNT] = {
		[DP_D_NONE] = "none",
		[DP_D_QTY_ZERO] = "quantity_zero",
		[DP_D_QTY_TOO_MANY] = "quantity_too_large",
		[DP_D_DUP_SEAT] = "duplicate_seat",
		[DP_D_SEAT_RANGE] = "seat_out_of_range",
		[DP_D_IDEM_MISMATCH] = "request_id_reused",
		[DP_D_BAD_CLIENT] = "bad_client_id",
		[DP_D_BAD_OP] = "unknown_operation",
		[DP_D_WRONG_WORKER] = "wrong_worker",
		[DP_D_WRONG_KIND] = "wrong_kind",
		[DP_D_EVENT] = "event",
		[DP_D_PART] = "section_or_type",
		[DP_D_HOLD] = "hold",
		[DP_D_ORDER] = "order",
		[DP_D_WITHHELD] = "withheld",
		[DP_D_REBALANCING] = "rebalancing",
		[DP_D_LOG_FULL] = "log_full",
		[DP_D_STORAGE] = "storage_failed",
		[DP_D_HOLDS_FULL] = "hold_table_full",
		[DP_D_ORDERS_FULL] = "order_table_full",
		[DP_D_BUYERS_FULL] = "buyer_table_full",
		[DP_D_CONFIRMED] = "already_confirmed",
		[DP_D_REPLAY] = "replayed",
		[DP_D_RETRY_MEMORY] = "retry_memory_full",
		[DP_D_TOKEN_MALFORMED] = "token_malformed",
		[DP_D_TOKEN_UNKNOWN_KEY] = "token_unknown_key",
		[DP_D_TOKEN_FORGED] = "token_forged",
		[DP_D_TOKEN_WRONG_KIND] = "token_wrong_kind",
		[DP_D_TOKEN_WRONG_EVENT] = "token_wrong_event",
		[DP_D_TOKEN_WRONG_CLIENT] = "token_wrong_client",
		[DP_D_TOKEN_EXPIRED] = "token_expired",
		[DP_D_QUEUE_RESERVE] = "queue_reserve_full",
		[DP_D_NO_KEYS] = "no_keys",
		[DP_D_PRESALE_ONLY] = "presale_only",
		[DP_D_CODE_UNKNOWN] = "code_unknown",
		[DP_D_CODE_WINDOW] = "code_window",
		[DP_D_CODE_USED_UP] = "code_used_up",
		[DP_D_CODE_PENDING] = "code_pending",
	};
	return detail >= 0 && detail < DP_D__COUNT ? names[detail] : "unknown";
}
