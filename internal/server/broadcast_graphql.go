package server

import (
	"context"
	"errors"

	"github.com/gander-xmpp/gander/internal/api"
	"github.com/gander-xmpp/gander/internal/jid"
	"github.com/gander-xmpp/gander/internal/mod/broadcast"
)

// apiBroadcast is mod_broadcast's service API as the GraphQL broadcast
// category sees it (spec/broadcast.md §4). m is nil when the module is not
// enabled: the resolvers then fail with deps_not_loaded for the served
// domains, and an unknown domain gets domain_not_found here.
type apiBroadcast struct {
	s *Server
	m *broadcast.Module
}

// broadcastService returns the service the API drives.
func (s *Server) broadcastService() api.Broadcasts { return apiBroadcast{s: s, m: s.broadcast} }

// err turns the service's errors into API errors; the cause of an
// internal_error is logged.
func (b apiBroadcast) err(err error) error {
	var e *broadcast.Error
	if err == nil || !errors.As(err, &e) {
		return err
	}
	switch e.Code {
	case broadcast.ErrInternal.Code:
		b.s.log.Error("mod_broadcast: internal error", "err", err)
	case broadcast.ErrNotLoaded.Code:
		return api.NewError(e.Code, e.Message, "not_loaded_modules", []string{"mod_broadcast"})
	}
	return api.NewError(e.Code, e.Message)
}

func (b apiBroadcast) module() (*broadcast.Module, error) {
	if b.m == nil {
		// The resolvers gated served domains already.
		return nil, b.err(broadcast.ErrDomainNotFound)
	}
	return b.m, nil
}

func (b apiBroadcast) StartBroadcast(ctx context.Context, r api.BroadcastStart) (int, error) {
	m, err := b.module()
	if err != nil {
		return 0, err
	}
	group := ""
	if r.RecipientGroup == api.BroadcastRecipientGroupAllUsersInDomain {
		group = broadcast.RecipientGroupAllUsers
	}
	id, err := m.StartBroadcast(ctx, broadcast.StartRequest{Name: r.Name, Domain: r.Domain, Subject: r.Subject,
		Body: r.Body, Sender: r.Sender, MessageRate: r.MessageRate, RecipientGroup: group})
	return int(id), b.err(err)
}

func (b apiBroadcast) GetBroadcasts(ctx context.Context, domain string, limit, index int) ([]api.Broadcast, error) {
	m, err := b.module()
	if err != nil {
		return nil, err
	}
	jobs, err := m.GetBroadcasts(ctx, domain, limit, index)
	if err != nil {
		return nil, b.err(err)
	}
	out := make([]api.Broadcast, len(jobs))
	for i, j := range jobs {
		out[i] = apiJob(j)
	}
	return out, nil
}

func (b apiBroadcast) GetBroadcast(ctx context.Context, domain string, id int) (api.Broadcast, error) {
	m, err := b.module()
	if err != nil {
		return api.Broadcast{}, err
	}
	j, err := m.GetBroadcast(ctx, domain, int64(id))
	if err != nil {
		return api.Broadcast{}, b.err(err)
	}
	return apiJob(j), nil
}

func (b apiBroadcast) AbortBroadcast(ctx context.Context, domain string, id int) error {
	m, err := b.module()
	if err != nil {
		return err
	}
	_, err = m.AbortBroadcast(ctx, domain, int64(id))
	return b.err(err)
}

func (b apiBroadcast) DeleteInactiveBroadcastsByIds(ctx context.Context, domain string, ids []int) ([]int, error) {
	m, err := b.module()
	if err != nil {
		return nil, err
	}
	in := make([]int64, len(ids))
	for i, id := range ids {
		in[i] = int64(id)
	}
	deleted, err := m.DeleteInactiveBroadcastsByIds(ctx, domain, in)
	if err != nil {
		return nil, b.err(err)
	}
	return ints(deleted), nil
}

func (b apiBroadcast) DeleteInactiveBroadcastsByDomain(ctx context.Context, domain string) ([]int, error) {
	m, err := b.module()
	if err != nil {
		return nil, err
	}
	deleted, err := m.DeleteInactiveBroadcastsByDomain(ctx, domain)
	if err != nil {
		return nil, b.err(err)
	}
	return ints(deleted), nil
}

func ints(ids []int64) []int {
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i] = int(id)
	}
	return out
}

// apiState maps a stored state to the API's enum (spec §4.4).
func apiState(s broadcast.State) api.BroadcastJobState {
	switch s {
	case broadcast.StateFinished:
		return api.BroadcastJobStateFinished
	case broadcast.StateAbortError:
		return api.BroadcastJobStateAbortError
	case broadcast.StateAbortAdmin:
		return api.BroadcastJobStateAbortAdmin
	}
	return api.BroadcastJobStateRunning
}

func apiJob(j broadcast.Job) api.Broadcast {
	// The sender was stored from a validated bare JID; a value that does
	// not parse (not written by Gander) shows as an empty JID rather than
	// failing the whole list.
	sender, _ := jid.Parse(j.Sender)
	b := api.Broadcast{
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
		ExecutionState:      apiState(j.State),
		RecipientGroup:      api.BroadcastRecipientGroupAllUsersInDomain,
		RecipientCount:      j.RecipientCount,
		RecipientsProcessed: j.RecipientsProcessed,
	}
	if j.State == broadcast.StateAbortError {
		reason := j.AbortionReason
		if reason == "" {
			reason = "unknown error"
		}
		b.AbortionReason = &reason
	}
	return b
}
