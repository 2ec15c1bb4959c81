#!/usr/bin/env bash
# Enables RabbitMQ's MQTT plugin with a loopback listener on port 1885 (Mosquitto keeps 1883), without
# restarting the broker: the listener is set in the running node's application env before the plugin
# starts, and persisted in /etc/rabbitmq/rabbitmq.conf for the next boot. Idempotent, quiet.
# Used by test/bindings/amqp-mqtt-interop.test.ts (which skips if the plugin is off).
set -euo pipefail
PORT="${HOPSAFE_RABBIT_MQTT_PORT:-1885}"
CONF=/etc/rabbitmq/rabbitmq.conf
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
command -v rabbitmq-plugins >/dev/null 2>&1 || { echo "rabbitmq-plugins not found; skipping" >&2; exit 0; }
if ! $SUDO rabbitmq-plugins list -q -e 2>/dev/null | grep -q 'rabbitmq_mqtt\b'; then
  $SUDO rabbitmqctl -q eval "application:load(rabbitmq_mqtt), application:set_env(rabbitmq_mqtt, tcp_listeners, [{\"127.0.0.1\", ${PORT}}])." >/dev/null
  $SUDO rabbitmq-plugins enable -q rabbitmq_mqtt >/dev/null
fi
# Persist for the next boot (the plugin's schema is only known once the plugin is enabled).
if [ -w "$CONF" ] || [ -n "$SUDO" ]; then
  if ! grep -q '^mqtt\.listeners\.tcp' "$CONF" 2>/dev/null; then
    printf 'mqtt.listeners.tcp.default = 127.0.0.1:%s\n' "$PORT" | $SUDO tee -a "$CONF" >/dev/null
  fi
fi
# Wait (briefly) until the listener accepts.
for _ in $(seq 1 50); do
  if (exec 3<>"/dev/tcp/127.0.0.1/${PORT}") 2>/dev/null; then exit 0; fi
  sleep 0.2
done
echo "RabbitMQ MQTT listener did not come up on 127.0.0.1:${PORT}" >&2
exit 1
