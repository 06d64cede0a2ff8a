#!/bin/busybox sh
# /init of the diskwatch test rig's initramfs. The console (ttyS0) only
# logs; commands come over the virtio-serial port named "rig":
#   host:  "EXEC <id> <timeout-seconds>\n", the script in base64 lines,
#          "@@EOF@@\n"
#   guest: "@@RIG BEGIN <id>@@\n", the step's output (stdout and stderr)
#          in base64 lines, "@@RIG END <id> <exit-code>@@\n"
#   host:  "POWEROFF\n" powers the machine off.
/bin/busybox mkdir -p /proc /sys /dev /tmp /run/mdadm /etc /root
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
echo "rig: init at $(cut -d' ' -f1 /proc/uptime)s"
# A task stuck in the kernel is reported on the console within a minute
# (the default 120 s outlives a step's timeout).
[ -w /proc/sys/kernel/hung_task_timeout_secs ] && echo 20 >/proc/sys/kernel/hung_task_timeout_secs
while read -r m; do
	[ -n "$m" ] || continue
	insmod "/lib/modules/rig/$m.ko" || echo "rig: insmod $m failed"
done </etc/rig/modules
echo "rig: modules loaded at $(cut -d' ' -f1 /proc/uptime)s"

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
