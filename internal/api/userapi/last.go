package userapi

// LastUserQuery is the last category of queries.
type LastUserQuery struct{}

// LastUserMutation is the last category of mutations.
type LastUserMutation struct{}
