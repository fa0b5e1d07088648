package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/messina-oms/messina/auth"
)

// TestVerifierWithoutLookup covers what Verify decides before the token
// table: bounds and the bootstrap token (a nil database would panic if it
// were reached).
func TestVerifierWithoutLookup(t *testing.T) {
	v := auth.Verifier{BootstrapToken: "msn_boot_secret", Now: time.Now}
	p, err := v.Verify(context.Background(), "msn_boot_secret")
	if err != nil || p.Role != auth.RoleAdmin || p.Actor != "bootstrap" || !p.AllSites() {
		t.Fatalf("bootstrap token: %+v, %v", p, err)
	}
	for name, token := range map[string]string{
		"empty":     "",
		"too long":  strings.Repeat("x", auth.MaxTokenBytes+1),
		"long boot": "msn_boot_secret" + strings.Repeat("x", auth.MaxTokenBytes),
	} {
		if _, err := v.Verify(context.Background(), token); !errors.Is(err, auth.ErrUnauthenticated) {
			t.Errorf("%s: got %v, want ErrUnauthenticated", name, err)
		}
	}
	// Without a bootstrap token configured, an empty one must not match.
	if _, err := (auth.Verifier{Now: time.Now}).Verify(context.Background(), ""); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("empty token with no bootstrap configured: %v", err)
	}
}
