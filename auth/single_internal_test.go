package auth

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/messina-oms/messina/internal/pgtest"
)

// A failure at the commit of Single's implicit transaction reaches the
// caller of a many-row query through Err after the last row, the way the
// generated code reads it (Err before the deferred Close).
func TestSingleRowsReportTheCommit(t *testing.T) {
	t.Parallel()
	db := pgtest.New(t)
	ctx := context.Background()
	if _, err := db.Owner.Exec(ctx, `CREATE TABLE deferred_unique (id int PRIMARY KEY DEFERRABLE INITIALLY DEFERRED);
		INSERT INTO deferred_unique VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	conn := single{pool: db.Owner, args: []any{"test", "req", "*"}}
	rows, err := conn.Query(ctx, "INSERT INTO deferred_unique VALUES (1), (2) RETURNING id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
	}
	var pgErr *pgconn.PgError
	if err := rows.Err(); !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		t.Fatalf("after %d rows Err is %v, want the unique violation of the commit", n, err)
	}
	var count int
	if err := db.Owner.QueryRow(ctx, "SELECT count(*) FROM deferred_unique").Scan(&count); err != nil || count != 1 {
		t.Fatalf("%d rows (err %v), want the one from before: the insert must have rolled back", count, err)
	}
}
