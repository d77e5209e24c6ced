package userapi

// InboxUserMutation is the inbox category of mutations.
type InboxUserMutation struct{}
