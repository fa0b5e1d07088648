// Package auth holds who is acting: principals (a user or API token with a
// role and the sites it may see), bearer tokens (generation and hashing) and
// Begin, which opens a transaction that carries the principal into
// PostgreSQL (audit actor, request id and the site list that row-level
// security enforces). It must not import net/http.
package auth
