package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/messina-oms/messina/queries"
)

// Sealed describes a seal written by Seal.
type Sealed struct {
	ID       int64
	SealedAt time.Time
	// FromID (exclusive) and UptoID (inclusive) bound the sealed log ids.
	FromID int64
	UptoID int64
	Rows   int
	Hash   []byte
}

// SealBatch is the most rows one seal covers; Seal writes several seals
// when more are pending.
const SealBatch = 100000

// Seal hashes the log rows written since the last seal into chained seal
// rows (audit.seal()), SealBatch rows a seal, until none are left. It
// waits for transactions that were writing when it started. db must not
// be inside a REPEATABLE READ or SERIALIZABLE transaction. It returns the
// seals written, none when the log was already sealed.
func Seal(ctx context.Context, db queries.DBTX) ([]Sealed, error) {
	q := queries.New(db)
	var out []Sealed
	for {
		r, err := q.AuditSealCreate(ctx, SealBatch)
		if errors.Is(err, pgx.ErrNoRows) {
			return out, nil
		}
		if err != nil {
			return out, dbError("seal", err)
		}
		out = append(out, Sealed{ID: r.ID, SealedAt: r.SealedAt, FromID: r.FromID, UptoID: r.UptoID, Rows: int(r.RowCount), Hash: r.Hash})
		if r.RowCount < SealBatch {
			return out, nil
		}
	}
}

// Report is the outcome of Verify.
type Report struct {
	// OK is true when every seal and every sealed row checks out.
	OK bool
	// Seals and SealedRows count what was checked.
	Seals      int
	SealedRows int64
	// UnsealedRows were written after the last seal and are not covered.
	UnsealedRows int64
	// FirstBadSeal and FirstBadRow name the first seal and log row that do
	// not check out (0 when none, or when only the seal itself is bad).
	FirstBadSeal int64
	FirstBadRow  int64
	// Problem says what is wrong, for people.
	Problem string
	// EventTriggers reports whether the DDL event triggers are installed;
	// without them DDL on audited tables is not followed.
	EventTriggers bool
}

// String summarizes the report in one line, for the CLI.
func (r Report) String() string {
	if r.OK {
		return fmt.Sprintf("audit log OK: %d seals, %d sealed rows, %d unsealed rows, event triggers installed: %t",
			r.Seals, r.SealedRows, r.UnsealedRows, r.EventTriggers)
	}
	return fmt.Sprintf("audit log TAMPERED: %s (seal %d, row %d)", r.Problem, r.FirstBadSeal, r.FirstBadRow)
}

// Verify recomputes the seal chain: each seal must continue the previous
// one, its hash must match its contents, and each sealed log row must
// still hash to the digest recorded at sealing, with no row added or
// removed. It stops at the first problem and names the seal and row. An
// error is returned only when the check itself could not run.
func Verify(ctx context.Context, db queries.DBTX) (Report, error) {
	q := queries.New(db)
	rep := Report{OK: true}
	var err error
	if rep.EventTriggers, err = q.AuditEventTriggersInstalled(ctx); err != nil {
		return rep, dbError("event triggers", err)
	}
	var prevHash []byte
	var prevUpto, afterSeal int64
	for {
		seals, err := q.AuditSealList(ctx, queries.AuditSealListParams{AfterID: afterSeal, MaxRows: 100})
		if err != nil {
			return rep, dbError("list seals", err)
		}
		for _, s := range seals {
			afterSeal = s.ID
			if problem, row, err := verifySeal(ctx, q, s, prevHash, prevUpto); err != nil {
				return rep, err
			} else if problem != "" {
				rep.OK, rep.FirstBadSeal, rep.FirstBadRow, rep.Problem = false, s.ID, row, problem
				return rep, nil
			}
			rep.Seals++
			rep.SealedRows += int64(s.RowCount)
			prevHash, prevUpto = s.Hash, s.UptoID
		}
		if len(seals) < 100 {
			break
		}
	}
	if rep.UnsealedRows, err = q.AuditLogUnsealedCount(ctx, prevUpto); err != nil {
		return rep, dbError("count unsealed", err)
	}
	return rep, nil
}

// verifySeal checks one seal against its predecessor and its rows. It
// returns a problem and the first bad row id (0 when the seal row itself
// is at fault).
func verifySeal(ctx context.Context, q *queries.Queries, s queries.AuditSeal, prevHash []byte, prevUpto int64) (string, int64, error) {
	if s.FromID != prevUpto {
		return fmt.Sprintf("seal %d starts after row %d, the previous seal ended at row %d", s.ID, s.FromID, prevUpto), 0, nil
	}
	if !bytes.Equal(s.PrevHash, prevHash) {
		return fmt.Sprintf("seal %d does not chain to the previous seal's hash", s.ID), 0, nil
	}
	if len(s.Ids) != int(s.RowCount) || len(s.Digests) != sha256.Size*len(s.Ids) {
		return fmt.Sprintf("seal %d is malformed (row count, ids and digests disagree)", s.ID), 0, nil
	}
	if !bytes.Equal(chainHash(prevHash, s.FromID, s.UptoID, s.Digests), s.Hash) {
		return fmt.Sprintf("seal %d: its hash does not match its contents", s.ID), 0, nil
	}
	i := 0 // next expected position in s.Ids
	after := s.FromID
	for {
		rows, err := q.AuditLogCanonicalList(ctx, queries.AuditLogCanonicalListParams{AfterID: after, UptoID: s.UptoID, MaxRows: 1000})
		if err != nil {
			return "", 0, dbError("read sealed rows", err)
		}
		for _, r := range rows {
			after = r.ID
			switch {
			case i < len(s.Ids) && s.Ids[i] < r.ID:
				return fmt.Sprintf("row %d was removed after sealing", s.Ids[i]), s.Ids[i], nil
			case i >= len(s.Ids) || s.Ids[i] > r.ID:
				return fmt.Sprintf("row %d was added after sealing", r.ID), r.ID, nil
			}
			d := sha256.Sum256(r.Canonical)
			if !bytes.Equal(d[:], s.Digests[i*sha256.Size:(i+1)*sha256.Size]) {
				return fmt.Sprintf("row %d was altered after sealing", r.ID), r.ID, nil
			}
			i++
		}
		if len(rows) < 1000 {
			break
		}
	}
	if i < len(s.Ids) {
		return fmt.Sprintf("row %d was removed after sealing", s.Ids[i]), s.Ids[i], nil
	}
	return "", 0, nil
}

// chainHash is sha256(prev hash || from id || upto id || row digests),
// ids as 8-byte big-endian, as audit.seal() computes it.
func chainHash(prev []byte, from, upto int64, digests []byte) []byte {
	h := sha256.New()
	h.Write(prev)
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(from))
	h.Write(b[:])
	binary.BigEndian.PutUint64(b[:], uint64(upto))
	h.Write(b[:])
	h.Write(digests)
	return h.Sum(nil)
}
