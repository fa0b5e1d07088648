package filestore

import (
	"strconv"
	"strings"
)

// MaxRanges bounds the ranges of one Range header: many small or
// overlapping ranges are a known amplification attack (CVE-2011-3192).
const MaxRanges = 16

// ParseRange resolves an HTTP Range header value ("bytes=0-99,200-,-50",
// RFC 9110 section 14.1.2) against a representation of size bytes. It
// returns nil and no error for an empty header. A header that is not a
// valid bytes range set, or has more than MaxRanges ranges, gives
// ErrInvalid (the server may then ignore it and send the whole content);
// one whose ranges all start at or beyond the end gives
// ErrRangeNotSatisfiable (416). Unsatisfiable ranges among satisfiable
// ones are dropped; the others are cut at the end, in header order.
func ParseRange(header string, size int64) ([]Range, error) {
	if header == "" {
		return nil, nil
	}
	unit, set, ok := strings.Cut(header, "=")
	if !ok || strings.TrimSpace(unit) != "bytes" {
		return nil, invalidf("Range: want bytes=…")
	}
	parts := strings.Split(set, ",")
	if len(parts) > MaxRanges {
		return nil, invalidf("Range: more than %d ranges", MaxRanges)
	}
	var out []Range
	for _, p := range parts {
		p = strings.TrimSpace(p)
		first, last, ok := strings.Cut(p, "-")
		if !ok {
			return nil, invalidf("Range: %q is not first-last", clip(p))
		}
		if first == "" {
			// suffix: the last n bytes
			n, err := parseDigits(last)
			if err != nil {
				return nil, invalidf("Range: suffix %q", clip(last))
			}
			if n == 0 || size == 0 {
				continue
			}
			n = min(n, size)
			out = append(out, Range{Offset: size - n, Length: n})
			continue
		}
		a, err := parseDigits(first)
		if err != nil {
			return nil, invalidf("Range: first position %q", clip(first))
		}
		end := int64(-1)
		if last != "" {
			if end, err = parseDigits(last); err != nil || end < a {
				return nil, invalidf("Range: last position %q", clip(last))
			}
		}
		if a >= size {
			continue
		}
		if end < 0 || end >= size {
			end = size - 1
		}
		out = append(out, Range{Offset: a, Length: end - a + 1})
	}
	if len(out) == 0 {
		return nil, ErrRangeNotSatisfiable
	}
	return out, nil
}

// parseDigits accepts only 1DIGIT+ (no sign, no spaces) within int64.
func parseDigits(s string) (int64, error) {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, ErrInvalid
		}
	}
	if s == "" {
		return 0, ErrInvalid
	}
	return strconv.ParseInt(s, 10, 64)
}
