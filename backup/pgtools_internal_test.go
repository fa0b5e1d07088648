package backup

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestLibpqTargetMovesThePasswordOutOfTheURL(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in, conn, password string
	}{
		{"postgres://owner:s3cret@db:5432/messina?sslmode=disable", "postgres://owner@db:5432/messina?sslmode=disable", "s3cret"},
		{"postgresql://owner@db/messina?password=p%40ss&pool_max_conns=8&default_query_exec_mode=exec", "postgresql://owner@db/messina", "p@ss"},
		{"postgres://db/messina", "postgres://db/messina", ""},
	}
	for _, tc := range cases {
		conn, password, err := libpqTarget(tc.in)
		require.NoError(t, err, tc.in)
		require.Equal(t, tc.conn, conn)
		require.Equal(t, tc.password, password)
	}
	for _, bad := range []string{"host=db user=owner password=x", "mysql://db/x", "::"} {
		_, _, err := libpqTarget(bad)
		require.Error(t, err, bad)
		require.NotContains(t, err.Error(), "x@")
	}
}

func TestIsEventTriggerPicksOnlyEventTriggerEntries(t *testing.T) {
	t.Parallel()
	toc := `;
; Archive created at 2026-11-29 12:25:02 UTC
3630; 3466 17810 EVENT TRIGGER - audit_ddl_end postgres
3631; 3466 17811 EVENT TRIGGER - audit_sql_drop postgres
369; 1255 16673 FUNCTION audit event_triggers_installed() messina_owner
4153; 2620 16640 TRIGGER audit log_202611 log_no_truncate messina_owner
; 3630; 3466 17810 EVENT TRIGGER - commented out postgres`
	var picked []string
	for _, l := range strings.Split(toc, "\n") {
		if isEventTrigger(l) {
			picked = append(picked, l)
		}
	}
	require.Len(t, picked, 2)
	require.Contains(t, picked[0], "audit_ddl_end")
	require.Contains(t, picked[1], "audit_sql_drop")
}

func TestToolMessageKeepsTheErrorsInOneLine(t *testing.T) {
	t.Parallel()
	stderr := "pg_restore: while PROCESSING TOC:\npg_restore: from TOC entry 3630; 3466 17810 EVENT TRIGGER audit_ddl_end postgres\n" +
		"pg_restore: error: could not execute query: ERROR:  permission denied to create event trigger \"audit_ddl_end\"\nHINT:  Must be superuser.\nCommand was: CREATE EVENT TRIGGER ...\n"
	require.Equal(t, `pg_restore: error: could not execute query: ERROR: permission denied to create event trigger "audit_ddl_end"`, toolMessage(stderr))
	require.Equal(t, "last words", toolMessage("first\n\nlast words\n"))
}
