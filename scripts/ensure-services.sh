#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on 127.0.0.1 before the tests run:
# start one that is installed but stopped; say how to install one that is missing.
set -u

pg_up() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || \
  python3 -c "import socket; socket.create_connection(('127.0.0.1', 5432), 1)" 2>/dev/null; }
redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG || \
  python3 -c "import socket; s = socket.create_connection(('127.0.0.1', 6379), 1); s.sendall(b'PING\r\n'); assert s.recv(7).startswith(b'+PONG')" 2>/dev/null; }

status=0

if ! pg_up; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    echo "PostgreSQL is stopped: starting it."
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
    for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  fi
  if ! pg_up; then
    echo "PostgreSQL is not running on 127.0.0.1:5432 and could not be started."
    echo "Install it with: apt-get install postgresql  (user postgres, trust authentication on 127.0.0.1)"
    status=1
  fi
fi

if ! redis_up; then
  if command -v redis-server >/dev/null 2>&1; then
    echo "Redis is stopped: starting it."
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
    for _ in $(seq 1 30); do redis_up && break; sleep 1; done
  fi
  if ! redis_up; then
    echo "Redis is not running on 127.0.0.1:6379 and could not be started."
    echo "Install it with: apt-get install redis-server"
    status=1
  fi
fi

exit $status
