package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gander-xmpp/gander/internal/benchreport"
)

// broadcastIdle ends the wait for arrivals when none came for this long.
const broadcastIdle = 10 * time.Second

// broadcast logs the users in, starts a Gander broadcast job (GraphQL
// startBroadcast, recipients ALL_USERS_IN_DOMAIN) and measures when the
// message reaches each online user. The job also writes to accounts that
// are not online; only the online ones are counted.
func (b *bench) broadcast(ctx context.Context) error {
	b.loginAll(ctx, true)
	if len(b.live) == 0 {
		return errors.New("no user logged in")
	}
	marker := "gander-bench broadcast " + strconv.FormatInt(b.start.UnixNano(), 36)
	var mu sync.Mutex
	arrival := make(map[*conn]time.Time, len(b.live))
	var last atomic.Int64
	b.onElem = func(c *conn, el []byte, now time.Time) {
		if elemName(el) != "message" {
			return
		}
		if body, ok := childText(el, "body"); !ok || body != marker {
			return
		}
		mu.Lock()
		_, dup := arrival[c]
		if !dup {
			arrival[c] = now
		}
		mu.Unlock()
		if !dup {
			b.delivered.Add(1)
			last.Store(now.UnixNano())
		}
	}
	b.startReaders()
	t0 := time.Now()
	id, err := b.startBroadcast(ctx, marker)
	if err != nil {
		return err
	}
	last.Store(time.Now().UnixNano())
	for sleep(ctx, 100*time.Millisecond) {
		mu.Lock()
		n := len(arrival)
		mu.Unlock()
		if n == len(b.live) || time.Since(time.Unix(0, last.Load())) > broadcastIdle {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	r := &benchreport.Broadcast{Recipients: len(b.live), Arrived: int64(len(arrival)), Missing: len(b.live) - len(arrival), JobID: id}
	if len(arrival) > 0 {
		first, lastT := time.Time{}, time.Time{}
		for _, t := range arrival {
			if first.IsZero() || t.Before(first) {
				first = t
			}
			if t.After(lastT) {
				lastT = t
			}
		}
		r.FirstS = round3(first.Sub(t0).Seconds())
		r.LastS = round3(lastT.Sub(t0).Seconds())
		r.SpreadS = round3(lastT.Sub(first).Seconds())
		if r.SpreadS > 0 {
			r.PerS = round3(float64(r.Arrived) / r.SpreadS)
		}
	}
	b.res.Broadcast = r
	return nil
}

// startBroadcast calls the admin API's startBroadcast and returns the job
// id.
func (b *bench) startBroadcast(ctx context.Context, body string) (string, error) {
	const q = `mutation($name: String!, $domain: DomainName!, $body: String!, $sender: BareJID!, $rate: PosInt!) {
  broadcast { startBroadcast(name: $name, domain: $domain, messageSubject: "", messageBody: $body, senderJid: $sender,
    messageRate: $rate, recipientGroup: ALL_USERS_IN_DOMAIN) { message ids } } }`
	req := map[string]any{"query": q, "variables": map[string]any{
		"name": "gander-bench", "domain": b.cfg.domain, "body": body,
		"sender": b.cfg.account(0).bare(), "rate": b.cfg.bcastRate}}
	payload, _ := json.Marshal(req)
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, b.cfg.adminURL, bytes.NewReader(payload))
	if err != nil {
		return "", err
	}
	hr.Header.Set("Content-Type", "application/json")
	if b.cfg.adminUser != "" {
		hr.SetBasicAuth(b.cfg.adminUser, b.cfg.adminPass)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		return "", fmt.Errorf("startBroadcast: %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var out struct {
		Data struct {
			Broadcast struct {
				StartBroadcast *struct {
					IDs []int `json:"ids"`
				} `json:"startBroadcast"`
			} `json:"broadcast"`
		} `json:"data"`
		Errors []json.RawMessage `json:"errors"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return "", fmt.Errorf("startBroadcast: HTTP %d: %s", resp.StatusCode, truncate(raw))
	}
	sb := out.Data.Broadcast.StartBroadcast
	if len(out.Errors) > 0 || sb == nil || len(sb.IDs) == 0 {
		return "", fmt.Errorf("startBroadcast: %s", truncate(raw))
	}
	return strconv.Itoa(sb.IDs[0]), nil
}
