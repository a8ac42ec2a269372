#!/usr/bin/env bash
# The tests talk to a real Mosquitto (MQTT_URL) and a real PostgreSQL (DATABASE_URL).
# On the development and CI machines both normally run already; start them if not.
set -euo pipefail

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! listening 1883; then
  echo "starting mosquitto on 127.0.0.1:1883"
  if [ -f /etc/mosquitto/mosquitto.conf ]; then mosquitto -d -c /etc/mosquitto/mosquitto.conf
  else mosquitto -d -p 1883; fi
  for _ in $(seq 1 50); do listening 1883 && break; sleep 0.1; done
fi
if ! listening 5432 && command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "starting postgresql"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
fi
listening 1883 || { echo "mosquitto is not reachable on 127.0.0.1:1883" >&2; exit 1; }
