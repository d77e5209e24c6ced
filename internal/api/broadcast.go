package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/gander-xmpp/gander/internal/jid"
)

// BroadcastAdminQuery is the broadcast category of queries.
type BroadcastAdminQuery struct{}

// BroadcastAdminMutation is the broadcast category of mutations.
type BroadcastAdminMutation struct{}

// Broadcasts is mod_broadcast's service (spec/broadcast.md §4) as the API
// drives it. Errors of the spec's catalogue are *Error values with its code
// and message (the resolvers add the context keys); other errors are
// failures. Implementations must be safe for concurrent use.
type Broadcasts interface {
	// StartBroadcast validates and creates a job and returns its id.
	StartBroadcast(ctx context.Context, r BroadcastStart) (int, error)
	// GetBroadcasts returns limit jobs of domain after skipping index,
	// newest first.
	GetBroadcasts(ctx context.Context, domain string, limit, index int) ([]Broadcast, error)
	// GetBroadcast returns the job id of domain.
	GetBroadcast(ctx context.Context, domain string, id int) (Broadcast, error)
	// AbortBroadcast aborts the running job id of domain.
	AbortBroadcast(ctx context.Context, domain string, id int) error
	// DeleteInactiveBroadcastsByIds deletes the jobs of ids that belong to
	// domain and do not run, and returns them in input order.
	DeleteInactiveBroadcastsByIds(ctx context.Context, domain string, ids []int) ([]int, error)
	// DeleteInactiveBroadcastsByDomain deletes the domain's jobs that do
	// not run and returns their ids.
	DeleteInactiveBroadcastsByDomain(ctx context.Context, domain string) ([]int, error)
}

// BroadcastStart is the request of startBroadcast.
type BroadcastStart struct {
	Name           string
	Domain         string
	Subject        string
	Body           string
	Sender         jid.JID
	MessageRate    int
	RecipientGroup BroadcastRecipientGroup
}

// Broadcast is a broadcast job (spec/broadcast.md §4.2). Timestamps have
// whole-second precision.
type Broadcast struct {
	ID                  int
	Name                string
	Domain              string
	MessageSubject      string
	MessageBody         string
	SenderJid           jid.JID
	MessageRate         int
	OwnerNode           string
	CreateTimestamp     time.Time
	StartTimestamp      *time.Time
	StopTimestamp       *time.Time
	ExecutionState      BroadcastJobState
	AbortionReason      *string
	RecipientGroup      BroadcastRecipientGroup
	RecipientCount      int
	RecipientsProcessed int
}

// BroadcastMutationResult is what the broadcast mutations return.
type BroadcastMutationResult struct {
	Message string
	Ids     []int
}

// BroadcastJobState is a job's state as the API shows it.
type BroadcastJobState string

// The job states (spec/broadcast.md §4.4).
const (
	BroadcastJobStateRunning    BroadcastJobState = "RUNNING"
	BroadcastJobStateFinished   BroadcastJobState = "FINISHED"
	BroadcastJobStateAbortError BroadcastJobState = "ABORT_ERROR"
	BroadcastJobStateAbortAdmin BroadcastJobState = "ABORT_ADMIN"
)

// IsValid reports whether s is one of the states.
func (s BroadcastJobState) IsValid() bool {
	switch s {
	case BroadcastJobStateRunning, BroadcastJobStateFinished, BroadcastJobStateAbortError, BroadcastJobStateAbortAdmin:
		return true
	}
	return false
}

// UnmarshalGQL reads the enum value.
func (s *BroadcastJobState) UnmarshalGQL(v any) error {
	str, ok := v.(string)
	if !ok || !BroadcastJobState(str).IsValid() {
		return fmt.Errorf("%v is not a valid BroadcastJobState", v)
	}
	*s = BroadcastJobState(str)
	return nil
}

// MarshalGQL writes the enum value.
func (s BroadcastJobState) MarshalGQL(w io.Writer) { fmt.Fprint(w, strconv.Quote(string(s))) }

// BroadcastRecipientGroup is who receives a broadcast.
type BroadcastRecipientGroup string

// BroadcastRecipientGroupAllUsersInDomain is every user of the domain.
const BroadcastRecipientGroupAllUsersInDomain BroadcastRecipientGroup = "ALL_USERS_IN_DOMAIN"

// UnmarshalGQL reads the enum value.
func (g *BroadcastRecipientGroup) UnmarshalGQL(v any) error {
	str, ok := v.(string)
	if !ok || BroadcastRecipientGroup(str) != BroadcastRecipientGroupAllUsersInDomain {
		return fmt.Errorf("%v is not a valid BroadcastRecipientGroup", v)
	}
	*g = BroadcastRecipientGroup(str)
	return nil
}

// MarshalGQL writes the enum value.
func (g BroadcastRecipientGroup) MarshalGQL(w io.Writer) { fmt.Fprint(w, strconv.Quote(string(g))) }

// requireBroadcast gates a broadcast field on domain (deps_not_loaded when
// mod_broadcast does not run for its host type).
func (r *Resolver) requireBroadcast(domain string) error {
	if err := r.requireModules(domain, "mod_broadcast"); err != nil {
		return err
	}
	if r.deps.Broadcasts == nil {
		return notLoaded([]string{"mod_broadcast"}, nil)
	}
	return nil
}

// withContext adds the operation's context keys (spec/broadcast.md §4.8)
// to an *Error of the service; other errors pass unchanged.
func withContext(err error, kv ...any) error {
	var ae *Error
	if err == nil || !errors.As(err, &ae) {
		return err
	}
	out := &Error{Code: ae.Code, Message: ae.Message, Ext: map[string]any{}}
	for k, v := range ae.Ext {
		out.Ext[k] = v
	}
	if ae.Code == "deps_not_loaded" {
		return out
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out.Ext[kv[i].(string)] = kv[i+1]
	}
	return out
}
