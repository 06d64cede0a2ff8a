#!/bin/sh
# The command channel of the diskwatch test rig, sourced by the initramfs's
# /init (busybox) or run by rig-agent.service in a Debian root (dash,
# coreutils). It serves the virtio-serial port named "rig":
#   host:  "EXEC <id> <timeout-seconds>\n", the script in base64 lines,
#          "@@EOF@@\n"
#   guest: "@@RIG BEGIN <id>@@\n", the step's output (stdout and stderr)
#          in base64 lines, "@@RIG END <id> <exit-code>@@\n"
#   host:  "POWEROFF\n" powers the machine off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
mkdir -p /tmp
agent() {
	echo "@@RIG READY $(uname -r)@@"
	while read -r cmd id secs; do
		case "$cmd" in
		EXEC)
			: >/tmp/step.b64
			while read -r line; do
				[ "$line" = "@@EOF@@" ] && break
				echo "$line" >>/tmp/step.b64
			done
			base64 -d /tmp/step.b64 >/tmp/step.sh
			timeout -s KILL "${secs:-60}" sh /tmp/step.sh >/tmp/step.out 2>&1 </dev/null
			rc=$?
			echo "@@RIG BEGIN $id@@"
			base64 /tmp/step.out
			echo "@@RIG END $id $rc@@"
			;;
		POWEROFF)
			sync
			poweroff -f
			;;
		esac
	done
}

port=
i=0
while [ -z "$port" ] && [ $i -lt 100 ]; do
	for p in /sys/class/virtio-ports/*; do
		[ "$(cat $p/name 2>/dev/null)" = rig ] && [ -c /dev/${p##*/} ] && port=/dev/${p##*/}
	done
	[ -n "$port" ] || sleep 0.1
	i=$((i + 1))
done
echo "rig: command channel $port"
# A virtio port can be opened once: one descriptor for both directions.
exec 3<>"$port"
agent <&3 >&3 2>&1
echo "rig: command channel closed"
poweroff -f
