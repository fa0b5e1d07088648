package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/messina-oms/messina/api"
)

// specDoc is openapi.yaml, loaded and validated once: an invalid spec
// fails every test of the package.
var specDoc = func() *openapi3.T {
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI())
	if err != nil {
		panic("load openapi.yaml: " + err.Error())
	}
	if err := doc.Validate(context.Background()); err != nil {
		panic("openapi.yaml is invalid: " + err.Error())
	}
	return doc
}()

func init() {
	// Uploads take any media type; these are the ones the tests send
	// besides those kin-openapi decodes already.
	openapi3filter.RegisterBodyDecoder("application/pdf", openapi3filter.FileBodyDecoder)
}

// specRouter finds the OpenAPI operation of a request.
var specRouter = func() routers.Router {
	r, err := gorillamux.NewRouter(specDoc)
	if err != nil {
		panic(err)
	}
	return r
}()

// response is a recorded answer with helpers.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %d response %q: %v", r.Status, r.Body, err)
	}
}

// problemCode returns the code of a problem+json answer.
func (r response) problemCode(t testing.TB) string {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("want problem+json, got %d %q: %s", r.Status, ct, r.Body)
	}
	var p struct {
		Code string `json:"code"`
	}
	r.json(t, &p)
	return p.Code
}

// request describes one call.
type request struct {
	method, path, token string
	body                any
	header              map[string]string
	// invalid marks a request that breaks the contract on purpose: only the
	// response is checked against the spec.
	invalid bool
}

// do sends req to h and checks the request (unless marked invalid) and the
// response against openapi.yaml, so the spec cannot drift from the code.
func do(t testing.TB, h http.Handler, req request) response {
	t.Helper()
	var raw []byte
	switch b := req.body.(type) {
	case nil:
	case []byte:
		raw = b
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	httpReq := httptest.NewRequest(req.method, req.path, bytes.NewReader(raw))
	if req.body != nil {
		httpReq.Header.Set("Content-Type", "application/json")
	}
	if req.token != "" {
		httpReq.Header.Set("Authorization", "Bearer "+req.token)
	}
	for k, v := range req.header {
		httpReq.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httpReq)
	res := response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
	checkAgainstSpec(t, httpReq, raw, res, req.invalid)
	return res
}

func checkAgainstSpec(t testing.TB, httpReq *http.Request, body []byte, res response, invalidRequest bool) {
	t.Helper()
	if res.Header.Get("Content-Type") == "application/problem+json" {
		var p map[string]any
		if err := json.Unmarshal(res.Body, &p); err != nil {
			t.Fatalf("problem+json body is not JSON: %q", res.Body)
		}
		for _, k := range []string{"type", "title", "status", "code"} {
			if _, ok := p[k]; !ok {
				t.Fatalf("problem+json lacks %q: %s", k, res.Body)
			}
		}
	}
	if strings.HasPrefix(httpReq.URL.Path, "/metrics") {
		return
	}
	specReq := httpReq.Clone(context.Background())
	specReq.Body = io.NopCloser(bytes.NewReader(body))
	route, params, err := specRouter.FindRoute(specReq)
	if err != nil {
		if res.Status == http.StatusNotFound || res.Status == http.StatusMethodNotAllowed {
			return // unknown routes are answered, and are not in the spec
		}
		t.Fatalf("%s %s is not in openapi.yaml (answered %d): %v", httpReq.Method, httpReq.URL.Path, res.Status, err)
	}
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true}
	in := &openapi3filter.RequestValidationInput{Request: specReq, PathParams: params, Route: route, Options: opts}
	if !invalidRequest && res.Status < 400 {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			t.Fatalf("request %s %s breaks openapi.yaml: %v", httpReq.Method, httpReq.URL, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.Status, Header: res.Header, Options: opts}
	out.SetBodyBytes(res.Body)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Fatalf("response %d to %s %s breaks openapi.yaml: %v\nbody: %s", res.Status, httpReq.Method, httpReq.URL, err, res.Body)
	}
}
