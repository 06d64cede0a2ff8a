// Command smartdump is a rig helper: it runs in the QEMU guest next to
// diskwatch and smartctl. `smartdump record PROTO DEV` reads a disk with the
// native SMART reader and prints every command's raw answer as JSON (the
// decoder tests replay these); `smartdump standby DEV` sends ATA STANDBY
// IMMEDIATE through SG_IO; `smartdump power DEV` prints the CHECK POWER
// MODE result; `smartdump bench PROTO N DEV` times N full reads of DEV three
// ways: the native reader in this process (the daemon's cost), `diskwatch
// smart --format json DEV` as a one-shot process, and `smartctl -a -j DEV`.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/diskwatch/diskwatch/collectors/execx"
	"github.com/diskwatch/diskwatch/collectors/model"
	"github.com/diskwatch/diskwatch/collectors/smart"
	"github.com/diskwatch/diskwatch/collectors/smart/passthrough"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: smartdump record ata|nvme|scsi DEV | bench ata|nvme|scsi N DEV | standby DEV | power DEV")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dev := os.Args[len(os.Args)-1]
	d, err := passthrough.Open(dev)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer d.Close()
	switch os.Args[1] {
	case "standby":
		_, _, err := d.ATA(ctx, "STANDBY IMMEDIATE", passthrough.ATACommand{Command: passthrough.ATAStandbyNow, Protocol: passthrough.ATANonData}, 10*time.Second)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	case "power":
		mode, err := smart.CheckPowerMode(ctx, d, 10*time.Second)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println(mode)
	case "bench":
		n, _ := strconv.Atoi(os.Args[3])
		if n <= 0 {
			n = 10
		}
		timeRuns := func(f func() error) (time.Duration, error) {
			if err := f(); err != nil { // warm-up, not counted
				return 0, err
			}
			start := time.Now()
			for i := 0; i < n; i++ {
				if err := f(); err != nil {
					return 0, err
				}
			}
			return time.Since(start) / time.Duration(n), nil
		}
		native, err := timeRuns(func() error {
			d2, err := passthrough.Open(dev)
			if err != nil {
				return err
			}
			defer d2.Close()
			r := &smart.Reader{Standby: smart.Standby{Mode: "standby"}}
			disk := &model.Disk{}
			switch os.Args[2] {
			case "ata":
				return r.ReadATA(ctx, d2, disk)
			case "nvme":
				return r.ReadNVMe(ctx, d2, disk)
			}
			return r.ReadSCSI(ctx, d2, disk)
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		cfg := "/tmp/smartdump-bench.yaml"
		os.WriteFile(cfg, []byte("collectors:\n  mdraid: {enabled: false}\n  smart: {devices: ["+dev+"], smartctl_fallback: false}\n"), 0o600)
		oneShot, err := timeRuns(func() error {
			_, err := execx.Output(ctx, time.Minute, "/usr/bin/diskwatch", "smart", "--config", cfg, "--format", "json", dev)
			return err
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "diskwatch:", err)
		}
		sc, err := timeRuns(func() error {
			_, err := execx.Output(ctx, time.Minute, "smartctl", "-a", "-j", dev)
			var ee *execx.ExitError
			if errors.As(err, &ee) && ee.Code&3 == 0 {
				return nil // bits 2-7 are findings, not failures
			}
			return err
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "smartctl:", err)
		}
		startup, _ := timeRuns(func() error {
			_, err := execx.Output(ctx, time.Minute, "/usr/bin/diskwatch", "version")
			return err
		})
		fmt.Printf("%s native-in-process %v diskwatch-one-shot %v smartctl %v (diskwatch version alone %v) smartctl/native %.1fx smartctl/one-shot %.1fx\n",
			dev, native.Round(time.Microsecond), oneShot.Round(time.Microsecond), sc.Round(time.Microsecond), startup.Round(time.Microsecond),
			float64(sc)/float64(native), float64(sc)/float64(oneShot))
	case "record":
		rec := &smart.Recorder{Dev: d}
		r := &smart.Reader{Standby: smart.Standby{Mode: "never"}}
		disk := &model.Disk{}
		switch os.Args[2] {
		case "ata":
			err = r.ReadATA(ctx, rec, disk)
		case "nvme":
			err = r.ReadNVMe(ctx, rec, disk)
		default:
			err = r.ReadSCSI(ctx, rec, disk)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", " ")
		enc.Encode(rec.Log)
	default:
		fmt.Fprintln(os.Stderr, "unknown subcommand", os.Args[1])
		os.Exit(2)
	}
}
