package broadcast

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// MessageID returns the id and XEP-0359 origin-id of the broadcast message
// of job jobID to recipient (a bare JID): "mb-" and the upper-case hex of the
// first 16 bytes of SHA-256("<jobID>:<recipient>") (spec/broadcast.md §7).
// The same job and recipient always give the same id, so a message sent
// twice around a failure can be recognised as a duplicate by the client.
func MessageID(jobID int64, recipient string) string {
	sum := sha256.Sum256([]byte(strconv.FormatInt(jobID, 10) + ":" + recipient))
	return "mb-" + strings.ToUpper(hex.EncodeToString(sum[:16]))
}
