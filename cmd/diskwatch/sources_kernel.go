package main

import (
	"sync"
	"time"

	"github.com/diskwatch/diskwatch/alerts/config"
	"github.com/diskwatch/diskwatch/alerts/history"
	"github.com/diskwatch/diskwatch/collectors"
	"github.com/diskwatch/diskwatch/collectors/hostroot"
	"github.com/diskwatch/diskwatch/collectors/hwraid"
	"github.com/diskwatch/diskwatch/collectors/kmsg"
	"github.com/diskwatch/diskwatch/collectors/smartctl"
)

// kmsgCollectors keeps one kernel-log collector per host root and state
// directory for the life of the process, so a daemon reads /dev/kmsg from
// one open descriptor and sees bursts that span cycles.
var (
	kmsgMu         sync.Mutex
	kmsgCollectors = map[[2]string]*kmsg.Collector{}
)

// kmsgSource builds (or reuses) the kernel-log collector. On the live host
// its position is kept in the command's state directory (--state; else
// daemon.state_dir; else /var/lib/diskwatch); under --root nothing is kept
// and the whole fixture log is read.
func kmsgSource(fs hostroot.FS, cfg *config.Config, h runState) collectors.Named {
	dir := ""
	if fs.IsHost() {
		dir = h.stateDir
		if dir == "" || dir == "off" {
			dir = cfg.Daemon.StateDir
		}
		if dir == "" {
			dir = history.DefaultDir
		}
	}
	kmsgMu.Lock()
	defer kmsgMu.Unlock()
	key := [2]string{fs.Root(), dir}
	c := kmsgCollectors[key]
	if c == nil {
		c = kmsg.New(fs, kmsg.Options{StateDir: dir, Now: h.now})
		kmsgCollectors[key] = c
	}
	return collectors.Named{Name: "kmsg", Collector: c, Timeout: 20 * time.Second}
}

// hwraidSource builds the collector of disks behind 3ware and MegaRAID
// controllers: MFI pass-through natively, smartctl (-d 3ware,N /
// megaraid,N) as the fallback, both on the live host only.
func hwraidSource(fs hostroot.FS, cfg *config.Config) collectors.Named {
	var sc hwraid.SmartctlReader
	if fs.IsHost() {
		b := smartctl.Backend{Program: cfg.Collectors.Smartctl.Program, Timeout: cfg.Collectors.Smartctl.Timeout, NoCheck: cfg.Collectors.Smartctl.NoCheck}
		sc = b
	}
	c := hwraid.New(fs, &hwraid.HostNative{FS: fs}, sc)
	c.SmartctlProgram = cfg.Collectors.Smartctl.Program
	return collectors.Named{Name: "hwraid", Collector: c, Timeout: 2 * time.Minute}
}
