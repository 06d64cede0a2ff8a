package rules

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/diskwatch/diskwatch/collectors/model"
	"github.com/diskwatch/diskwatch/collectors/ups/apcupsd"
	"github.com/diskwatch/diskwatch/collectors/ups/nut"
)

// memHistory is a small in-memory History for rule tests.
type memHistory map[[2]string][]Point

func (h memHistory) Series(subject, metric string, since time.Time) ([]Point, error) {
	var out []Point
	for _, p := range h[[2]string{subject, metric}] {
		if !p.Time.Before(since) {
			out = append(out, p)
		}
	}
	return out, nil
}

func (h memHistory) add(t time.Time, samples []model.Sample) {
	for _, s := range samples {
		k := [2]string{s.Subject, s.Metric}
		h[k] = append(h[k], Point{t, s.Value})
	}
}

func verdict(fs []model.Finding) string {
	var v []string
	for _, f := range fs {
		v = append(v, f.Rule+":"+f.Severity.String())
	}
	return strings.Join(v, " ")
}

// upsDumps is the expected verdict of every real dump in
// collectors/ups/testdata (see its SOURCES.md). Annotated dumps (#BAD)
// are judged on their data: the annotation is for the reader.
var upsDumps = []struct{ file, want string }{
	{"APC__AP7724__snmp-ups__2.7.4.1__01.dev", ""},
	{"APC__Back-UPS_500__newhidups__2.0.3__01.dev", ""},
	{"APC__Back-UPS_BK650M2-CH__usbhid-ups__2.8.0__01.dev", "ups.info:OK"},
	{"APC__Back-UPS_CS_350__usbhid-ups__2.4.1__01.dev", ""},
	{"APC__Back-UPS_ES_750__usbhid-ups__2.6.4__01.dev", "ups.low_battery:WARNING"},
	{"APC__Back-UPS_LS_500__newhidups__2.0.3__01.dev", "ups.low_battery:WARNING"},
	{"APC__Back-UPS_RS_900__usbhid-ups__2.4.1__02.dev", "ups.info:OK"},
	{"APC__Back-UPS_XS_1200__newhidups__2.0.5__01.dev", "ups.overload:CRITICAL ups.replace_battery:CRITICAL ups.low_battery:WARNING ups.info:OK"},
	{"APC__Back-UPS_XS_1200__usbhid-ups__2.2.0__01.dev", "ups.overload:CRITICAL ups.replace_battery:CRITICAL ups.low_battery:WARNING ups.info:OK"},
	{"APC__Matrix-UPS_3000__apcsmart__1.4.0__01.dev", ""},
	{"APC__Smart-UPS_1000__snmp-ups__2.7.4__01.dev", "ups.on_battery:WARNING"},
	{"APC__Smart-UPS_2200__apcsmart__2.2.0__01.dev", "ups.on_battery:WARNING"},
	{"APC__Smart-UPS_2200__usbhid-ups__2.7.4__01.dev", "ups.on_battery:WARNING"},
	{"APC__Smart-UPS_3000_RM__apcsmart__2.0.1__01.dev", "ups.low_battery:WARNING ups.runtime_low:WARNING"},
	{"APC__Smart-UPS_750__apc_modbus__2.8.2__01.dev", ""},
	{"Ablerex__Mars_Convertible_3000_MS3000RT__megatec__2.1.0__01.dev", ""},
	{"Apollo__1000F__genericups__2.0.2__01.dev", ""},
	{"Belkin__Office_Series_F6C550-AVR__newhidups__2.1.0__01.dev", "ups.runtime_low:WARNING"},
	{"Belkin__Universal_UPS_F6C120-UNV__belkinunv__2.0.4__01.dev", ""},
	{"Best_Power__Patriot_Pro_750__bestups__2.7.2__01.dev", ""},
	{"Best_Power__Patriot_Pro_II_400__nutdrv_qx__2.7.4__01.dev", ""},
	{"Compaq__T700h__bcmxcp__2.4.0__01.dev", "ups.info:OK"},
	{"Cyber_Power_Systems__BL1250U__usbhid-ups__2.7.4__02.dev", "ups.on_battery:WARNING"},
	{"Cyber_Power_Systems__CP900AVR__usbhid-ups__2.6.5__01.dev", "ups.on_battery:WARNING"},
	{"Cyber_Power_Systems__CPS1200AVR__cpsups__2.1.0__01.dev", ""},
	{"Cyber_Power_Systems__CPS1500AVR__powerpanel__2.3.0__01.dev", ""},
	{"Cyber_Power_Systems__Value_1500ELCD-RU__usbhid-ups__2.6.3__01.dev", "ups.info:OK"},
	{"Cyber_Power_Systems__Value_2200E-GP__usbhid-ups__2.4.3__01.dev", "ups.forced_shutdown:CRITICAL"},
	{"Digitus__DN-170041__nutdrv_qx__2.7.4__01.dev", "ups.bypass:OK"},
	{"Digitus__DN-170076__nutdrv_qx__2.7.4__02.dev", "ups.on_battery:WARNING"},
	{"Dynamix__UPS-650VA__megatec__2.2.1__01.dev", "ups.output_off:OK"},
	{"Eaton__5E2200USB-LA__nutdrv_qx__2.7.4.1__01.dev", "ups.info:OK"},
	{"Eaton__5PX_2000__usbhid-ups__2.7.4__01.dev", "ups.replace_battery:CRITICAL"},
	{"Eaton__5PX__netxml-ups__2.7.4__03.dev", ""},
	{"Eaton__5SC_750__usbhid-ups__2.7.2__01.dev", "ups.info:OK ups.output_off:OK"},
	{"Eaton__93PM__snmp-ups__2.7.4__02.dev", "ups.alarm:CRITICAL ups.replace_battery:CRITICAL"},
	{"Eaton__93PS__snmp-ups__2.7.3-167-g0a00ddb__01.dev", "ups.alarm:CRITICAL"},
	{"Eaton__9PX_2000_RT__mge-shut__2.7.2__01.dev", ""},
	{"Eaton__9SX_5000i__usbhid-ups__2.7.2__01.dev", "ups.bypass:OK"},
	{"Eaton__Powerware_9130__bcmxcp__2.4.1__02.dev", "ups.output_off:OK"},
	{"Eaton__Powerware_9130__usbhid-ups__2.6.4__01.dev", "ups.on_battery:WARNING"},
	{"Eaton__ePDU_MA_1P__snmp-ups__2.7.4__01.dev", "ups.info:OK"},
	{"Eaton__ePDU_Managed_Aphel__snmp-ups__2.6.1__01.dev", "ups.info:OK"},
	{"FSP__Custos9X+_CU-1102TS__nutdrv_qx__2.7.4__01.dev", "ups.output_off:OK"},
	{"Gama_Sonic__UPS650VP__megatec__2.0.4__01.dev", "ups.output_off:OK"},
	{"HP__R12000-3UPS__snmp-ups__2.7.1__01.dev", "ups.on_battery:WARNING"},
	{"HP__R1500_G2__bcmxcp__2.4.1__01.dev", "ups.alarm:CRITICAL"},
	{"HP__R5500_XR__snmp-ups__2.6.3__01.dev", "ups.self_test:CRITICAL ups.info:OK"},
	{"HP__RT2200_G2__usbhid-ups__2.3.0__01.dev", "ups.info:OK"},
	{"HP__RT3000_G2__snmp-ups__2.6.5__01.dev", "ups.on_battery:WARNING"},
	{"IBM__1440VA-1000W_Rack_HV_UPS__snmp-ups__2.6.1__01.dev", "ups.output_off:OK"},
	{"Inform__Informer_Compact_1000VA__megatec__2.4.1__01.dev", "ups.info:OK"},
	{"Liebert__GXT4-1500RT120__usbhid-ups__2.8.1__01.dev", ""},
	{"MGE_UPS_SYSTEMS__Ellipse_800_USBS__mge-shut__2.0.2__01.dev", "ups.on_battery:WARNING"},
	{"MGE_UPS_SYSTEMS__Evolution_850__newhidups__2.0.4__01.dev", "ups.on_battery:WARNING"},
	{"MGE_UPS_SYSTEMS__Pulsar_1500__mge-shut__2.6.5__01.dev", "ups.replace_battery:CRITICAL"},
	{"MGE_UPS_SYSTEMS__Pulsar_Ellipse_Premium_800__newmge-shut__2.6.1__02.dev", "ups.info:OK"},
	{"MGE_UPS_SYSTEMS__Pulsar_Evolution_2200__mge-utalk__2.0.2__01.dev", "ups.bypass:OK ups.info:OK"},
	{"MGE_UPS_SYSTEMS__Pulsar_M_3000__newhidups__2.0.5__01.dev", "ups.output_off:OK"},
	{"MGE_UPS_SYSTEMS__Pulsar_M_3000__usbhid-ups__2.2.1__01.dev", "ups.on_battery:WARNING"},
	{"Mecer__ME-1000-WTU__blazer_usb__2.6.3__01.dev", "ups.bypass:OK"},
	{"Mustek__PowerMust_USV_2000VA__mustek__2.0.1__01.dev", ""},
	{"Online__Yunto_YQ450__blazer_usb__2.6.3__01.dev", "ups.bypass:OK"},
	{"Online__Yunto_YQ450__megatec_usb__2.3.0__01.dev", "ups.info:OK"},
	{"OptiUPS__VS_575C__powercom__2.7.1__01.dev", ""},
	{"PiSupply__PiJuice_HAT__pijuice__2.8.0__01.dev", "ups.info:OK"},
	{"PiSupply__PiJuice_HAT__pijuice__2.8.0__04.dev", "ups.info:OK"},
	{"PiSupply__PiJuice_HAT__pijuice__2.8.3__01.dev", "ups.low_battery:WARNING"},
	{"Plexus__500VA__megatec_usb__2.2.1__01.dev", "ups.on_battery:WARNING"},
	{"Plexus__UPS_1000V__megatec_usb__2.2.2__01.dev", "ups.output_off:OK"},
	{"PowerMan__RealSmart_1000__fentonups__2.0.3__01.dev", "ups.info:OK"},
	{"PowerMan__RealSmart_1000__megatec__2.0.4__01.dev", "ups.info:OK"},
	{"PowerWalker__Line-Interactive_VI_2000_LCD__blazer_usb__2.4.3__01.dev", "ups.on_battery:WARNING"},
	{"PowerWalker__VFI_1000_CG_PF1__nutdrv_qx__2.7.4__01.dev", "ups.output_off:OK"},
	{"Powerware__PW5125__bcmxcp__2.2.2__01.dev", "ups.info:OK"},
	{"Raritan__PX2-1486__snmp-ups__2.7.4-12-gf1a0d64__01.dev", "ups.info:OK"},
	{"Tripp_Lite__G1010USB__usbhid-ups__2.4.3__01.dev", "ups.alarm:CRITICAL"},
	{"Tripp_Lite__OMNISMART1050__tripplite_usb__2.2.2__02.dev", "ups.on_battery:WARNING"},
	{"Tripp_Lite__SMART1000LCD__usbhid-ups__2.4.3__02.dev", "ups.alarm:CRITICAL"},
	{"Tripp_Lite__SMART500RT1U__tripplite_usb__2.7.2__03.dev", "ups.on_battery:WARNING"},
	{"Tripp_Lite__SU6000RT4U__usbhid-ups__2.1.0__01.dev", "ups.low_battery:CRITICAL ups.replace_battery:CRITICAL ups.on_battery:WARNING"},
	{"Tuncmatik__DG1200VA__blazer_usb__2.6.4__01.dev", "ups.forced_shutdown:CRITICAL"},
	{"V7__UPS1RM2U1500-1E__blazer_usb__2.7.4__01.dev", "ups.info:OK"},
	{"Zigor__Danubio_2000__blazer_usb__2.6.3__01.dev", "ups.on_battery:WARNING"},
	{"nJoy__Keen-600__blazer_ser__2.7.4__02.dev", "ups.on_battery:WARNING"},
	{"apcaccess-3.12.4-DUMB-UPS-ONBATT_SLAVEDOWN.txt", "ups.comm_lost:CRITICAL"},
	{"apcaccess-BK650M2-CH-ONBATT.txt", "ups.on_battery:WARNING"},
	{"apcaccess-BK650M2-CH-ONLINE.txt", ""},
	{"apcaccess-SMART-UPS1400-TRIM_ONLINE.txt", "ups.info:OK"},
	{"apcaccess-SmartUPS1400RM-PCNET-ONLINE.txt", ""},
	{"apcaccess-USB-COMMLOST.txt", "ups.comm_lost:CRITICAL"},
}

func TestUPSDumpVerdicts(t *testing.T) {
	dir := "../../collectors/ups/testdata"
	files, err := filepath.Glob(filepath.Join(dir, "nut-ddl", "*.dev"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no NUT dumps in %s: %v", dir, err)
	}
	apc, _ := filepath.Glob(filepath.Join(dir, "apcupsd", "*.txt"))
	files = append(files, apc...)
	want := map[string]string{}
	for _, d := range upsDumps {
		want[d.file] = d.want
	}
	if len(want) != len(files) {
		t.Errorf("table has %d entries, testdata has %d files", len(want), len(files))
	}
	set := NewSet(UPSRules()...)
	for _, f := range files {
		base := filepath.Base(f)
		t.Run(base, func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var u model.UPS
			if strings.HasSuffix(f, ".dev") {
				d, err := nut.ParseDump(b)
				if err != nil {
					t.Fatalf("parse: %v", err)
				}
				if _, ok := d.Vars["ups.status"]; !ok && !strings.Contains(base, "V7__") {
					t.Errorf("no ups.status parsed")
				}
				for k, v := range d.Annotations {
					t.Logf("annotation on %s: %s", k, v)
				}
				u = nut.ToUPS("ups@dump", d.Vars)
			} else {
				st, err := apcupsd.ParseStatus(apcupsd.SplitLines(string(b)))
				if err != nil {
					t.Fatalf("parse: %v", err)
				}
				u = apcupsd.ToUPS("apcupsd@dump", st)
			}
			w, ok := want[base]
			if !ok {
				t.Fatalf("no expected verdict for %s", base)
			}
			got := verdict(set.Evaluate(&Input{Snapshot: &model.Snapshot{UPS: []model.UPS{u}}, Now: time.Unix(1e9, 0)}, nil))
			if got != w {
				t.Errorf("verdict %q, want %q (status %v)", got, w, u.Status)
			}
		})
	}
}

// TestUPSTransitions drives one UPS OL -> OB -> OB LB -> OL CHRG through the
// rules with history, the way the daemon does (samples stored before
// evaluation), and checks the findings cycle by cycle.
func TestUPSTransitions(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	base := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	steps := []struct {
		status  string
		charge  float64
		runtime float64
		want    string
		msg     string
	}{
		{"OL", 100, 1800, "", ""},
		{"OB DISCHRG", 99, 1700, "ups.on_battery:WARNING", "is ON BATTERY: mains power is lost"},
		{"OB DISCHRG", 98, 1650, "ups.on_battery:WARNING", "ON BATTERY for 1m"},
		{"OB LB", 96, 200, "ups.low_battery:CRITICAL ups.runtime_low:CRITICAL ups.on_battery:WARNING", "LOW BATTERY"},
		{"OL CHRG", 60, 900, "ups.on_battery:OK", "back on line after 3m on battery"},
		{"OL CHRG", 70, 1000, "", ""},
	}
	h := memHistory{}
	set := NewSet(UPSRules()...)
	for i, s := range steps {
		now := base.Add(time.Duration(i) * time.Minute)
		u := model.UPS{Name: "testups@127.0.0.1:3493", Source: "nut", Reachable: true, Status: strings.Fields(s.status),
			ChargePercent: f(s.charge), RuntimeSeconds: f(s.runtime)}
		snap := &model.Snapshot{Time: now, UPS: []model.UPS{u}}
		h.add(now, snap.Samples())
		fs := set.Evaluate(&Input{Snapshot: snap, Now: now, History: h}, nil)
		if got := verdict(fs); got != s.want {
			t.Errorf("step %d (%s): %q, want %q", i, s.status, got, s.want)
		}
		if s.msg != "" {
			found := false
			for _, x := range fs {
				if strings.Contains(x.Message, s.msg) {
					found = true
				}
			}
			if !found {
				t.Errorf("step %d: no message with %q in %+v", i, s.msg, fs)
			}
		}
	}
}

func TestUPSChargeFalling(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	base := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		drop  float64 // % per minute observed
		want  bool
		noRun bool
	}{
		{"as estimated", 100.0 / 30, false, false}, // 30 min runtime at 100%: 3.3%/min expected
		{"three times faster", 10, true, false},
		{"no estimate, slow", 2, false, true},
		{"no estimate, fast", 8, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := memHistory{}
			var fs []model.Finding
			for i := 0; i <= 3; i++ {
				now := base.Add(time.Duration(i) * time.Minute)
				u := model.UPS{Name: "u@h:3493", Reachable: true, Status: []string{"OB"}, ChargePercent: f(100 - tc.drop*float64(i))}
				if !tc.noRun {
					u.RuntimeSeconds = f(1800 - 60*float64(i))
				}
				snap := &model.Snapshot{UPS: []model.UPS{u}}
				h.add(now, snap.Samples())
				fs = NewSet(upsChargeFalling).Evaluate(&Input{Snapshot: snap, Now: now, History: h}, nil)
			}
			if got := len(fs) == 1; got != tc.want {
				t.Errorf("finding %v, want %v: %+v", got, tc.want, fs)
			}
		})
	}
}

func TestUPSCommLostNamesNoPassword(t *testing.T) {
	u := model.UPS{Name: "ups@h:3493", Reachable: false, Error: "upsd h:3493: connect: connection refused"}
	fs := NewSet(UPSRules()...).Evaluate(&Input{Snapshot: &model.Snapshot{UPS: []model.UPS{u}}}, nil)
	if verdict(fs) != "ups.comm_lost:CRITICAL" {
		t.Fatalf("got %q", verdict(fs))
	}
}

var _ = sort.Strings

// A UPS that goes silent while on battery and comes back on line still
// gets its recovery message: the silent cycle stores no on-battery value.
func TestUPSRecoveryAcrossCommLoss(t *testing.T) {
	base := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	h := memHistory{}
	set := NewSet(UPSRules()...)
	var last []model.Finding
	for i, st := range []string{"OL", "OB", "OB", "-", "OL"} {
		now := base.Add(time.Duration(i) * time.Minute)
		u := model.UPS{Name: "u@h:3493", Reachable: st != "-", Status: strings.Fields(strings.Trim(st, "-")), Error: "connection refused"}
		snap := &model.Snapshot{UPS: []model.UPS{u}}
		h.add(now, snap.Samples())
		last = set.Evaluate(&Input{Snapshot: snap, Now: now, History: h}, nil)
		if st == "-" && verdict(last) != "ups.comm_lost:CRITICAL" {
			t.Errorf("silent cycle: %q", verdict(last))
		}
	}
	if verdict(last) != "ups.on_battery:OK" || !strings.Contains(last[0].Message, "back on line after 3m on battery") {
		t.Errorf("%+v", last)
	}
}
