package correlation_test

import (
	"testing"

	"github.com/obslint/obslint/checks/checktest"
	"github.com/obslint/obslint/checks/correlation"
)

func TestCases(t *testing.T) {
	checktest.Run(t, "../../fixtures/cases", correlation.Rules)
}
