package rules

import (
	"fmt"
	"strings"
	"time"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// mdadm --monitor's events that diskwatch did not report: an array that
// mdadm.conf declares but that is not assembled, fewer spares than
// mdadm.conf's spares= (SparesMissing), and a spare that became active
// (SpareActive).

// MDAdmRules are the rules over mdadm.conf and spares.
func MDAdmRules() []*Rule { return []*Rule{mdNotAssembled, mdSparesMissing, mdSpareActive} }

// confMatch finds the running array a mdadm.conf line describes: by UUID,
// else by device name. unsure is set when no array matched but one whose
// UUID is unknown might be it.
func confMatch(arrays []model.Array, c *model.ConfArray) (a *model.Array, unsure bool) {
	kernel := c.Kernel
	if n, ok := strings.CutPrefix(c.Device, "/dev/"); ok && kernel == "" && !strings.Contains(n, "/") {
		kernel = n
	}
	for i := range arrays {
		x := &arrays[i]
		switch {
		case c.UUID != "" && x.UUID == c.UUID:
			return x, false
		case c.UUID != "" && x.UUID != "":
			// Known and different: not this one, whatever its name.
		case kernel != "" && x.Name == kernel:
			return x, false
		case x.UUID == "":
			unsure = true
		}
	}
	return nil, unsure
}

func confSubject(c *model.ConfArray) (string, string) {
	switch {
	case c.Device != "":
		return model.Clean(c.Device), "mdconf:" + model.Clean(c.Device)
	case c.UUID != "":
		return "md uuid " + c.UUID, "md:uuid:" + c.UUID
	}
	return fmt.Sprintf("mdadm.conf line %d", c.Line), fmt.Sprintf("mdconf:line%d", c.Line)
}

var mdNotAssembled = &Rule{
	Name: "md.not_assembled",
	Summary: "an array declared in mdadm.conf (ARRAY line with a UUID or device) is not assembled: its data is not available " +
		"(WARNING; IMSM/DDF container lines are not judged)",
	Eval: func(in *Input, _ Params) []model.Finding {
		var out []model.Finding
		for i := range in.Snapshot.MDConf {
			c := &in.Snapshot.MDConf[i]
			if c.External || (c.UUID == "" && c.Device == "") {
				continue
			}
			if a, unsure := confMatch(in.Snapshot.Arrays, c); a != nil || unsure {
				continue
			}
			subj, id := confSubject(c)
			what := subj
			if c.UUID != "" && c.Device != "" {
				what += " (UUID " + c.UUID + ")"
			}
			assemble := "mdadm --assemble --scan"
			if c.Device != "" && c.UUID != "" {
				assemble = fmt.Sprintf("mdadm --assemble %s --uuid=%s", model.Clean(c.Device), c.UUID)
			}
			f := model.Finding{Severity: model.Warning, Subject: subj, SubjectID: id,
				Message: fmt.Sprintf("%s is declared in mdadm.conf (line %d) but not assembled: its data is not available", what, c.Line),
				Remedy: fmt.Sprintf("find its member disks (mdadm --examine --scan) and assemble it: %s; if the array is gone for good, "+
					"remove its ARRAY line from mdadm.conf and run update-initramfs -u", assemble),
				Match: model.Match{Path: c.Device}}
			out = append(out, f)
		}
		return out
	},
}

var mdSparesMissing = &Rule{
	Name:    "md.spares_missing",
	Summary: "an array has fewer spares than its mdadm.conf line's spares=N (mdadm --monitor's SparesMissing) (WARNING)",
	Eval: func(in *Input, _ Params) []model.Finding {
		var out []model.Finding
		for i := range in.Snapshot.MDConf {
			c := &in.Snapshot.MDConf[i]
			if c.Spares <= 0 {
				continue
			}
			a, _ := confMatch(in.Snapshot.Arrays, c)
			if a == nil || a.DisksSpare >= c.Spares || a.Activity == "inactive" {
				continue
			}
			f := mdFinding(a, model.Warning, fmt.Sprintf("%s has %d spare(s), mdadm.conf (line %d) says spares=%d: a failed member will not be replaced automatically",
				model.Clean(a.Name), a.DisksSpare, c.Line, c.Spares),
				fmt.Sprintf("add a spare disk: mdadm /dev/%s --add /dev/sdX; if fewer spares are intended, change spares= on its ARRAY line", model.Clean(a.Name)))
			f.Values = map[string]float64{"spares": float64(a.DisksSpare), "spares_wanted": float64(c.Spares)}
			out = append(out, f)
		}
		return out
	},
}

var mdSpareActive = &Rule{
	Name: "md.spare_active",
	Summary: "a spare became active within lookback_h (the array rebuilt onto it; mdadm --monitor's SpareActive) (NOTICE); " +
		"needs the history store",
	Params: map[string]float64{"lookback_h": 24},
	Eval: func(in *Input, p Params) []model.Finding {
		var out []model.Finding
		if in.History == nil {
			return nil
		}
		for i := range in.Snapshot.Arrays {
			a := &in.Snapshot.Arrays[i]
			if a.DisksTotal == 0 || a.DisksActive < a.DisksTotal {
				continue // not whole yet: md.degraded / md.rebuilding say so
			}
			since := in.Now.Add(-time.Duration(p.Get("lookback_h", mdMatch(a)) * float64(time.Hour)))
			spares, _ := in.History.Series(a.ID(), "md_disks_spare", since)
			active, _ := in.History.Series(a.ID(), "md_disks_active", since)
			maxSpare, minActive := float64(a.DisksSpare), float64(a.DisksActive)
			for _, pt := range spares {
				maxSpare = max(maxSpare, pt.Value)
			}
			for _, pt := range active {
				minActive = min(minActive, pt.Value)
			}
			if maxSpare <= float64(a.DisksSpare) || minActive >= float64(a.DisksActive) {
				continue
			}
			f := mdFinding(a, model.Notice, fmt.Sprintf("a spare became active in %s: it rebuilt onto its spare and is whole again; %d spare(s) left",
				model.Clean(a.Name), a.DisksSpare),
				fmt.Sprintf("replace the failed disk and add the new one as the next spare (mdadm /dev/%s --add /dev/sdX)", model.Clean(a.Name)))
			f.Values = map[string]float64{"spares": float64(a.DisksSpare)}
			out = append(out, f)
		}
		return out
	},
}
