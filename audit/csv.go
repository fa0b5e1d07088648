package audit

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/messina-oms/messina/queries"
)

// CSVHeader is the first record WriteCSV and CSVWriter write.
var CSVHeader = []string{"id", "at", "txid", "table", "op", "key_kind", "key", "new_key", "old", "new",
	"db_user", "actor", "request_id", "application_name", "client_addr", "table_version", "site"}

// CSVWriter writes events as CSV (RFC 4180), header first. Text a
// spreadsheet would run as a formula (leading = + - @ tab or CR) is
// prefixed with a single quote, as OWASP advises for CSV exports.
type CSVWriter struct {
	w      *csv.Writer
	header bool
}

// NewCSVWriter returns a writer of events to w.
func NewCSVWriter(w io.Writer) *CSVWriter { return &CSVWriter{w: csv.NewWriter(w)} }

// Write writes one event (and the header before the first).
func (c *CSVWriter) Write(e Event) error {
	if !c.header {
		c.header = true
		if err := c.w.Write(CSVHeader); err != nil {
			return fmt.Errorf("audit: write csv: %w", err)
		}
	}
	rec := []string{
		strconv.FormatInt(e.ID, 10),
		e.At.UTC().Format(time.RFC3339Nano),
		strconv.FormatUint(e.TxID, 10),
		cell(e.Table.String()),
		string(e.Op),
		e.KeyKind,
		string(e.Key),
		string(e.NewKey),
		string(e.Old),
		string(e.New),
		cell(e.DBUser),
		cell(e.Actor),
		cell(e.RequestID),
		cell(e.ApplicationName),
		e.ClientAddr,
		strconv.FormatInt(e.TableVersion, 10),
		cell(e.Site),
	}
	if err := c.w.Write(rec); err != nil {
		return fmt.Errorf("audit: write csv: %w", err)
	}
	return nil
}

// Flush writes buffered records and reports any write error.
func (c *CSVWriter) Flush() error {
	if !c.header {
		c.header = true
		if err := c.w.Write(CSVHeader); err != nil {
			return fmt.Errorf("audit: write csv: %w", err)
		}
	}
	c.w.Flush()
	if err := c.w.Error(); err != nil {
		return fmt.Errorf("audit: write csv: %w", err)
	}
	return nil
}

// WriteCSV writes events to w as CSV with a header.
func WriteCSV(w io.Writer, events []Event) error {
	c := NewCSVWriter(w)
	for _, e := range events {
		if err := c.Write(e); err != nil {
			return err
		}
	}
	return c.Flush()
}

// Export streams every event f selects (all pages from f.Cursor on) to w
// as CSV, page by page, so memory stays bounded.
func Export(ctx context.Context, db queries.DBTX, f Filter, w io.Writer) error {
	c := NewCSVWriter(w)
	f.Limit = MaxLimit
	for {
		p, err := List(ctx, db, f)
		if err != nil {
			return err
		}
		for _, e := range p.Events {
			if err := c.Write(e); err != nil {
				return err
			}
		}
		if p.NextCursor == "" {
			return c.Flush()
		}
		f.Cursor = p.NextCursor
	}
}

func cell(s string) string {
	if s != "" {
		switch s[0] {
		case '=', '+', '-', '@', '\t', '\r':
			return "'" + s
		}
	}
	return s
}
