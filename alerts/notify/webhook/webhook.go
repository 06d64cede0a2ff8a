// Package webhook posts alert events as JSON to an HTTP endpoint, one POST
// per event, with custom headers (tokens). Header values and the URL's
// query and user info never appear in errors.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/diskwatch/diskwatch/alerts/notify"
)

// Sink posts to URL.
type Sink struct {
	URL     string
	Headers map[string]notify.Secret
	Client  *http.Client
}

// Payload is the JSON body of one POST.
type Payload struct {
	Version int `json:"version"`
	notify.Message
	Summary string `json:"summary"`
}

// Notify posts each message. Network errors, 408, 429 and 5xx answers are
// temporary; other non-2xx answers are permanent.
func (s *Sink) Notify(ctx context.Context, msgs ...notify.Message) (bool, error) {
	c := s.Client
	if c == nil {
		c = http.DefaultClient
	}
	for _, m := range msgs {
		body, err := json.Marshal(Payload{Version: 1, Message: m, Summary: m.Subject()})
		if err != nil {
			return false, fmt.Errorf("webhook %s: encode: %w", notify.SafeURL(s.URL), err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
		if err != nil {
			return false, fmt.Errorf("webhook %s: bad request: %w", notify.SafeURL(s.URL), stripURL(err))
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "diskwatch")
		// The same event keeps its id across retries and restarts: a
		// receiver can deduplicate on it.
		req.Header.Set("Idempotency-Key", m.ID)
		for k, v := range s.Headers {
			req.Header.Set(k, v.Reveal())
		}
		resp, err := c.Do(req)
		if err != nil {
			return true, notify.RedactedError(fmt.Errorf("webhook POST %s: %w", notify.SafeURL(s.URL), stripURL(err)), s.secrets()...)
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			retry := resp.StatusCode >= 500 || resp.StatusCode == 408 || resp.StatusCode == 429
			return retry, fmt.Errorf("webhook POST %s: %s", notify.SafeURL(s.URL), resp.Status)
		}
	}
	return false, nil
}

func (s *Sink) secrets() []string {
	var out []string
	for _, v := range s.Headers {
		out = append(out, v.Reveal())
	}
	return out
}

// stripURL drops the URL that net/http puts in its errors (it may carry a
// token in its query).
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
