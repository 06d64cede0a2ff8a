#!/bin/busybox sh
# /init of the diskwatch test rig's initramfs. The console (ttyS0) only
# logs; commands come over the virtio-serial port named "rig" (agent.sh).
# With /etc/rig/root the initramfs only loads the modules and boots the
# Debian root on /dev/vda with its own init (systemd), which runs the same
# agent as rig-agent.service.
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

if [ -e /etc/rig/root ]; then
	i=0
	while [ ! -b /dev/vda ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
	mkdir -p /newroot
	if ! mount -t ext4 /dev/vda /newroot; then
		echo "rig: cannot mount the root /dev/vda"
		poweroff -f
	fi
	# The caller's files, then the agent and its unit; the root image
	# itself is never written (QEMU snapshot=on).
	[ -d /carry ] && cp -a /carry/. /newroot/
	mkdir -p /newroot/usr/local/sbin /newroot/etc/systemd/system/multi-user.target.wants
	cp /etc/rig/agent.sh /newroot/usr/local/sbin/rig-agent
	printf '%s\n' '[Unit]' 'Description=diskwatch test rig command channel' '' \
		'[Service]' 'ExecStart=/bin/sh /usr/local/sbin/rig-agent' '' \
		'[Install]' 'WantedBy=multi-user.target' >/newroot/etc/systemd/system/rig-agent.service
	ln -sf /etc/systemd/system/rig-agent.service /newroot/etc/systemd/system/multi-user.target.wants/rig-agent.service
	echo "rig: switching to the Debian root at $(cut -d' ' -f1 /proc/uptime)s"
	mount --move /dev /newroot/dev
	mount --move /proc /newroot/proc
	mount --move /sys /newroot/sys
	exec switch_root /newroot /sbin/init
fi

. /etc/rig/agent.sh

