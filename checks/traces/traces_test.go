package traces_test

import (
	"testing"

	"github.com/obslint/obslint/checks/checktest"
	"github.com/obslint/obslint/checks/traces"
)

func TestCases(t *testing.T) {
	checktest.Run(t, "../../fixtures/cases", traces.Rules)
}
