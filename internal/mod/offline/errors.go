package offline

import "errors"

// ErrLimitReached is returned by Store when the user's offline storage
// already holds as many messages as allowed.
var ErrLimitReached = errors.New("offline message limit reached")
