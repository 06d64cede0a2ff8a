#!/bin/sh
byser() { for d in /sys/block/*; do if grep -q "$1" $d/device/wwid $d/device/vpd_pg80 $d/device/serial 2>/dev/null; then basename $d; return; fi; done; }
A0=$(byser AHCI0); A1=$(byser AHCI1); AE=$(byser AHCIERR); VE=$(byser VSERR); NE=$(ls /sys/block | grep nvme | head -1)
echo "== names A0=$A0 A1=$A1 AE=$AE VE=$VE NE=$NE"
echo 1 > /proc/sys/dev/raid/speed_limit_max 2>/dev/null
mdadm --create /dev/md0 --run --level=1 --raid-devices=2 --metadata=1.2 --assume-clean /dev/$A0 /dev/$A1
sleep 1
mdadm /dev/md0 --fail /dev/$A1
sleep 1
cat /proc/mdstat
for d in $AE $VE $NE; do
  echo "== write $d"; dd if=/dev/zero of=/dev/$d bs=512 seek=100000 count=8 oflag=direct 2>&1
  echo "== read $d"; dd if=/dev/$d of=/dev/null bs=512 skip=110000 count=8 iflag=direct 2>&1
done
sleep 2
