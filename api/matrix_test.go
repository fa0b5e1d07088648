package api_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/messina-oms/messina/api"
	"github.com/messina-oms/messina/auth"
)

// fixture says how to call one route in the matrix: the path with its
// variables filled for a resource of site UK, and a valid body.
type fixture struct {
	path string
	body any
	// siteScoped routes name a resource of site UK: a token limited to FR
	// must get 404 (not 403, so ids cannot be probed).
	siteScoped bool
	header     map[string]string
	// ownSite and otherSite, when set, are the statuses an allowed role
	// gets with a token limited to UK or to FR, where the route's answer
	// differs from success and 404: e.g. a site-limited admin adding a
	// site, or another site's id inside a body (422 on that field).
	ownSite, otherSite int
}

// matrixFixtures builds, in b's database, a resource for every route.
func matrixFixtures(t *testing.T, b *testBundle) map[string]func() fixture {
	return map[string]func() fixture{
		"whoami":      func() fixture { return fixture{path: "/v1/me"} },
		"createToken": func() fixture { return fixture{path: "/v1/tokens", body: map[string]any{"name": "m", "role": "api"}} },
		"listTokens":  func() fixture { return fixture{path: "/v1/tokens"} },
		"createUser": func() fixture {
			return fixture{path: "/v1/users", body: map[string]any{"email": "u" + randomSuffix() + "@example.com", "name": "U", "role": "staff"}}
		},
		"listUsers": func() fixture { return fixture{path: "/v1/users"} },
		"getUser":   func() fixture { return fixture{path: "/v1/users/" + newUser(t, b).ID} },
		"updateUser": func() fixture {
			return fixture{path: "/v1/users/" + newUser(t, b).ID, body: map[string]any{"name": "Renamed"}, header: map[string]string{"If-Match": `"1"`}}
		},
		"revokeToken": func() fixture {
			res := do(t, b.srv, request{method: "POST", path: "/v1/tokens", token: b.admin, body: map[string]any{"name": "victim", "role": "api"}})
			var tok struct {
				ID string `json:"id"`
			}
			res.json(t, &tok)
			return fixture{path: "/v1/tokens/" + tok.ID}
		},
	}
}

// TestAuthorizationMatrix calls every route as every role, with and
// without the site of the resource, with no token, and with revoked and
// expired tokens, and checks each answer.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	now := time.Now()
	clock := now
	b := setup(t, func(c *api.Config) { c.Now = func() time.Time { return clock } })
	fixtures := matrixFixtures(t, b)
	c := newCatalog(t, b)
	maps.Copy(fixtures, orderMatrixFixtures(t, b, c))
	maps.Copy(fixtures, attachmentMatrixFixtures(t, b, c))
	maps.Copy(fixtures, contractMatrixFixtures(t, b, c))
	maps.Copy(fixtures, kpiMatrixFixtures())

	roles := []auth.Role{auth.RoleAdmin, auth.RoleStaff, auth.RoleAPI, auth.RoleAuditor}
	allSites := map[auth.Role]string{}
	ukOnly := map[auth.Role]string{}
	frOnly := map[auth.Role]string{}
	for _, r := range roles {
		allSites[r] = b.token(t, r)
		ukOnly[r] = b.token(t, r, "UK")
		frOnly[r] = b.token(t, r, "FR")
	}
	revoked := createToken(t, b, map[string]any{"name": "revoked", "role": "admin"})
	do(t, b.srv, request{method: "DELETE", path: "/v1/tokens/" + revoked.ID, token: b.admin})
	expiring := createToken(t, b, map[string]any{"name": "expiring", "role": "admin", "expires_at": now.Add(time.Minute)})
	clock = now.Add(2 * time.Minute)

	for _, rt := range b.srv.Routes() {
		if rt.Roles == nil {
			continue
		}
		mk, ok := fixtures[rt.Name]
		if !ok {
			t.Errorf("route %s (%s %s) has no fixture in the authorization matrix", rt.Name, rt.Method, rt.Path)
			continue
		}
		call := func(token string) (response, fixture) {
			f := mk()
			return do(t, b.srv, request{method: rt.Method, path: f.path, token: token, body: f.body, header: f.header, invalid: true}), f
		}
		t.Run(rt.Name, func(t *testing.T) {
			for name, tok := range map[string]string{"no token": "", "revoked": revoked.Token, "expired": expiring.Token} {
				if res, _ := call(tok); res.Status != http.StatusUnauthorized {
					t.Errorf("%s: want 401, got %d %s", name, res.Status, res.Body)
				}
			}
			for _, role := range roles {
				allowed := slices.Contains(rt.Roles, role)
				for scope, tok := range map[string]string{"all sites": allSites[role], "own site": ukOnly[role], "other site": frOnly[role]} {
					res, f := call(tok)
					want := fmt.Sprintf("%s/%s", role, scope)
					switch {
					case !allowed:
						if res.Status != http.StatusForbidden {
							t.Errorf("%s: role not allowed, want 403, got %d %s", want, res.Status, res.Body)
						}
					case scope == "own site" && f.ownSite != 0, scope == "other site" && f.otherSite != 0:
						if exp := map[string]int{"own site": f.ownSite, "other site": f.otherSite}[scope]; res.Status != exp {
							t.Errorf("%s: want %d, got %d %s", want, exp, res.Status, res.Body)
						}
					case scope == "other site" && f.siteScoped:
						if res.Status != http.StatusNotFound {
							t.Errorf("%s: want 404 for another site's resource, got %d %s", want, res.Status, res.Body)
						}
					default:
						if res.Status >= 400 {
							t.Errorf("%s: allowed, want success, got %d %s", want, res.Status, res.Body)
						}
					}
				}
			}
		})
	}
}

type createdToken struct {
	ID    string `json:"id"`
	Token string `json:"token"`
}

func createToken(t *testing.T, b *testBundle, body map[string]any) createdToken {
	t.Helper()
	res := do(t, b.srv, request{method: "POST", path: "/v1/tokens", token: b.admin, body: body})
	if res.Status != http.StatusCreated {
		t.Fatalf("create token: %d %s", res.Status, res.Body)
	}
	var tok createdToken
	res.json(t, &tok)
	return tok
}

// TestSpecCoversEveryRoute keeps the route table and openapi.yaml in step.
func TestSpecCoversEveryRoute(t *testing.T) {
	t.Parallel()
	b := setup(t)
	inTable := map[string]bool{}
	for _, rt := range b.srv.Routes() {
		key := rt.Method + " " + rt.Path
		inTable[key] = true
		op := specDoc.Paths.Find(rt.Path)
		if op == nil || op.GetOperation(rt.Method) == nil {
			t.Errorf("%s (%s) is not in openapi.yaml", key, rt.Name)
			continue
		}
		if id := op.GetOperation(rt.Method).OperationID; id != rt.Name {
			t.Errorf("%s: operationId %q in openapi.yaml, %q in the route table", key, id, rt.Name)
		}
		if op.GetOperation(rt.Method).Summary == "" {
			t.Errorf("%s: no summary in openapi.yaml", key)
		}
	}
	for path, item := range specDoc.Paths.Map() {
		for method := range item.Operations() {
			if !inTable[method+" "+path] {
				t.Errorf("openapi.yaml documents %s %s, which the server does not route", method, path)
			}
		}
	}
}

type createdUser struct {
	ID      string `json:"id"`
	Version int    `json:"version"`
}

func newUser(t *testing.T, b *testBundle) createdUser {
	t.Helper()
	res := do(t, b.srv, request{method: "POST", path: "/v1/users", token: b.admin,
		body: map[string]any{"email": "user" + randomSuffix() + "@example.com", "name": "A User", "role": "staff", "sites": []string{"UK"}}})
	if res.Status != http.StatusCreated {
		t.Fatalf("create user: %d %s", res.Status, res.Body)
	}
	var u createdUser
	res.json(t, &u)
	return u
}

func randomSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
