package rig

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"time"
)

// qmpClient speaks the QEMU Machine Protocol over the VM's QMP socket.
type qmpClient struct {
	conn net.Conn
	r    *bufio.Reader
}

func (q *qmpClient) close() { q.conn.Close() }

type qmpReply struct {
	Return json.RawMessage `json:"return"`
	Error  *struct {
		Class string `json:"class"`
		Desc  string `json:"desc"`
	} `json:"error"`
	Event string `json:"event"`
	QMP   any    `json:"QMP"`
}

// read returns the next reply that is not an asynchronous event.
func (q *qmpClient) read() (qmpReply, error) {
	for {
		line, err := q.r.ReadBytes('\n')
		if err != nil {
			return qmpReply{}, fmt.Errorf("qmp: read: %w", err)
		}
		var r qmpReply
		if err := json.Unmarshal(line, &r); err != nil {
			return qmpReply{}, fmt.Errorf("qmp: %w in %q", err, line)
		}
		if r.Event == "" {
			return r, nil
		}
	}
}

func (q *qmpClient) do(cmd string, args any) (json.RawMessage, error) {
	req := map[string]any{"execute": cmd}
	if args != nil {
		req["arguments"] = args
	}
	b, _ := json.Marshal(req)
	if _, err := q.conn.Write(append(b, '\n')); err != nil {
		return nil, fmt.Errorf("qmp %s: %w", cmd, err)
	}
	r, err := q.read()
	if err != nil {
		return nil, fmt.Errorf("qmp %s: %w", cmd, err)
	}
	if r.Error != nil {
		return nil, fmt.Errorf("qmp %s: %s: %s", cmd, r.Error.Class, r.Error.Desc)
	}
	return r.Return, nil
}

// diagnose asks QEMU, after a step got no answer, whether the machine
// runs and where its vCPUs are, to tell a stuck guest task from a stalled
// emulator. The caller holds vm.mu.
func (vm *VM) diagnose(ctx context.Context) string {
	if vm.proc == nil {
		return ""
	}
	select {
	case <-vm.proc.Done():
		return "; qemu has exited"
	default:
	}
	dctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var b []byte
	st, err := vm.qmpLocked(dctx, "query-status", nil)
	if err != nil {
		return "; qmp: " + err.Error()
	}
	b = append(b, "; qemu status "...)
	b = append(b, st...)
	for _, hmp := range []string{"info cpus", "info registers -a"} {
		r, err := vm.qmpLocked(dctx, "human-monitor-command", map[string]any{"command-line": hmp})
		if err != nil {
			b = append(b, "\n"+hmp+": "+err.Error()...)
			break
		}
		var s string
		if json.Unmarshal(r, &s) == nil {
			if len(s) > 3000 {
				s = s[:3000] + "..."
			}
			b = append(b, "\n"+hmp+":\n"+s...)
		}
	}
	return string(b)
}

// QMP runs one QMP command (e.g. "qom-set" with arguments {"path":
// "/machine/peripheral/nvme0", "property": "smart_critical_warning",
// "value": 4}) and returns its "return" value.
func (vm *VM) QMP(ctx context.Context, cmd string, args any) (json.RawMessage, error) {
	vm.mu.Lock()
	defer vm.mu.Unlock()
	return vm.qmpLocked(ctx, cmd, args)
}

func (vm *VM) qmpLocked(ctx context.Context, cmd string, args any) (json.RawMessage, error) {
	if vm.qmp == nil {
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		conn, err := vm.dial(dctx, filepath.Join(vm.dir, "qmp.sock"))
		cancel()
		if err != nil {
			return nil, fmt.Errorf("rig: qmp: %w", err)
		}
		q := &qmpClient{conn: conn, r: bufio.NewReader(conn)}
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := q.read(); err != nil { // greeting
			conn.Close()
			return nil, fmt.Errorf("rig: %w", err)
		}
		if _, err := q.do("qmp_capabilities", nil); err != nil {
			conn.Close()
			return nil, fmt.Errorf("rig: %w", err)
		}
		vm.qmp = q
	}
	dl := time.Now().Add(30 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	vm.qmp.conn.SetDeadline(dl)
	r, err := vm.qmp.do(cmd, args)
	if err != nil {
		return nil, fmt.Errorf("rig: %w", err)
	}
	return r, nil
}
