// Command smartdump is a rig helper: it runs in the QEMU guest next to
// diskwatch and smartctl. `smartdump record PROTO DEV` reads a disk with the
// native SMART reader and prints every command's raw answer as JSON (the
// decoder tests replay these); `smartdump standby DEV` sends ATA STANDBY
// IMMEDIATE through SG_IO; `smartdump power DEV` prints the CHECK POWER
// MODE result.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/diskwatch/diskwatch/collectors/model"
	"github.com/diskwatch/diskwatch/collectors/smart"
	"github.com/diskwatch/diskwatch/collectors/smart/passthrough"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: smartdump record ata|nvme|scsi DEV | standby DEV | power DEV")
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
