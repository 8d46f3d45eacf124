package checks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"
)

// sameFamilies fails unless fast and slow are the same families in the
// same order.
func sameFamilies(t *testing.T, body []byte, fast, slow []*dto.MetricFamily) {
	t.Helper()
	if len(fast) != len(slow) {
		t.Fatalf("%q: fast parser gave %d families, expfmt %d", body, len(fast), len(slow))
	}
	for i := range fast {
		if !proto.Equal(fast[i], slow[i]) {
			t.Fatalf("%q: family %d differs:\nfast %v\nslow %v", body, i, fast[i], slow[i])
		}
	}
}

// Every body the fast parser takes, expfmt takes too and decodes into the
// same families: the fast parser may only decline, never differ.
func FuzzFastText(f *testing.F) {
	for _, body := range []string{
		textBody, "", "\n", "  \n", "# EOF\n", "a 1\nb{ 2\n", "a 1", "a 1 \n", "a 1 2 \n", "a 1\t2\n",
		"# TYPE a histogram\na_bucket{le=\"+Inf\"} 1\na_count 1\na_sum 1\n",
		"# TYPE a histogram\na_bucket{le=\"1\",x=\"y\"} 1.5\na_bucket{x=\"y\",le=\"+Inf\"} 2\na_count{x=\"y\"} 2\na_sum{x=\"y\"} 3 17\n",
		"# TYPE a summary\na{quantile=\"0.5\"} 1\na_count 3\na_sum 4\n",
		"a{x=\"\\\"\\n\\\\\"} 1 1700000000000\n", "a{x=\"\\t\"} 1\n",
		"# HELP a The \\\\ help\\n.\n# HELP a again\na 1\n", "# HELP a x\\q\na 1\n",
		"# TYPE a counter\n# TYPE a gauge\na 1\n", "a 1\n# TYPE a counter\n",
		"a{b=\"1\",b=\"2\"} 1\n", "a{__name__=\"x\"} 1\n", "a{b=\"1\",} 1\n", "a{} 1\n", "a{,} 1\n",
		"# TYPE a histogram\na_bucket{le=\"x\"} 1\n", "# TYPE a histogram\na_count -1.5\n",
		"a 0x1p-2\n", "a 1_0\n", "a NaN\na +Inf\na -Inf\n", "a{b=\"\xff\"} 1\n", "# HELP a \xff\na 1\n",
		"#HELP a x\na 1\n", "# HELP a\na 1\n", "# HELP a \na 1\n", "# TYPE a COUNTER\na 1\n",
		"# TYPE a_count counter\n# TYPE a summary\na_count 1\n", "# TYPE x histogram\n# HELP x_count h\nx_count 1\n",
		"{\"a.b\"} 1\n", " a 1\n", "a {b=\"c\"} 1\n", "a{b=\"c\"}1\n", "a\r 1\n", "a 1\r\n",
	} {
		f.Add([]byte(body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fast, err := fastText(body)
		if err != nil {
			return
		}
		slow, serr := slowText(body)
		if serr != nil {
			t.Fatalf("%q: the fast parser took a body expfmt rejects: %v", body, serr)
		}
		sameFamilies(t, body, fast, slow)
	})
}

// The expositions the libraries really write take the fast path, with
// expfmt's families.
func TestFastTextTakesLibraryOutput(t *testing.T) {
	bodies := map[string][]byte{"textBody": []byte(textBody)}
	paths, _ := filepath.Glob("../fixtures/cases/*/metrics*.prom")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		bodies[p] = b
	}
	if len(bodies) < 5 {
		t.Fatalf("only %d expositions found", len(bodies))
	}
	taken := 0
	for name, body := range bodies {
		slow, serr := slowText(body)
		fast, err := fastText(body)
		switch {
		case err == nil && serr != nil:
			t.Errorf("%s: the fast parser took a body expfmt rejects: %v", name, serr)
		case err == nil:
			taken++
			sameFamilies(t, body, fast, slow)
		case serr == nil && !strings.Contains(name, "openmetrics"):
			t.Logf("%s: parses, but not on the fast path", name)
		}
	}
	if taken < len(bodies)/2 {
		t.Errorf("the fast path took %d of %d expositions", taken, len(bodies))
	}
}

// BenchmarkTextParsers compares the fast parser with expfmt's on the
// benchmark exposition (bench/out/exposition.prom, from
// ../shared/bench/gen_exposition.py), or a generated one.
func BenchmarkTextParsers(b *testing.B) {
	body, err := os.ReadFile("../bench/out/exposition.prom")
	if err != nil {
		body = []byte(strings.Repeat(textBody, 2000))
	}
	b.Run("fast", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := fastText(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("expfmt", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := slowText(body); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// A body cut inside its last line is decoded up to the cut, with expfmt's
// error and line number, and without the half line.
func TestParseTextCutBody(t *testing.T) {
	body := []byte("# TYPE a counter\na_total{x=\"1\"} 1\na_total{x=\"2\"} 2\na_total{x=\"3")
	fams, err := parseText(body)
	_, slowErr := slowText(body)
	if err == nil || slowErr == nil || err.Error() != slowErr.Error() {
		t.Fatalf("error %v, expfmt says %v", err, slowErr)
	}
	if len(fams) != 1 || len(fams[0].GetMetric()) != 2 {
		t.Fatalf("want the two whole series, got %v", fams)
	}
	// A cut line that is wrong before the cut keeps expfmt's own error.
	body = []byte("a 1\nb{x=\"1\"y")
	_, err = parseText(body)
	_, slowErr = slowText(body)
	if err == nil || err.Error() != slowErr.Error() {
		t.Fatalf("error %v, expfmt says %v", err, slowErr)
	}
}
