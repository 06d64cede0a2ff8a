package rules

import (
	"fmt"
	"strings"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// SourceRules report on the collectors themselves.
func SourceRules() []*Rule { return []*Rule{sourceFailed, nothingToWatch} }

var sourceFailed = &Rule{
	Name:    "collector.failed",
	Summary: "a collector could not run, or could not read some of its subjects (UNKNOWN); missing privileges are said once, with the fix",
	Eval: func(in *Input, _ Params) []model.Finding {
		var out []model.Finding
		perm := false
		for _, s := range in.Snapshot.Sources {
			if s.PermissionDenied {
				perm = true
			}
			if s.State != model.SourceFailed && s.State != model.SourcePartial {
				continue
			}
			var errs []string
			for _, e := range s.Errors {
				if !isPermission(e) && !unreachableUPS(in.Snapshot, e) {
					errs = append(errs, model.Clean(e))
				}
			}
			if len(errs) == 0 {
				continue
			}
			verb := "failed"
			if s.State == model.SourcePartial {
				verb = "could not read everything"
			}
			out = append(out, model.Finding{
				Severity: model.Unknown, Subject: "collector " + s.Name, SubjectID: "collector:" + s.Name,
				Message:  fmt.Sprintf("%s collector %s: %s", s.Name, verb, strings.Join(errs, "; ")),
				Evidence: errs,
			})
		}
		if perm {
			out = append(out, model.Finding{
				Severity: model.OK, Rule: "collector.permission", Subject: "diskwatch", SubjectID: "collector:permission",
				Message: "some devices could not be read for lack of privileges",
				Remedy:  "run diskwatch as root, or grant it CAP_SYS_RAWIO and CAP_SYS_ADMIN (setcap cap_sys_rawio,cap_sys_admin+ep $(command -v diskwatch))",
			})
		}
		return out
	},
}

// unreachableUPS reports whether e is the error of a UPS in the snapshot
// that could not be read: ups.comm_lost reports that cause, once.
func unreachableUPS(s *model.Snapshot, e string) bool {
	for _, u := range s.UPS {
		if !u.Reachable && u.Error != "" && strings.Contains(e, u.Error) {
			return true
		}
	}
	return false
}

func isPermission(e string) bool {
	return strings.Contains(e, "permission denied") || strings.Contains(e, "operation not permitted")
}

var nothingToWatch = &Rule{
	Name:    "collector.nothing",
	Summary: "nothing on this host could be watched (no md arrays, no readable disks, no UPS or sensors): said plainly, status OK",
	Eval: func(in *Input, _ Params) []model.Finding {
		s := in.Snapshot
		if len(s.Arrays)+len(s.Disks)+len(s.UPS)+len(s.Sensors) > 0 {
			return nil
		}
		var absent []string
		for _, src := range s.Sources {
			if src.State == model.SourceFailed && !src.PermissionDenied {
				return nil // a failure is collector.failed's to report
			}
			absent = append(absent, src.Name)
		}
		return []model.Finding{{
			Severity: model.OK, Subject: "diskwatch", SubjectID: "collector:nothing",
			Message: fmt.Sprintf("nothing to watch on this host: no md arrays, readable disks, UPS or sensors found (looked at: %s)", strings.Join(absent, ", ")),
		}}
	},
}
