package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/diskwatch/diskwatch/collectors/model"
	"github.com/diskwatch/diskwatch/collectors/smart"
)

// runSelfTest implements `diskwatch selftest DEVICE short|long`: start a
// SMART self-test by hand (never on a sleeping disk, never while one
// runs). Results are read back by `diskwatch smart` from the disk's log.
func runSelfTest(ctx context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("selftest", flag.ContinueOnError)
	var c common
	c.register(fs, e)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: diskwatch selftest [flags] DEVICE short|long\n\n"+
			"Starts a SMART self-test in the background (ATA SMART EXECUTE OFFLINE IMMEDIATE, NVMe\n"+
			"Device Self-test, SCSI SEND DIAGNOSTIC). Refuses a disk in standby and a disk already\n"+
			"testing. Read the result later with `diskwatch smart DEVICE`.\n\nflags:")
		fs.PrintDefaults()
	}
	pos, code, ok := parseInterleaved(fs, args, e)
	if !ok {
		return code
	}
	if len(pos) != 2 {
		fs.Usage()
		return exitUnknown
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	msg, err := smart.StartSelfTest(ctx, c.fs(), pos[0], pos[1], 10*time.Second)
	if err != nil {
		fmt.Fprintln(e.stderr, "diskwatch selftest: "+model.Clean(err.Error()))
		return exitUnknown
	}
	fmt.Fprintln(e.stdout, model.Clean(msg))
	return exitOK
}
