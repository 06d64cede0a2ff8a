package smart

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/diskwatch/diskwatch/collectors/smart/passthrough"
	"github.com/diskwatch/diskwatch/collectors/smart/scsi"
)

// Exchange is one command and what the device answered, as recorded from a
// real device (the QEMU rig) and replayed in unit tests.
type Exchange struct {
	Step string             `json:"step"`
	Data []byte             `json:"data,omitempty"`
	Regs *scsi.ATARegisters `json:"ata_registers,omitempty"`
	// Err is the error text; Kind says which sentinel it matched
	// ("unsupported", "aborted") so a replay fails the same way.
	Err  string `json:"error,omitempty"`
	Kind string `json:"kind,omitempty"`
}

// Recorder wraps a real transport and records every exchange.
type Recorder struct {
	Dev *passthrough.Device
	mu  sync.Mutex
	Log []Exchange
}

func (r *Recorder) add(step string, data []byte, regs *scsi.ATARegisters, err error) {
	e := Exchange{Step: step, Data: data, Regs: regs}
	if err != nil {
		e.Err = err.Error()
		switch {
		case errors.Is(err, passthrough.ErrUnsupported):
			e.Kind = "unsupported"
		case errors.Is(err, passthrough.ErrATAAborted):
			e.Kind = "aborted"
		}
	}
	r.mu.Lock()
	r.Log = append(r.Log, e)
	r.mu.Unlock()
}

// ATA implements ATATransport.
func (r *Recorder) ATA(ctx context.Context, step string, c passthrough.ATACommand, to time.Duration) ([]byte, *scsi.ATARegisters, error) {
	b, regs, err := r.Dev.ATA(ctx, step, c, to)
	r.add(step, b, regs, err)
	return b, regs, err
}

// SCSIRead implements SCSITransport.
func (r *Recorder) SCSIRead(ctx context.Context, step string, cdb []byte, n int, to time.Duration) ([]byte, error) {
	b, err := r.Dev.SCSIRead(ctx, step, cdb, n, to)
	r.add(step, b, nil, err)
	return b, err
}

// NVMeAdmin implements NVMeTransport.
func (r *Recorder) NVMeAdmin(ctx context.Context, step string, c passthrough.NVMeCommand, to time.Duration) ([]byte, uint32, error) {
	b, res, err := r.Dev.NVMeAdmin(ctx, step, c, to)
	r.add(step, b, nil, err)
	return b, res, err
}

// Replay answers commands from a recorded exchange list, by step name in
// order. A step that was not recorded fails as unsupported.
type Replay struct {
	mu   sync.Mutex
	left []Exchange
}

// NewReplay parses a recorded exchange list (JSON).
func NewReplay(b []byte) (*Replay, error) {
	var ex []Exchange
	if err := json.Unmarshal(b, &ex); err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	return &Replay{left: ex}, nil
}

func (r *Replay) next(step string) (Exchange, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, e := range r.left {
		if e.Step == step {
			r.left = append(r.left[:i:i], r.left[i+1:]...)
			if e.Err == "" {
				return e, nil
			}
			var kind error = errors.New(e.Err)
			switch e.Kind {
			case "unsupported":
				kind = passthrough.ErrUnsupported
			case "aborted":
				kind = passthrough.ErrATAAborted
			}
			return e, &passthrough.Error{Device: "replay", Step: step, Err: kind}
		}
	}
	return Exchange{}, &passthrough.Error{Device: "replay", Step: step, Err: passthrough.ErrUnsupported}
}

// ATA implements ATATransport.
func (r *Replay) ATA(_ context.Context, step string, _ passthrough.ATACommand, _ time.Duration) ([]byte, *scsi.ATARegisters, error) {
	e, err := r.next(step)
	return e.Data, e.Regs, err
}

// SCSIRead implements SCSITransport.
func (r *Replay) SCSIRead(_ context.Context, step string, _ []byte, _ int, _ time.Duration) ([]byte, error) {
	e, err := r.next(step)
	return e.Data, err
}

// NVMeAdmin implements NVMeTransport.
func (r *Replay) NVMeAdmin(_ context.Context, step string, _ passthrough.NVMeCommand, _ time.Duration) ([]byte, uint32, error) {
	e, err := r.next(step)
	return e.Data, 0, err
}
