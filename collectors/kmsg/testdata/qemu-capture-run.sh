#!/bin/sh
cd /tmp/hwraid
exec qemu-system-x86_64 -nographic -m 512 -smp 2 -accel tcg -cpu max -no-reboot \
 -kernel k/boot/vmlinuz-6.1.0-56-amd64 -initrd initrd.gz -append "console=ttyS0 loglevel=1 panic=-1" \
 -device ahci,id=ahci \
 -drive if=none,id=a0,file=a0.img,format=raw -device ide-hd,drive=a0,bus=ahci.0,serial=AHCI0 \
 -drive if=none,id=a1,file=a1.img,format=raw -device ide-hd,drive=a1,bus=ahci.1,serial=AHCI1 \
 -drive if=none,id=ae,file=blkdebug:inject.conf:ae.img,format=raw -device ide-hd,drive=ae,bus=ahci.2,serial=AHCIERR \
 -device virtio-scsi-pci,id=vs -drive if=none,id=ve,file=blkdebug:inject.conf:ve.img,format=raw -device scsi-hd,drive=ve,bus=vs.0,serial=VSERR \
 -drive if=none,id=ne,file=blkdebug:inject.conf:ne.img,format=raw -device nvme,id=nvme0,serial=NVMEERR,drive=ne \
 -device megasas,id=mr -drive if=none,id=m0,file=m0.img,format=raw -device scsi-hd,drive=m0,bus=mr.0,scsi-id=0,serial=MEGA0 \
 -device megasas-gen2,id=mr2,use_jbod=on -drive if=none,id=m1,file=m1.img,format=raw -device scsi-hd,drive=m1,bus=mr2.0,scsi-id=1,serial=MEGA1
