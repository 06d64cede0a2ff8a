package rules

// Default returns the built-in rule set. Each family adds its rules here.
func Default() *Set {
	var all []*Rule
	all = append(all, SourceRules()...)
	all = append(all, MDRules()...)
	all = append(all, MDAdmRules()...)
	all = append(all, RaidTimeoutRules()...)
	all = append(all, SMARTRules()...)
	all = append(all, UPSRules()...)
	all = append(all, SensorRules()...)
	all = append(all, HistoryRules()...)
	all = append(all, LogRules()...)
	all = append(all, KernelLogRules()...)
	all = append(all, HWRaidRules()...)
	return NewSet(all...)
}
