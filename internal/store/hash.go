package store

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"strconv"
	"time"
)

// GenesisHash is the PrevHash of the first decision.
const GenesisHash = "0000000000000000000000000000000000000000000000000000000000000000"

// hashVersion names the canonical encoding below; change it with the encoding.
const hashVersion = "patchgate.decision.v1"

// decisionHash returns the hex SHA-256 of d.PrevHash followed by the
// canonical encoding of d's content: the version tag, then seq (decimal),
// id, service, patch_id, stage, attempt, verdict, evaluated_at (UTC,
// RFC 3339 with nanoseconds) and body, each preceded by its length as a
// big-endian uint64, so no two different rows encode alike.
func decisionHash(d Decision) string {
	h := sha256.New()
	h.Write([]byte(d.PrevHash))
	for _, f := range []string{
		hashVersion,
		strconv.FormatInt(d.Seq, 10),
		d.ID,
		d.Service,
		d.PatchID,
		d.Stage,
		d.Attempt,
		d.Verdict,
		d.EvaluatedAt.UTC().Format(time.RFC3339Nano),
	} {
		writeField(h, []byte(f))
	}
	writeField(h, d.Body)
	return hex.EncodeToString(h.Sum(nil))
}

func writeField(h hash.Hash, b []byte) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(b)))
	h.Write(n[:])
	h.Write(b)
}
