package api

import (
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/messina-oms/messina/auth"
)

func (s *Server) userRoutes() []route {
	return []route{
		{name: "createUser", method: http.MethodPost, path: "/v1/users", roles: adminOnly, handle: s.createUser},
		{name: "listUsers", method: http.MethodGet, path: "/v1/users", roles: adminOnly, handle: s.listUsers},
		{name: "getUser", method: http.MethodGet, path: "/v1/users/{id}", roles: adminOnly, handle: s.getUser},
		{name: "updateUser", method: http.MethodPatch, path: "/v1/users/{id}", roles: adminOnly, handle: s.updateUser},
	}
}

type userJSON struct {
	ID        uuid.UUID `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Role      auth.Role `json:"role"`
	Sites     []string  `json:"sites"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
	Version   int32     `json:"version"`
}

func writeUser(w http.ResponseWriter, status int, u auth.User) error {
	w.Header().Set("ETag", etag(u.Version))
	return writeJSON(w, status, userJSON{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, Sites: u.Sites,
		Disabled: u.Disabled, CreatedAt: u.CreatedAt, Version: u.Version})
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Email string    `json:"email"`
		Name  string    `json:"name"`
		Role  auth.Role `json:"role"`
		Sites []string  `json:"sites"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	u, err := auth.NewUsers(s.pool).Create(r.Context(), in.Email, in.Name, in.Role, in.Sites)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/users/"+u.ID.String())
	return writeUser(w, http.StatusCreated, u)
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	pg, after, err := parseUUIDPage(r)
	if err != nil {
		return err
	}
	users, err := auth.NewUsers(s.pool).List(r.Context(), after, pg.limit+1)
	if err != nil {
		return err
	}
	items := make([]userJSON, len(users))
	for i, u := range users {
		items[i] = userJSON{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role, Sites: u.Sites, Disabled: u.Disabled, CreatedAt: u.CreatedAt, Version: u.Version}
	}
	return writeJSON(w, http.StatusOK, newList(items, pg.limit, func(u userJSON) string { return u.ID.String() }))
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	u, err := auth.NewUsers(s.pool).Get(r.Context(), id)
	if err != nil {
		return err
	}
	return writeUser(w, http.StatusOK, u)
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathUUID(r, "id")
	if err != nil {
		return err
	}
	version, err := ifMatchVersion(r)
	if err != nil {
		return err
	}
	var in struct {
		Name     *string    `json:"name"`
		Role     *auth.Role `json:"role"`
		Sites    *[]string  `json:"sites"`
		Disabled *bool      `json:"disabled"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	u, err := auth.NewUsers(s.pool).Update(r.Context(), id, version, auth.UserPatch{Name: in.Name, Role: in.Role, Sites: in.Sites, Disabled: in.Disabled})
	if err != nil {
		return err
	}
	return writeUser(w, http.StatusOK, u)
}

// parseUUIDPage reads ?limit=&cursor= where the cursor holds a uuid key.
func parseUUIDPage(r *http.Request) (page, *uuid.UUID, error) {
	pg, err := parsePage(r)
	if err != nil || pg.after == "" {
		return pg, nil, err
	}
	id, err := uuid.Parse(pg.after)
	if err != nil {
		return pg, nil, validationProblem("invalid cursor", FieldError{Field: "cursor", Message: "is not a cursor this API returned"})
	}
	return pg, &id, nil
}
