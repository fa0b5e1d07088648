package api

import (
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/messina-oms/messina/auth"
)

func (s *Server) tokenRoutes() []route {
	return []route{
		{name: "createToken", method: http.MethodPost, path: "/v1/tokens", roles: adminOnly, handle: s.createToken},
		{name: "listTokens", method: http.MethodGet, path: "/v1/tokens", roles: adminOnly, handle: s.listTokens},
		{name: "revokeToken", method: http.MethodDelete, path: "/v1/tokens/{id}", roles: adminOnly, handle: s.revokeToken},
	}
}

type tokenJSON struct {
	ID         uuid.UUID  `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Role       auth.Role  `json:"role"`
	Sites      []string   `json:"sites"`
	UserID     *uuid.UUID `json:"user_id"`
	CreatedBy  string     `json:"created_by"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	// Token is the secret, present only in the answer to its creation.
	Token string `json:"token,omitempty"`
}

func toTokenJSON(t auth.Token) tokenJSON {
	return tokenJSON{ID: t.ID, Name: t.Name, Prefix: t.Prefix, Role: t.Role, Sites: t.Sites, UserID: t.UserID, CreatedBy: t.CreatedBy,
		CreatedAt: t.CreatedAt, ExpiresAt: t.ExpiresAt, RevokedAt: t.RevokedAt, LastUsedAt: t.LastUsedAt}
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name      string     `json:"name"`
		Role      auth.Role  `json:"role"`
		Sites     []string   `json:"sites"`
		ExpiresAt *time.Time `json:"expires_at"`
		UserID    *uuid.UUID `json:"user_id"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	tok, secret, err := auth.NewTokens(s.pool).Create(r.Context(), auth.NewTokenInput{Name: in.Name, Role: in.Role, Sites: in.Sites, ExpiresAt: in.ExpiresAt, UserID: in.UserID})
	if err != nil {
		return err
	}
	out := toTokenJSON(tok)
	out.Token = secret
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", "/v1/tokens/"+tok.ID.String())
	return writeJSON(w, http.StatusCreated, out)
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	pg, after, err := parseUUIDPage(r)
	if err != nil {
		return err
	}
	toks, err := auth.NewTokens(s.pool).List(r.Context(), after, pg.limit+1)
	if err != nil {
		return err
	}
	items := make([]tokenJSON, len(toks))
	for i, t := range toks {
		items[i] = toTokenJSON(t)
	}
	return writeJSON(w, http.StatusOK, newList(items, pg.limit, func(t tokenJSON) string { return t.ID.String() }))
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	tok, err := auth.NewTokens(s.pool).Revoke(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toTokenJSON(tok))
}

// pathUUID reads a uuid path variable; a malformed one is answered 404, as
// an id that does not exist.
func pathUUID(r *http.Request, name string) (uuid.UUID, error) {
	id, err := uuid.Parse(mux.Vars(r)[name])
	if err != nil {
		return uuid.Nil, problem(http.StatusNotFound, "not_found", "no such "+name)
	}
	return id, nil
}
