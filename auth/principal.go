package auth

import (
	"context"
	"slices"

	"github.com/google/uuid"
)

// Role is what a principal may do.
type Role string

// The roles of design.md section 6.
const (
	RoleAdmin   Role = "admin"
	RoleStaff   Role = "staff"
	RoleAPI     Role = "api"
	RoleAuditor Role = "auditor"
)

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool {
	switch r {
	case RoleAdmin, RoleStaff, RoleAPI, RoleAuditor:
		return true
	}
	return false
}

// Principal is the authenticated caller of a request or job.
type Principal struct {
	// Actor names the caller in the audit trail, e.g. "token:ci-bot" or
	// "user:ana@example.com".
	Actor string
	Role  Role
	// Sites limits the principal to these site ids; empty means all sites.
	Sites []string
	// TokenID is the API token used, if any (for idempotency and rate limits).
	TokenID uuid.UUID
	// RequestID ties database changes to the request log.
	RequestID string
}

// AllSites reports whether the principal is not limited to some sites.
func (p Principal) AllSites() bool { return len(p.Sites) == 0 }

// CanSeeSite reports whether the principal may see rows of site.
func (p Principal) CanSeeSite(site string) bool {
	return p.AllSites() || slices.Contains(p.Sites, site)
}

// System is the principal of background jobs and CLI maintenance commands.
func System(name string) Principal {
	return Principal{Actor: "system:" + name, Role: RoleAdmin}
}

type principalKey struct{}

// WithPrincipal returns a context that carries p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal carried by ctx.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
