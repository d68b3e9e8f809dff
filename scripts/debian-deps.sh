#!/usr/bin/env bash
# Installs the Debian packages the tests need (real broker, DHCP/DNS server, namespaces, openssl,
# python3 for the SPI bridge client), when missing. Run as root on a fresh Debian machine.
set -euo pipefail
need=()
for pkg in mosquitto:mosquitto mosquitto_passwd:mosquitto dnsmasq:dnsmasq ip:iproute2 python3:python3 openssl:openssl; do
  bin=${pkg%%:*}
  command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] || need+=("${pkg#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
# The tests start their own broker and DHCP/DNS servers on free ports; the packaged services are not used.
