package lines

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/checks/catalogue"
)

// TestSpoolKeepsEveryLine adds more lines than the spool holds in memory:
// the judge must see every one, in order, with its number, time and flags,
// parsed, and Kept must give the first ones.
func TestSpoolKeepsEveryLine(t *testing.T) {
	s := NewSpool()
	defer s.Close()
	t0 := time.Date(2026, 12, 2, 6, 0, 0, 0, time.UTC)
	const n = memLines + 1000
	for i := range n {
		src := "stdout"
		if i%3 == 0 {
			src = "stderr"
		}
		s.Add(src, i+1, fmt.Sprintf(`{"level":"info","message":"line %d"}`, i), i%7 == 0, i%11 == 0, t0.Add(time.Duration(i)*time.Millisecond))
	}
	s.Add("stdout", n+1, "untimed", false, false, time.Time{})
	require.Equal(t, n+1, s.Len())
	all := s.Kept(n + 1)
	require.Len(t, all, n+1)
	for i := range all {
		l := &all[i]
		if i < n {
			assert.Equal(t, i+1, l.N)
			assert.Equal(t, fmt.Sprintf("line %d", i), l.Fields["message"], "line %d is parsed", i)
			assert.True(t, l.Time.Equal(t0.Add(time.Duration(i)*time.Millisecond)), "line %d time %v", i, l.Time)
			assert.Equal(t, i%7 == 0, l.Truncated)
			assert.Equal(t, i%11 == 0, l.InvalidUTF8)
		} else {
			assert.True(t, l.Time.IsZero())
			assert.Equal(t, "untimed", l.Raw)
		}
	}
	kept := s.Kept(10)
	require.Len(t, kept, 10)
	assert.Equal(t, 10, kept[9].N)
	assert.Empty(t, s.Problems("stdout"))

	ev := &checks.Evidence{Captured: checks.Captured{Logs: true}}
	j := checks.NewJudge(ev, catalogue.All(), checks.Options{})
	got, err := s.Judge(j)
	require.NoError(t, err)
	assert.Equal(t, n+1, got)
	assert.Equal(t, n+1, j.Result().Judged.LogLines)
}
