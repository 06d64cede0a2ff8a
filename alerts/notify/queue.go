package notify

import "time"

// Entry is one undelivered message for one sink, as queued on disk.
type Entry struct {
	Sink     string    `json:"sink"`
	Attempts int       `json:"attempts"`
	Next     time.Time `json:"next_attempt"`
	Message  Message   `json:"message"`
	// file is the entry's file name in the sink's queue directory ("":
	// kept in memory only).
	file string
}
