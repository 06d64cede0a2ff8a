package ata

import (
	"fmt"
	"strconv"
	"strings"
)

// RawFormat is how an attribute's raw value is assembled and printed (the
// FORMAT of smartctl's `-v ID,FORMAT[:BYTEORDER][,NAME]`).
type RawFormat int

// Raw formats, named as smartctl names them.
const (
	FmtDefault RawFormat = iota
	FmtRaw8
	FmtRaw16
	FmtRaw48
	FmtHex48
	FmtRaw56
	FmtHex56
	FmtRaw64
	FmtHex64
	FmtRaw16OptRaw16
	FmtRaw16OptAvg16
	FmtRaw24OptRaw8
	FmtRaw24DivRaw24
	FmtRaw24DivRaw32
	FmtSec2Hour
	FmtMin2Hour
	FmtHalfMin2Hour
	FmtMsec24Hour32
	FmtTempMinMax
	FmtTemp10x
)

var formatNames = map[string]RawFormat{
	"raw8": FmtRaw8, "raw16": FmtRaw16, "raw48": FmtRaw48, "hex48": FmtHex48,
	"raw56": FmtRaw56, "hex56": FmtHex56, "raw64": FmtRaw64, "hex64": FmtHex64,
	"raw16(raw16)": FmtRaw16OptRaw16, "raw16(avg16)": FmtRaw16OptAvg16,
	"raw24(raw8)": FmtRaw24OptRaw8, "raw24/raw24": FmtRaw24DivRaw24,
	"raw24/raw32": FmtRaw24DivRaw32, "sec2hour": FmtSec2Hour, "min2hour": FmtMin2Hour,
	"halfmin2hour": FmtHalfMin2Hour, "msec24hour32": FmtMsec24Hour32,
	"tempminmax": FmtTempMinMax, "temp10x": FmtTemp10x,
}

// String returns smartctl's name of the format.
func (f RawFormat) String() string {
	for k, v := range formatNames {
		if v == f {
			return k
		}
	}
	return "default"
}

// defaultFormat is the raw format of an attribute nobody configured: the
// defaults smartctl documents (3 spin-up time, 5/196 reallocation counts,
// 9 power-on hours, 190/194 temperature).
func defaultFormat(id uint8) RawFormat {
	switch id {
	case 3:
		return FmtRaw16OptAvg16
	case 5, 196:
		return FmtRaw16OptRaw16
	case 9, 240:
		return FmtRaw24OptRaw8
	case 190, 194:
		return FmtTempMinMax
	}
	return FmtRaw48
}

// AttrDef is how one attribute is named and decoded.
type AttrDef struct {
	Name      string
	Format    RawFormat
	ByteOrder string // "" = the format's default
	// HDDOnly / SSDOnly restrict the definition to rotating / solid-state
	// drives (the ",HDD"/",SSD" suffix); the other kind sees
	// Unknown_SSD_Attribute / Unknown_HDD_Attribute.
	HDDOnly, SSDOnly bool
	// NoNormVal: the normalized bytes hold raw data; NoWorstVal: the
	// worst byte does (no when_failed "past").
	NoNormVal, NoWorstVal bool
	// Increasing marks 197/198 as counting up forever (smartctl's
	// ",increasing" legacy option); informational.
	Increasing bool
}

// builtinNames is the common ATA attribute naming table: id -> name, and
// whether the name applies to HDDs only (h) or SSDs only (s). It states
// the names every current drive database agrees on.
var builtinNames = map[uint8]struct {
	name string
	kind byte
}{
	1: {"Raw_Read_Error_Rate", 0}, 2: {"Throughput_Performance", 0}, 3: {"Spin_Up_Time", 0},
	4: {"Start_Stop_Count", 0}, 5: {"Reallocated_Sector_Ct", 0}, 6: {"Read_Channel_Margin", 'h'},
	7: {"Seek_Error_Rate", 'h'}, 8: {"Seek_Time_Performance", 'h'}, 9: {"Power_On_Hours", 0},
	10: {"Spin_Retry_Count", 'h'}, 11: {"Calibration_Retry_Count", 'h'}, 12: {"Power_Cycle_Count", 0},
	13:  {"Read_Soft_Error_Rate", 0},
	175: {"Program_Fail_Count_Chip", 's'}, 176: {"Erase_Fail_Count_Chip", 's'},
	177: {"Wear_Leveling_Count", 's'}, 178: {"Used_Rsvd_Blk_Cnt_Chip", 's'},
	179: {"Used_Rsvd_Blk_Cnt_Tot", 's'}, 180: {"Unused_Rsvd_Blk_Cnt_Tot", 's'},
	181: {"Program_Fail_Cnt_Total", 0}, 182: {"Erase_Fail_Count_Total", 's'},
	183: {"Runtime_Bad_Block", 0}, 184: {"End-to-End_Error", 0}, 187: {"Reported_Uncorrect", 0},
	188: {"Command_Timeout", 0}, 189: {"High_Fly_Writes", 'h'}, 190: {"Airflow_Temperature_Cel", 0},
	191: {"G-Sense_Error_Rate", 'h'}, 192: {"Power-Off_Retract_Count", 0}, 193: {"Load_Cycle_Count", 'h'},
	194: {"Temperature_Celsius", 0}, 195: {"Hardware_ECC_Recovered", 0},
	196: {"Reallocated_Event_Count", 0}, 197: {"Current_Pending_Sector", 0},
	198: {"Offline_Uncorrectable", 0}, 199: {"UDMA_CRC_Error_Count", 0},
	200: {"Multi_Zone_Error_Rate", 'h'}, 201: {"Soft_Read_Error_Rate", 'h'},
	202: {"Data_Address_Mark_Errs", 'h'}, 203: {"Run_Out_Cancel", 0}, 204: {"Soft_ECC_Correction", 0},
	205: {"Thermal_Asperity_Rate", 0}, 206: {"Flying_Height", 'h'}, 207: {"Spin_High_Current", 'h'},
	208: {"Spin_Buzz", 'h'}, 209: {"Offline_Seek_Performnce", 'h'}, 220: {"Disk_Shift", 'h'},
	221: {"G-Sense_Error_Rate", 'h'}, 222: {"Loaded_Hours", 'h'}, 223: {"Load_Retry_Count", 'h'},
	224: {"Load_Friction", 'h'}, 225: {"Load_Cycle_Count", 'h'}, 226: {"Load-in_Time", 'h'},
	227: {"Torq-amp_Count", 'h'}, 228: {"Power-off_Retract_Count", 0}, 230: {"Head_Amplitude", 'h'},
	231: {"Temperature_Celsius", 'h'}, 232: {"Available_Reservd_Space", 0},
	233: {"Media_Wearout_Indicator", 's'}, 240: {"Head_Flying_Hours", 'h'},
	241: {"Total_LBAs_Written", 0}, 242: {"Total_LBAs_Read", 0}, 250: {"Read_Error_Retry_Rate", 0},
	254: {"Free_Fall_Sensor", 'h'},
}

// Defs is a set of attribute definitions: the drive database's DEFAULT
// entry (or the built-in table) overlaid with one model's presets. The nil
// *Defs is the built-in table alone.
type Defs struct {
	byID map[uint8]AttrDef
	// all applies to every attribute (-v N,...), when set.
	all *AttrDef
}

// NewDefs returns an empty set (the built-in table applies underneath).
func NewDefs() *Defs { return &Defs{byID: map[uint8]AttrDef{}} }

// Set defines attribute id.
func (d *Defs) Set(id uint8, def AttrDef) { d.byID[id] = def }

// Merge returns a copy of d with o's definitions on top.
func (d *Defs) Merge(o *Defs) *Defs {
	out := NewDefs()
	for _, s := range []*Defs{d, o} {
		if s == nil {
			continue
		}
		for k, v := range s.byID {
			out.byID[k] = v
		}
		if s.all != nil {
			out.all = s.all
		}
	}
	return out
}

// Len is the number of attributes defined explicitly.
func (d *Defs) Len() int {
	if d == nil {
		return 0
	}
	return len(d.byID)
}

// Lookup returns the definition of attribute id for a drive with the given
// rotation rate (1 = SSD, >1 = HDD rpm, 0 = unknown).
func (d *Defs) Lookup(id uint8, rpm int) AttrDef {
	hdd, ssd := rpm > 1, rpm == 1
	var def AttrDef
	found := false
	if d != nil {
		if v, ok := d.byID[id]; ok {
			def, found = v, true
		} else if d.all != nil {
			def = *d.all
			def.Name = ""
		}
	}
	if !found {
		if b, ok := builtinNames[id]; ok && def.Name == "" {
			def.Name = b.name
			def.HDDOnly, def.SSDOnly = b.kind == 'h', b.kind == 's'
		}
	}
	switch {
	case def.HDDOnly && ssd:
		return AttrDef{Name: "Unknown_SSD_Attribute", Format: def.Format, ByteOrder: def.ByteOrder}
	case def.SSDOnly && hdd:
		return AttrDef{Name: "Unknown_HDD_Attribute", Format: def.Format, ByteOrder: def.ByteOrder}
	}
	if def.Name == "" {
		def.Name = "Unknown_Attribute"
	}
	if def.Format == FmtDefault {
		def.Format = defaultFormat(id)
	}
	return def
}

// legacyV are the old `-v ID,NAME` forms smartctl documents, with what
// they stand for.
var legacyV = map[string]string{
	"9,minutes":                   "9,min2hour,Power_On_Minutes",
	"9,seconds":                   "9,sec2hour,Power_On_Seconds",
	"9,halfminutes":               "9,halfmin2hour,Power_On_Half_Minutes",
	"9,temp":                      "9,tempminmax,Temperature_Celsius",
	"192,emergencyretractcyclect": "192,raw48,Emerg_Retract_Cycle_Ct",
	"193,loadunload":              "193,raw24/raw24",
	"194,10xcelsius":              "194,temp10x,Temperature_Celsius_x10",
	"194,unknown":                 "194,raw48,Unknown_Attribute",
	"197,increasing":              "197,raw48,Total_Pending_Sectors",
	"198,increasing":              "198,raw48,Total_Offl_Uncorrectabl",
	"198,offlinescanuncsectorct":  "198,raw48,Offline_Scan_UNC_SectCt",
	"200,writeerrorcount":         "200,raw48,Write_Error_Count",
	"201,detectedtacount":         "201,raw48,Detected_TA_Count",
	"220,temp":                    "220,tempminmax,Temperature_Celsius",
}

// ParseVendorAttribute parses one `-v` argument
// (ID,FORMAT[:BYTEORDER][,NAME[,HDD|SSD]], or a legacy form) into d.
func (d *Defs) ParseVendorAttribute(arg string) error {
	if full, ok := legacyV[strings.ToLower(arg)]; ok {
		inc := strings.HasSuffix(arg, ",increasing")
		if err := d.ParseVendorAttribute(full); err != nil {
			return err
		}
		if inc {
			id, _ := strconv.Atoi(strings.SplitN(arg, ",", 2)[0])
			def := d.byID[uint8(id)]
			def.Increasing = true
			d.byID[uint8(id)] = def
		}
		return nil
	}
	parts := strings.Split(arg, ",")
	if len(parts) < 2 || len(parts) > 4 {
		return fmt.Errorf("-v %q: want ID,FORMAT[:BYTEORDER][,NAME[,HDD|SSD]]", arg)
	}
	fmtName, order, _ := strings.Cut(parts[1], ":")
	f, ok := formatNames[fmtName]
	if !ok {
		return fmt.Errorf("-v %q: unknown format %q", arg, fmtName)
	}
	if len(order) > 8 || strings.Trim(order, "012345rvwz") != "" {
		return fmt.Errorf("-v %q: bad byte order %q", arg, order)
	}
	def := AttrDef{Format: f, ByteOrder: order}
	if strings.ContainsAny(order, "v") {
		def.NoNormVal = true
	}
	if strings.ContainsAny(order, "w") {
		def.NoWorstVal = true
	}
	if len(parts) >= 3 {
		def.Name = parts[2]
		for _, c := range def.Name {
			if c <= ' ' || c >= 0x7f || c == ',' || c == '"' {
				return fmt.Errorf("-v %q: bad name %q", arg, def.Name)
			}
		}
	}
	if len(parts) == 4 {
		switch parts[3] {
		case "HDD":
			def.HDDOnly = true
		case "SSD":
			def.SSDOnly = true
		default:
			return fmt.Errorf("-v %q: unknown flag %q (want HDD or SSD)", arg, parts[3])
		}
	}
	if parts[0] == "N" {
		def.Name = ""
		d.all = &def
		return nil
	}
	id, err := strconv.Atoi(parts[0])
	if err != nil || id < 1 || id > 255 {
		return fmt.Errorf("-v %q: attribute id must be 1..255 or N", arg)
	}
	if def.Name == "" {
		if b, ok := builtinNames[uint8(id)]; ok {
			def.Name = b.name
		}
	}
	d.byID[uint8(id)] = def
	return nil
}
