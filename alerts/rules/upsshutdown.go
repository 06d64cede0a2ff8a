package rules

import (
	"fmt"
	"strings"
	"time"

	"github.com/diskwatch/diskwatch/collectors/model"
)

// Nothing shuts this host down. diskwatch never shuts a host down itself
// (a second shutdown authority racing upsmon is dangerous), but it can see
// that nobody will: on battery with no upsmon logged into upsd for the
// UPS, or with less runtime left than the host needs to shut down.

const upsmonFix = "configure upsmon on every host this UPS powers: /etc/nut/upsmon.conf: MONITOR %s 1 USER PASSWORD primary " +
	"(secondary on the others), SHUTDOWNCMD \"/sbin/shutdown -h +0\"; a matching user in upsd.users with 'upsmon primary'; then " +
	"systemctl enable --now nut-monitor; check with upsc -c %s"

func upsRef(u *model.UPS) string {
	// "ups@host:port" is already the NUT notation upsmon.conf uses.
	return model.Clean(u.Name)
}

var upsNoShutdown = &Rule{
	Name: "ups.no_shutdown",
	Summary: "nothing will shut systems down on this UPS: on battery with no upsmon client logged into upsd for it (NUT LIST CLIENT) " +
		"(CRITICAL; on line NOTICE), or on battery with less runtime left than shutdown_s, the time this host needs to shut down " +
		"(CRITICAL; 0 = not set). diskwatch never shuts the host down itself",
	Params: map[string]float64{"shutdown_s": 0},
	Eval: func(in *Input, p Params) []model.Finding {
		var out []model.Finding
		eachUPS(in, func(u *model.UPS) {
			m := upsMatch(u)
			ob := u.HasStatus("OB")
			if u.Source == "nut" && u.Clients != nil && len(u.Clients) == 0 && (ob || u.HasStatus("OL")) {
				sev, msg := model.Notice, fmt.Sprintf("no upsmon is logged into upsd for %s: if mains power fails, nothing will shut down the systems on it before the battery runs out", upsRef(u))
				if ob {
					sev = model.Critical
					msg = withState(fmt.Sprintf("%s is ON BATTERY and no upsmon is logged into upsd for it: nothing will shut down the systems on it before the battery runs out", upsRef(u)), u)
				}
				f := upsFinding(u, sev, msg, fmt.Sprintf(upsmonFix, upsRef(u), upsRef(u)))
				f.Rule = "ups.no_shutdown"
				out = append(out, f)
				return
			}
			need := p.Get("shutdown_s", m)
			if ob && need > 0 && u.RuntimeSeconds != nil && *u.RuntimeSeconds < need {
				rt := time.Duration(*u.RuntimeSeconds) * time.Second
				f := upsFinding(u, model.Critical, withState(fmt.Sprintf("%s has %s of battery runtime left, less than the %s this host needs to shut down (shutdown_s): "+
					"a shutdown started now may not finish", upsRef(u), roughDuration(rt), roughDuration(time.Duration(need)*time.Second)), u),
					"shut down now (cleanly); then make upsmon act earlier: raise battery.runtime.low on the UPS (upsrw -s battery.runtime.low=SECONDS "+upsRef(u)+
						") or shorten the shutdown")
				if len(u.Clients) > 0 {
					f.Evidence = append(f.Evidence, "logged-in upsmon clients: "+strings.Join(cleanAll(u.Clients), ", "))
				}
				f.Values = map[string]float64{"runtime_s": *u.RuntimeSeconds, "shutdown_s": need}
				out = append(out, f)
			}
		})
		return out
	},
}

func cleanAll(s []string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = model.Clean(x)
	}
	return out
}
