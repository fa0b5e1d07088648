package auth

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/messina-oms/messina/queries"
)

// Errors of the user directory.
var (
	ErrUserNotFound = errors.New("user not found")
	ErrEmailTaken   = errors.New("a user with this email exists")
	// ErrStale means the caller's version of the row is not the current one.
	ErrStale = errors.New("stale version")
)

// User is a person who signs in; their tokens act with their role.
type User struct {
	ID        uuid.UUID
	Email     string
	Name      string
	Role      Role
	Sites     []string
	Disabled  bool
	CreatedAt time.Time
	Version   int32
}

// UserPatch changes the fields that are set.
type UserPatch struct {
	Name     *string
	Role     *Role
	Sites    *[]string
	Disabled *bool
}

// Users manages the user directory.
type Users struct{ pool *pgxpool.Pool }

// NewUsers returns the user directory on pool.
func NewUsers(pool *pgxpool.Pool) *Users { return &Users{pool: pool} }

// Create adds a user. It returns a *ValidationError for bad fields and
// ErrEmailTaken when the email is in use.
func (u *Users) Create(ctx context.Context, email, name string, role Role, sites []string) (User, error) {
	var v ValidationError
	email = strings.TrimSpace(email)
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || len(email) > 254 {
		v.Fields = append(v.Fields, FieldError{"email", "must be a plain email address"})
	}
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 200 {
		v.Fields = append(v.Fields, FieldError{"name", "must be 1 to 200 characters"})
	}
	if !role.Valid() {
		v.Fields = append(v.Fields, FieldError{"role", "must be one of admin, staff, api, auditor"})
	}
	sites = normalizeSites(sites)
	var out User
	err := InQueries(ctx, u.pool, func(q *queries.Queries) error {
		if err := checkSites(ctx, q, sites, &v); err != nil {
			return err
		}
		if len(v.Fields) > 0 {
			return &v
		}
		row, err := q.UserCreate(ctx, queries.UserCreateParams{Email: email, Name: name, Role: queries.CoreRole(role), Sites: sites})
		if err != nil {
			return userError(err)
		}
		out = userFromRow(row)
		return nil
	})
	return out, err
}

// Get returns a user or ErrUserNotFound.
func (u *Users) Get(ctx context.Context, id uuid.UUID) (User, error) {
	var out User
	err := InSingle(ctx, u.pool, func(q *queries.Queries) error {
		row, err := q.UserGet(ctx, id)
		if err != nil {
			return userError(err)
		}
		out = userFromRow(row)
		return nil
	})
	return out, err
}

// List returns up to limit users with ids after the given one, by id.
func (u *Users) List(ctx context.Context, after *uuid.UUID, limit int) ([]User, error) {
	var out []User
	err := InSingle(ctx, u.pool, func(q *queries.Queries) error {
		rows, err := q.UserList(ctx, queries.UserListParams{After: after, MaxRows: int32(limit)})
		if err != nil {
			return fmt.Errorf("list users: %w", err)
		}
		for _, r := range rows {
			out = append(out, userFromRow(r))
		}
		return nil
	})
	return out, err
}

// Update applies patch when version is current: ErrStale otherwise,
// ErrUserNotFound for an unknown id.
func (u *Users) Update(ctx context.Context, id uuid.UUID, version int32, patch UserPatch) (User, error) {
	var v ValidationError
	params := queries.UserUpdateParams{ID: id, Version: version, Disabled: patch.Disabled}
	if patch.Name != nil {
		n := strings.TrimSpace(*patch.Name)
		if n == "" || len(n) > 200 {
			v.Fields = append(v.Fields, FieldError{"name", "must be 1 to 200 characters"})
		}
		params.Name = &n
	}
	if patch.Role != nil {
		if !patch.Role.Valid() {
			v.Fields = append(v.Fields, FieldError{"role", "must be one of admin, staff, api, auditor"})
		}
		r := queries.CoreRole(*patch.Role)
		params.Role = &r
	}
	if patch.Sites != nil {
		params.Sites = normalizeSites(*patch.Sites)
	}
	var out User
	err := InQueries(ctx, u.pool, func(q *queries.Queries) error {
		if patch.Sites != nil {
			if err := checkSites(ctx, q, params.Sites, &v); err != nil {
				return err
			}
		}
		if len(v.Fields) > 0 {
			return &v
		}
		row, err := q.UserUpdate(ctx, params)
		if errors.Is(err, pgx.ErrNoRows) {
			if _, err := q.UserGet(ctx, id); err != nil {
				return userError(err)
			}
			return ErrStale
		}
		if err != nil {
			return userError(err)
		}
		out = userFromRow(row)
		return nil
	})
	return out, err
}

func normalizeSites(sites []string) []string {
	out := slices.Clone(sites)
	slices.Sort(out)
	out = slices.Compact(out)
	if out == nil {
		out = []string{}
	}
	return out
}

// checkSites adds a field error for every site that does not exist (or
// that the principal cannot see, which is the same to it).
func checkSites(ctx context.Context, q *queries.Queries, sites []string, v *ValidationError) error {
	for _, s := range sites {
		_, err := q.SiteGet(ctx, s)
		if errors.Is(err, pgx.ErrNoRows) {
			v.Fields = append(v.Fields, FieldError{"sites", fmt.Sprintf("site %q does not exist", s)})
		} else if err != nil {
			return fmt.Errorf("look up site %q: %w", s, err)
		}
	}
	return nil
}

func userError(err error) error {
	var pgErr *pgconn.PgError
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return ErrUserNotFound
	case errors.As(err, &pgErr) && pgErr.Code == "23505":
		return ErrEmailTaken
	case errors.As(err, &pgErr) && pgErr.Code == "23514":
		return &ValidationError{Fields: []FieldError{{"email", "must be a plain email address"}}}
	}
	return fmt.Errorf("user: %w", err)
}

func userFromRow(r queries.CoreAppUser) User {
	return User{ID: r.ID, Email: r.Email, Name: r.Name, Role: Role(r.Role), Sites: r.Sites, Disabled: r.Disabled, CreatedAt: r.CreatedAt, Version: r.Version}
}
