package api

import (
	"context"

	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/mod/broadcast"
)

// BroadcastAdminQuery is the broadcast category of queries.
type BroadcastAdminQuery struct{}

// BroadcastAdminMutation is the broadcast category of mutations.
type BroadcastAdminMutation struct{}

// Broadcasts is mod_broadcast's service API (*broadcast.Module) as the
// broadcast category calls it. Its errors are *broadcast.Error values
// (coded, see codedError); the resolvers add the context keys.
type Broadcasts interface {
	StartBroadcast(ctx context.Context, r broadcast.StartRequest) (int64, error)
	GetBroadcasts(ctx context.Context, domain string, limit, index int) ([]broadcast.Job, error)
	GetBroadcast(ctx context.Context, domain string, id int64) (broadcast.Job, error)
	AbortBroadcast(ctx context.Context, domain string, id int64) (int64, error)
	DeleteInactiveBroadcastsByIds(ctx context.Context, domain string, ids []int64) ([]int64, error)
	DeleteInactiveBroadcastsByDomain(ctx context.Context, domain string) ([]int64, error)
}

// broadcasts gates a broadcast field on domain and returns the service:
// deps_not_loaded when mod_broadcast does not run for a served domain's
// host type; without the module, an unknown domain is domain_not_found
// (which the resolver gives its context keys, as the service's own).
func (r *Resolver) broadcasts(domain string) (Broadcasts, error) {
	if err := r.requireModules(domain, "mod_broadcast"); err != nil {
		return nil, err
	}
	if r.deps.Broadcasts == nil {
		return nil, broadcast.ErrDomainNotFound
	}
	return r.deps.Broadcasts, nil
}

// broadcastOf is a job as the schema shows it.
func broadcastOf(j broadcast.Job) *Broadcast {
	// The sender was stored from a validated bare JID; a value that does
	// not parse (not written by Gander) shows as an empty JID rather than
	// failing the whole list.
	sender, _ := jid.Parse(j.Sender)
	b := &Broadcast{
		ID:                  int(j.ID),
		Name:                j.Name,
		Domain:              j.Domain,
		MessageSubject:      j.Subject,
		MessageBody:         j.Body,
		SenderJid:           sender,
		MessageRate:         j.MessageRate,
		OwnerNode:           j.OwnerNode,
		CreateTimestamp:     j.CreatedAt.UTC(),
		StartTimestamp:      j.StartedAt,
		StopTimestamp:       j.StoppedAt,
		ExecutionState:      BroadcastJobStateRunning,
		RecipientGroup:      BroadcastRecipientGroupAllUsersInDomain,
		RecipientCount:      j.RecipientCount,
		RecipientsProcessed: j.RecipientsProcessed,
	}
	switch j.State {
	case broadcast.StateFinished:
		b.ExecutionState = BroadcastJobStateFinished
	case broadcast.StateAbortAdmin:
		b.ExecutionState = BroadcastJobStateAbortAdmin
	case broadcast.StateAbortError:
		b.ExecutionState = BroadcastJobStateAbortError
		reason := j.AbortionReason
		if reason == "" {
			reason = "unknown error"
		}
		b.AbortionReason = &reason
	}
	return b
}

// ints converts job ids.
func ints[T, U int | int64](ids []T) []U {
	out := make([]U, len(ids))
	for i, id := range ids {
		out[i] = U(id)
	}
	return out
}
