# shellcheck shell=bash
# tools/peers_lib.sh - the private Redis and PostgreSQL servers of
# tools/bench-peers and tests/peers: started on unix sockets in a folder of
# the caller's, stopped by peers_stop_all (call it from an EXIT trap). Source
# it; nothing runs on its own. The caller's folder must be traversable by the
# postgres user when running as root (chmod 711).

PEERS_PG_BIN=/usr/lib/postgresql/15/bin
peers_redis_pid='' peers_pg_data=''
peers_as_pg=()
if ((EUID == 0)); then
	peers_as_pg=(runuser -u postgres --) # initdb and postgres refuse root
fi

# peers_redis_start DIR MODE: redis-server with its socket DIR/redis.sock and
# its AOF in DIR (appendonly, appendfsync MODE, no AOF rewrites, no RDB
# snapshots); returns once it answers PING.
peers_redis_start() {
	local dir=$1 mode=$2
	mkdir -p "$dir"
	redis-server --port 0 --unixsocket "$dir/redis.sock" --unixsocketperm 700 --dir "$dir" \
		--appendonly yes --appendfsync "$mode" --auto-aof-rewrite-percentage 0 --save '' \
		--daemonize no --logfile "$dir/redis.log" &
	peers_redis_pid=$!
	for _ in $(seq 200); do
		[ "$(redis-cli -s "$dir/redis.sock" ping 2>/dev/null)" = PONG ] && return 0
		sleep 0.05
	done
	echo "redis-server did not start:" >&2
	cat "$dir/redis.log" >&2
	return 1
}

# peers_redis_stop: stops the redis-server started last.
peers_redis_stop() {
	if [ -n "$peers_redis_pid" ]; then
		kill -TERM "$peers_redis_pid" 2>/dev/null || true
		wait "$peers_redis_pid" 2>/dev/null || true
		peers_redis_pid=''
	fi
}

# peers_pg_start DIR [SETTING=VALUE...]: a new PostgreSQL 15 cluster in
# DIR/data (trust auth, user postgres; initdb --no-sync, as the cluster is
# thrown away after), listening only on a socket in DIR,
# fsync and synchronous_commit on, plus the settings given; sets
# PEERS_PG_CONNINFO.
peers_pg_start() {
	local dir=$1 opts s
	shift
	mkdir -p "$dir"
	if ((EUID == 0)); then chown postgres: "$dir"; fi
	(cd / && "${peers_as_pg[@]}" "$PEERS_PG_BIN/initdb" -D "$dir/data" --auth=trust -U postgres --no-sync) \
		>"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; return 1; }
	peers_pg_data="$dir/data"
	opts="-c listen_addresses='' -c unix_socket_directories=$dir -c fsync=on -c synchronous_commit=on"
	for s in "$@"; do opts+=" -c $s"; done
	(cd / && "${peers_as_pg[@]}" "$PEERS_PG_BIN/pg_ctl" -D "$peers_pg_data" -l "$dir/postgres.log" -w -o "$opts" \
		start) >/dev/null || { cat "$dir/postgres.log" >&2; return 1; }
	# shellcheck disable=SC2034 # read by the scripts that source this file
	PEERS_PG_CONNINFO="host=$dir user=postgres dbname=postgres"
}

# peers_pg_stop: stops the cluster started last (immediate: its data is
# thrown away).
peers_pg_stop() {
	if [ -n "$peers_pg_data" ] && [ -f "$peers_pg_data/postmaster.pid" ]; then
		(cd / && "${peers_as_pg[@]}" "$PEERS_PG_BIN/pg_ctl" -D "$peers_pg_data" -m immediate -w stop) \
			>/dev/null 2>&1 || true
	fi
	peers_pg_data=''
}

# peers_stop_all: stops whatever is still running.
peers_stop_all() {
	peers_redis_stop
	peers_pg_stop
}
