package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/messina-oms/messina/queries"
)

// ErrUnauthenticated means the token is unknown, revoked, expired, or acts
// for a disabled user. Callers must not tell these apart to the client.
var ErrUnauthenticated = errors.New("unauthenticated")

// Authenticate resolves a bearer token to a principal. A token that acts
// for a user takes the user's role, and the sites both allow; so disabling a
// user or narrowing their sites takes effect on their tokens at once.
func Authenticate(ctx context.Context, db queries.DBTX, token string, now time.Time) (Principal, error) {
	row, err := queries.New(db).TokenAuthenticate(ctx, HashToken(token))
	if errors.Is(err, pgx.ErrNoRows) {
		return Principal{}, ErrUnauthenticated
	}
	if err != nil {
		return Principal{}, fmt.Errorf("look up token: %w", err)
	}
	if row.RevokedAt != nil || (row.ExpiresAt != nil && !now.Before(*row.ExpiresAt)) {
		return Principal{}, ErrUnauthenticated
	}
	p := Principal{
		Actor:   "token:" + row.Name + ":" + row.Prefix,
		Role:    Role(row.Role),
		Sites:   row.Sites,
		TokenID: row.ID,
	}
	if row.UserID != nil {
		if row.UserDisabled != nil && *row.UserDisabled {
			return Principal{}, ErrUnauthenticated
		}
		p.Actor = "user:" + *row.UserEmail
		p.Role = Role(*row.UserRole)
		sites, ok := intersectSites(row.Sites, row.UserSites)
		if !ok {
			return Principal{}, ErrUnauthenticated
		}
		p.Sites = sites
	}
	return p, nil
}

// intersectSites combines two site limits where empty means all sites. It
// reports false when nothing is left, which must not widen to "all".
func intersectSites(a, b []string) ([]string, bool) {
	switch {
	case len(a) == 0:
		return b, true
	case len(b) == 0:
		return a, true
	}
	var out []string
	for _, s := range a {
		if slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out, len(out) > 0
}

// MaxTokenBytes bounds the length of a bearer token a caller may present;
// longer ones are refused before any lookup.
const MaxTokenBytes = 256

// Verifier checks the bearer tokens of the API and the web UI alike.
type Verifier struct {
	// DB is where tokens are looked up (a pool).
	DB queries.DBTX
	// BootstrapToken, when not empty, is accepted as an admin token
	// (MESSINA_BOOTSTRAP_TOKEN).
	BootstrapToken string
	// Now is the clock that decides expiry.
	Now func() time.Time
}

// Verify resolves token to a principal: the bootstrap token (compared in
// constant time), else the token table, where revoked and expired tokens
// and disabled users are refused. Every refusal is ErrUnauthenticated, so
// that a caller learns nothing about which tokens exist; other errors mean
// the database did not answer.
func (v Verifier) Verify(ctx context.Context, token string) (Principal, error) {
	if token == "" || len(token) > MaxTokenBytes {
		return Principal{}, ErrUnauthenticated
	}
	if v.BootstrapToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(v.BootstrapToken)) == 1 {
		return Principal{Actor: "bootstrap", Role: RoleAdmin}, nil
	}
	return Authenticate(ctx, v.DB, token, v.Now())
}
