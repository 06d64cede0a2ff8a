package smartctl

import (
	"bytes"
	"encoding/json"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// This file holds the subset of smartctl's JSON document (json_format_version
// 1) that the normalized record needs. Key names are smartctl's own
// (smartmontools' ataprint.cpp, nvmeprint.cpp, scsiprint.cpp); fields that a
// smartctl version does not write stay nil.

type document struct {
	Smartctl *struct {
		Version  []int `json:"version"`
		Argv     []string
		Messages []struct {
			String   string `json:"string"`
			Severity string `json:"severity"`
		} `json:"messages"`
		ExitStatus *int `json:"exit_status"`
	} `json:"smartctl"`
	Device *struct {
		Name     string `json:"name"`
		InfoName string `json:"info_name"`
		Type     string `json:"type"`
		Protocol string `json:"protocol"`
	} `json:"device"`
	// A `smartctl --scan` document has devices instead of device.
	Devices json.RawMessage `json:"devices"`

	ModelName       string `json:"model_name"`
	SCSIModelName   string `json:"scsi_model_name"`
	Vendor          string `json:"vendor"`
	Product         string `json:"product"`
	SCSIVendor      string `json:"scsi_vendor"`
	SCSIProduct     string `json:"scsi_product"`
	SerialNumber    string `json:"serial_number"`
	FirmwareVersion string `json:"firmware_version"`
	Revision        string `json:"revision"`
	SCSIRevision    string `json:"scsi_revision"`
	WWN             *struct {
		NAA uint64 `json:"naa"`
		OUI uint64 `json:"oui"`
		ID  uint64 `json:"id"`
	} `json:"wwn"`
	LogicalUnitID string `json:"logical_unit_id"`
	UserCapacity  *struct {
		Bytes num `json:"bytes"`
	} `json:"user_capacity"`
	NVMeTotalCapacity *num `json:"nvme_total_capacity"`
	RotationRate      *int `json:"rotation_rate"`

	PowerMode json.RawMessage `json:"power_mode"`

	SMARTSupport *struct {
		Available *bool `json:"available"`
		Enabled   *bool `json:"enabled"`
	} `json:"smart_support"`
	SMARTStatus *struct {
		Passed *bool `json:"passed"`
	} `json:"smart_status"`

	Temperature *struct {
		Current   *float64 `json:"current"`
		DriveTrip *float64 `json:"drive_trip"`
	} `json:"temperature"`
	PowerOnTime *struct {
		Hours *num `json:"hours"`
	} `json:"power_on_time"`
	PowerCycleCount *num `json:"power_cycle_count"`

	ATASCTStatus *struct {
		Temperature *struct {
			OpLimitMax *float64 `json:"op_limit_max"`
			LimitMax   *float64 `json:"limit_max"`
		} `json:"temperature"`
	} `json:"ata_sct_status"`
	ATASCTTemperatureHistory *struct {
		Temperature *struct {
			OpLimitMax *float64 `json:"op_limit_max"`
			LimitMax   *float64 `json:"limit_max"`
		} `json:"temperature"`
	} `json:"ata_sct_temperature_history"`
	NVMeCompositeTemperatureThreshold *struct {
		Warning  *float64 `json:"warning"`
		Critical *float64 `json:"critical"`
	} `json:"nvme_composite_temperature_threshold"`

	ATASMARTAttributes *struct {
		Table []struct {
			ID         int    `json:"id"`
			Name       string `json:"name"`
			Value      int    `json:"value"`
			Worst      int    `json:"worst"`
			Thresh     int    `json:"thresh"`
			WhenFailed string `json:"when_failed"`
			Flags      struct {
				Prefailure bool `json:"prefailure"`
			} `json:"flags"`
			Raw struct {
				Value  num    `json:"value"`
				String string `json:"string"`
			} `json:"raw"`
		} `json:"table"`
	} `json:"ata_smart_attributes"`

	ATASMARTData *struct {
		SelfTest *struct {
			Status *struct {
				Value            int  `json:"value"`
				RemainingPercent *int `json:"remaining_percent"`
			} `json:"status"`
		} `json:"self_test"`
	} `json:"ata_smart_data"`
	ATASMARTSelfTestLog *struct {
		Standard *ataSelfTestTable `json:"standard"`
		Extended *ataSelfTestTable `json:"extended"`
	} `json:"ata_smart_self_test_log"`
	ATASMARTErrorLog *struct {
		Summary *struct {
			Count *num `json:"count"`
		} `json:"summary"`
		Extended *struct {
			Count *num `json:"count"`
		} `json:"extended"`
	} `json:"ata_smart_error_log"`

	NVMeSMARTHealth *struct {
		CriticalWarning         num `json:"critical_warning"`
		Temperature             num `json:"temperature"`
		AvailableSpare          num `json:"available_spare"`
		AvailableSpareThreshold num `json:"available_spare_threshold"`
		PercentageUsed          num `json:"percentage_used"`
		DataUnitsRead           num `json:"data_units_read"`
		DataUnitsWritten        num `json:"data_units_written"`
		PowerCycles             num `json:"power_cycles"`
		PowerOnHours            num `json:"power_on_hours"`
		UnsafeShutdowns         num `json:"unsafe_shutdowns"`
		MediaErrors             num `json:"media_errors"`
		NumErrLogEntries        num `json:"num_err_log_entries"`
	} `json:"nvme_smart_health_information_log"`
	NVMeSelfTestLog *struct {
		CurrentOperation *struct {
			Value int `json:"value"`
		} `json:"current_self_test_operation"`
		CurrentCompletion *int `json:"current_self_test_completion_percent"`
		Table             []struct {
			Code struct {
				Value  int    `json:"value"`
				String string `json:"string"`
			} `json:"self_test_code"`
			Result struct {
				Value  int    `json:"value"`
				String string `json:"string"`
			} `json:"self_test_result"`
			PowerOnHours num  `json:"power_on_hours"`
			LBA          *num `json:"lba"`
		} `json:"table"`
	} `json:"nvme_self_test_log"`

	// endurance_used is smartctl 7.4's summary; older versions have the
	// ATA device statistics page 7 only (-x) or the NVMe log.
	// SCTERC is smartctl -l scterc's ata_sct_erc (smartctl -x includes it).
	SCTERC *struct {
		Read, Write *struct {
			Enabled     bool `json:"enabled"`
			Deciseconds *int `json:"deciseconds"`
		}
	} `json:"ata_sct_erc"`
	EnduranceUsed *struct {
		CurrentPercent *num `json:"current_percent"`
	} `json:"endurance_used"`
	ATADeviceStatistics *struct {
		Pages []struct {
			Number int `json:"number"`
			Table  []struct {
				Offset int  `json:"offset"`
				Value  *num `json:"value"`
				Flags  struct {
					Valid bool `json:"valid"`
				} `json:"flags"`
			} `json:"table"`
		} `json:"pages"`
	} `json:"ata_device_statistics"`

	SCSIGrownDefectList *num `json:"scsi_grown_defect_list"`
	SCSIErrorCounterLog *struct {
		Read   *scsiCounters `json:"read"`
		Write  *scsiCounters `json:"write"`
		Verify *scsiCounters `json:"verify"`
	} `json:"scsi_error_counter_log"`
	SCSIStartStop *struct {
		AccumulatedStartStopCycles *num `json:"accumulated_start_stop_cycles"`
	} `json:"scsi_start_stop_cycle_counter"`

	// scsiSelfTests are the scsi_self_test_N members, N ascending.
	scsiSelfTests []scsiSelfTest
}

type ataSelfTestTable struct {
	Table []struct {
		Type struct {
			Value  int    `json:"value"`
			String string `json:"string"`
		} `json:"type"`
		Status struct {
			Value            int    `json:"value"`
			String           string `json:"string"`
			Passed           *bool  `json:"passed"`
			RemainingPercent *int   `json:"remaining_percent"`
		} `json:"status"`
		LifetimeHours num  `json:"lifetime_hours"`
		LBA           *num `json:"lba"`
	} `json:"table"`
}

type scsiCounters struct {
	TotalUncorrectedErrors *num `json:"total_uncorrected_errors"`
}

// scsiSelfTest is one "scsi_self_test_N" object (N = 0 is the most recent).
type scsiSelfTest struct {
	Code struct {
		Value  int    `json:"value"`
		String string `json:"string"`
	} `json:"code"`
	Result struct {
		Value  int    `json:"value"`
		String string `json:"string"`
	} `json:"result"`
	PowerOnTime struct {
		Hours num `json:"hours"`
	} `json:"power_on_time"`
	LBAFirstFailure *struct {
		Value *num `json:"value"`
	} `json:"lba_first_failure"`
}

// num is a JSON number of any size. smartctl writes 128-bit NVMe counters
// as plain integers that may exceed uint64; such values saturate. A quoted
// number (some smartctl builds quote "unsafe" integers) is accepted too.
type num struct {
	u   uint64
	neg bool
	set bool
}

func (n *num) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*n = num{}
		return nil
	}
	if len(b) > 1 && b[0] == '"' {
		s, err := strconv.Unquote(string(b))
		if err != nil {
			return err
		}
		b = []byte(s)
	}
	s := string(b)
	if u, err := strconv.ParseUint(s, 10, 64); err == nil {
		*n = num{u: u, set: true}
		return nil
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		*n = num{u: uint64(-i), neg: true, set: true}
		return nil
	}
	if len(s) > 80 {
		// Longer than any number smartctl writes (a 128-bit counter has 39
		// digits); big.Float would take seconds on a megabyte of digits.
		digits := strings.TrimLeft(strings.TrimPrefix(s, "-"), "0123456789")
		switch {
		case digits != "":
			*n = num{}
		case strings.HasPrefix(s, "-"):
			*n = num{u: math.MaxInt64 + 1, neg: true, set: true}
		default:
			*n = num{u: math.MaxUint64, set: true}
		}
		return nil
	}
	f, ok := new(big.Float).SetString(s)
	if !ok || f.IsInf() {
		// Not a number (an object, a word such as "not_available"):
		// the value is absent, and the rest of the document still counts.
		*n = num{}
		return nil
	}
	switch {
	case f.Sign() < 0:
		*n = num{u: math.MaxInt64, neg: true, set: true}
		if f.IsInt() {
			if i, acc := f.Int64(); acc == big.Exact {
				*n = num{u: uint64(-i), neg: true, set: true}
			}
		}
	default:
		u, _ := f.Uint64() // saturates at MaxUint64; truncates fractions
		*n = num{u: u, set: true}
	}
	return nil
}

// Uint64 is the value, 0 for negatives.
func (n num) Uint64() uint64 {
	if n.neg {
		return 0
	}
	return n.u
}

// Int64 is the value saturated to the int64 range.
func (n num) Int64() int64 {
	if n.neg {
		if n.u > math.MaxInt64 {
			return math.MinInt64
		}
		return -int64(n.u)
	}
	if n.u > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(n.u)
}

// Int is the value saturated to the int range.
func (n num) Int() int {
	v := n.Int64()
	if v > math.MaxInt32 {
		return math.MaxInt32
	}
	if v < math.MinInt32 {
		return math.MinInt32
	}
	return int(v)
}

func (n *num) ptr64() *int64 {
	if n == nil || !n.set {
		return nil
	}
	v := n.Int64()
	return &v
}
