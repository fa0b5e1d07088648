package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/messina-oms/messina/queries"
)

// ErrTokenNotFound means no token has the given id.
var ErrTokenNotFound = errors.New("token not found")

// ValidationError lists the invalid fields of an input.
type ValidationError struct {
	Fields []FieldError
}

// FieldError is one invalid field and why.
type FieldError struct {
	Field, Message string
}

// Error summarizes the invalid fields.
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Field + " " + f.Message
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Token is an API token as listed: never its secret.
type Token struct {
	ID         uuid.UUID
	Name       string
	Prefix     string
	Role       Role
	Sites      []string
	UserID     *uuid.UUID
	CreatedBy  string
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	RevokedAt  *time.Time
	LastUsedAt *time.Time
}

// NewTokenInput describes a token to create.
type NewTokenInput struct {
	Name  string
	Role  Role
	Sites []string
	// ExpiresAt is optional; a token without it lives until revoked.
	ExpiresAt *time.Time
	// UserID makes the token act for a user, with the user's role.
	UserID *uuid.UUID
}

// Tokens manages API tokens.
type Tokens struct {
	pool *pgxpool.Pool
	now  func() time.Time
}

// NewTokens returns a token manager on pool.
func NewTokens(pool *pgxpool.Pool) *Tokens {
	return &Tokens{pool: pool, now: time.Now}
}

// Create makes a token and returns it with its secret, which is shown this
// once: only its hash is stored. The creator is the principal in ctx.
func (t *Tokens) Create(ctx context.Context, in NewTokenInput) (Token, string, error) {
	in.Name = strings.TrimSpace(in.Name)
	var v ValidationError
	if in.Name == "" || len(in.Name) > 100 {
		v.Fields = append(v.Fields, FieldError{"name", "must be 1 to 100 characters"})
	}
	if !in.Role.Valid() && !(in.Role == "" && in.UserID != nil) {
		v.Fields = append(v.Fields, FieldError{"role", "must be one of admin, staff, api, auditor"})
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(t.now()) {
		v.Fields = append(v.Fields, FieldError{"expires_at", "must be in the future"})
	}
	in.Sites = normalizeSites(in.Sites)
	p, ok := FromContext(ctx)
	if !ok {
		return Token{}, "", ErrNoPrincipal
	}
	secret, hash := NewToken()
	var out Token
	err := InQueries(ctx, t.pool, func(q *queries.Queries) error {
		if err := checkSites(ctx, q, in.Sites, &v); err != nil {
			return err
		}
		if in.UserID != nil {
			u, err := q.UserGet(ctx, *in.UserID)
			switch {
			case errors.Is(err, pgx.ErrNoRows):
				v.Fields = append(v.Fields, FieldError{"user_id", "no such user"})
			case err != nil:
				return fmt.Errorf("look up user: %w", err)
			case in.Role != "" && in.Role != Role(u.Role):
				v.Fields = append(v.Fields, FieldError{"role", "must be the user's role (" + string(u.Role) + ") or left out"})
			default:
				in.Role = Role(u.Role)
			}
		}
		if len(v.Fields) > 0 {
			return &v
		}
		row, err := q.TokenCreate(ctx, queries.TokenCreateParams{
			Name: in.Name, Hash: hash, Prefix: VisiblePrefix(secret), Role: queries.CoreRole(in.Role),
			Sites: in.Sites, UserID: in.UserID, CreatedBy: p.Actor, ExpiresAt: in.ExpiresAt,
		})
		if err != nil {
			return fmt.Errorf("insert token: %w", err)
		}
		out = tokenFromRow(row)
		return nil
	})
	if err != nil {
		return Token{}, "", err
	}
	return out, secret, nil
}

// List returns up to limit tokens with ids after the given one, by id.
func (t *Tokens) List(ctx context.Context, after *uuid.UUID, limit int) ([]Token, error) {
	var out []Token
	err := InSingle(ctx, t.pool, func(q *queries.Queries) error {
		rows, err := q.TokenList(ctx, queries.TokenListParams{After: after, MaxRows: int32(limit)})
		if err != nil {
			return fmt.Errorf("list tokens: %w", err)
		}
		for _, r := range rows {
			out = append(out, tokenFromRow(r))
		}
		return nil
	})
	return out, err
}

// Revoke ends a token at once; revoking twice keeps the first time. It
// returns ErrTokenNotFound for an unknown id.
func (t *Tokens) Revoke(ctx context.Context, id uuid.UUID) (Token, error) {
	var out Token
	err := InSingle(ctx, t.pool, func(q *queries.Queries) error {
		row, err := q.TokenRevoke(ctx, id)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrTokenNotFound
		}
		if err != nil {
			return fmt.Errorf("revoke token %s: %w", id, err)
		}
		out = tokenFromRow(row)
		return nil
	})
	return out, err
}

func tokenFromRow(r queries.CoreApiToken) Token {
	return Token{ID: r.ID, Name: r.Name, Prefix: r.Prefix, Role: Role(r.Role), Sites: r.Sites, UserID: r.UserID,
		CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, RevokedAt: r.RevokedAt, LastUsedAt: r.LastUsedAt}
}
